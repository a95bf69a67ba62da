"""`runner compare`: group finished runs by the settings that differ between
them (seeds and cross-validation folds pooled), tabulate test accuracy mean ± std
per group, test each group against the highest-mean one (Welch), and draw the curves.

Writes comparison.md, comparison.csv and comparison_*.png into the sweep folder
(or --out) and prints the Markdown on the console.
"""

import argparse
import csv
import math
import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from runner.analyse import stats
from runner.config.metric_names import TRAIN_LOSS, VAL_ACCURACY
from runner.record.run_folder import RunFolder
from runner.record.run_folders import Run, find_runs, is_run_folder, read_runs

POOLED = ("seed", "data.cv_fold")  # settings averaged over, never grouped by (--pool adds more)
UNSET = "(unset)"  # a setting some runs give and others leave at its default
METRIC_COLUMNS = [
    "n",
    "n_diverged",
    "test_acc_mean",
    "test_acc_std",
    "test_loss_mean",
    "test_loss_std",
    "test_bits_per_character_mean",
    "test_perplexity_mean",
    "best_val_acc_mean",
    "epochs_to_best_mean",
    "wall_time_s_mean",
]
AGAINST_BEST_COLUMNS = ["diff_vs_best", "diff_ci_low", "diff_ci_high", "p_vs_best"]
# Columns where bigger is better sort best-first (descending) by default.
DESCENDING = {"n", "test_acc_mean", "best_val_acc_mean"}
# results.json entries compare reads as numbers: anything else there (a string, a list) means a
# damaged or hand-made file, and such a run would be counted in n without a score.
NUMERIC = (
    ("test", "accuracy"),
    ("test", "loss"),
    ("val", "accuracy"),
    ("val", "loss"),
    ("train", "accuracy"),
    ("train", "loss"),
    (None, "best_epoch"),
    (None, "wall_time_s"),
)
PLOTS = {
    "val_accuracy": (VAL_ACCURACY, "validation accuracy (%)", True),
    "train_loss": (TRAIN_LOSS, "training loss", False),
}


@dataclass
class Group:
    label: str
    settings: Dict[str, str]  # the differing settings that define the group
    runs: List[Run] = field(default_factory=list)  # the finished runs its statistics pool
    diverged: List[Run] = field(default_factory=list)  # its diverged runs, pooled only with --include-diverged

    @property
    def diverged_left_out(self) -> List[Run]:
        return [d for d in self.diverged if not any(d is r for r in self.runs)]

    def values(self, pick) -> List[float]:
        out = []
        for run in self.runs:
            value = pick(run.results)
            if isinstance(value, (int, float)) and math.isfinite(value):
                out.append(float(value))
        return out

    @property
    def test_accuracy(self) -> List[float]:
        return self.values(lambda r: r["test"].get("accuracy"))


def corrupt_entry(results: dict) -> Optional[str]:
    """What makes a readable results.json unusable: an entry compare needs that is not a number."""
    for part, key in NUMERIC:
        holder = results if part is None else results.get(part)
        if holder is None:  # train is absent from older results; test and val are checked on reading
            continue
        if not isinstance(holder, dict):
            return f"{part} is {holder!r} ({type(holder).__name__}), not an object"
        value = holder.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{key if part is None else part + '.' + key} is {value!r} ({type(value).__name__}), not a number"
    if results.get("task") == "classification" and results["test"].get("accuracy") is None:
        return "test.accuracy is missing for a classification run"  # it would count in n with no score
    return None


def leave_out_corrupt(runs: Sequence[Run]) -> None:
    """A run whose results.json holds a non-number where a score belongs is named and left out
    (as an unreadable one is), rather than counted in n with no score behind it."""
    for run in runs:
        problem = corrupt_entry(run.results) if run.results is not None else None
        if problem:
            run.problems.append(f"{RunFolder(run.path).results_file}: {problem}; run left out")
            run.results = None


def diverged(run: Run) -> bool:
    """Stopped by the divergence rule, or tested with a non-finite loss (NaN weights score by chance)."""
    results = run.results or {}
    losses = [results[part].get("loss") for part in ("train", "val", "test") if isinstance(results.get(part), dict)]
    return results.get("stop_reason") == "diverged" or any(
        isinstance(v, float) and not math.isfinite(v) for v in losses
    )


def varying_keys(runs: Sequence[Run], pooled: Sequence[str] = POOLED) -> List[str]:
    """Settings whose value differs between runs (a setting absent from some runs differs too)."""
    keys: List[str] = []
    for run in runs:
        keys += [k for k in run.settings if k not in keys and k not in pooled]
    return [k for k in keys if len({run.settings.get(k, UNSET) for run in runs}) > 1]


def group_runs(runs: Sequence[Run], pooled: Sequence[str] = POOLED, include_diverged: bool = False) -> List[Group]:
    """Groups of the finished runs; diverged runs are marked, and pooled only if include_diverged.
    Groups come from all runs, so leaving diverged ones out never merges or renames a group."""
    keys = varying_keys(runs, pooled)
    groups: Dict[tuple, Group] = {}
    for run in runs:
        settings = {k: run.settings.get(k, UNSET) for k in keys}
        label = " ".join(f"{k}={v}" for k, v in settings.items()) or "all runs"
        group = groups.setdefault(tuple(settings.items()), Group(label, settings))
        if diverged(run):
            group.diverged.append(run)
        if include_diverged or not diverged(run):
            group.runs.append(run)
    return list(groups.values())


def best_group(groups: Sequence[Group]) -> Optional[Group]:
    scored = [g for g in groups if g.test_accuracy]
    return max(scored, key=lambda g: stats.mean(g.test_accuracy)) if scored else None


def table_rows(groups: Sequence[Group]) -> List[dict]:
    best = best_group(groups)
    rows = []
    for group in groups:
        test = group.test_accuracy
        row = {"group": group.label, **group.settings, "n": len(group.runs), "n_diverged": len(group.diverged)}
        row["test_acc_mean"] = stats.mean(test)
        row["test_acc_std"] = stats.std(test)
        row["best_val_acc_mean"] = stats.mean(group.values(lambda r: r["val"].get("accuracy")))
        losses = group.values(lambda r: r["test"].get("loss"))
        row["test_loss_mean"], row["test_loss_std"] = stats.mean(losses), stats.std(losses)
        for unit in ("bits_per_character", "perplexity"):  # language models' (None for other runs)
            row[f"test_{unit}_mean"] = stats.mean(group.values(lambda r, u=unit: r["test"].get(u)))
        row["epochs_to_best_mean"] = stats.mean(group.values(lambda r: r.get("best_epoch")))
        row["wall_time_s_mean"] = stats.mean(group.values(lambda r: r.get("wall_time_s")))
        welch = stats.welch(best.test_accuracy, test) if best is not None and group is not best else None
        row["diff_vs_best"] = welch.diff if welch else math.nan
        row["diff_ci_low"] = welch.ci_low if welch else math.nan
        row["diff_ci_high"] = welch.ci_high if welch else math.nan
        row["p_vs_best"] = welch.p if welch else math.nan
        row["_welch"] = welch
        row["_best"] = group is best
        rows.append(row)
    return rows


def sort_rows(rows: List[dict], column: str, descending: Optional[bool] = None) -> List[dict]:
    if descending is None:
        descending = column in DESCENDING

    def key(row):
        value = row.get(column)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return (1, 0.0, str(value))  # text after numbers
        return (1, 0.0, "") if math.isnan(number) else (0, -number if descending else number, "")

    return sorted(rows, key=key)


def resolve_column(name: str, columns: Sequence[str]) -> str:
    """An exact column name, or an unambiguous prefix of one (`--sort wall` -> wall_time_s_mean)."""
    if name in columns:
        return name
    matches = [c for c in columns if c.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"unknown column '{name}' for --sort; choose one of: {', '.join(columns)}")


# ---------------------------------------------------------------- output


def _pct(x: float, digits: int = 2) -> str:
    return "—" if math.isnan(x) else f"{100 * x:.{digits}f}"


def _num(x: float, digits: int = 1) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def _signed_pp(x: float) -> str:
    return "—" if math.isnan(x) else f"{100 * x:+.2f}"


def _n_cell(row: dict, group: Group) -> str:
    """n, and how many diverged runs it holds (--include-diverged) or leaves out (the default);
    how many of its runs a search pruned (pooled: shorter runs, see ## Pruned)."""
    pruned = len(pruned_runs(group.runs))
    also = f" (incl. {pruned} pruned)" if pruned else ""
    if not group.diverged:
        return f"{row['n']}{also}"
    left_out = len(group.diverged_left_out)
    return (
        f"{row['n']}{also} (+{left_out} diverged, left out)"
        if left_out
        else f"{row['n']}{also} (incl. {len(group.diverged)} diverged)"
    )


def markdown(
    rows: List[dict],
    groups: Sequence[Group],
    runs: List[Run],
    sources: Sequence[Path],
    plots: "Drawn",
    pooled: Sequence[str] = POOLED,
) -> str:
    finished = sum(r.status == "finished" for r in runs)
    n_diverged = sum(len(g.diverged) for g in groups)
    n_pruned = len(pruned_runs(runs))
    also = ", ".join(([f"{n_diverged} diverged"] if n_diverged else []) + ([f"{n_pruned} pruned"] if n_pruned else []))
    shown = [k for k in pooled if k == "seed" or any(k in r.settings for r in runs)]
    # language models: their test loss in the text's unit too (bits per character, or perplexity)
    shown_units = [
        u for u in ("bits_per_character", "perplexity") if any(not math.isnan(r[f"test_{u}_mean"]) for r in rows)
    ]
    units = (
        "".join(f" | test {u.replace('_', ' ')}" for u in shown_units),
        "---:|" * len(shown_units),
    )
    lines = [
        "# Comparison",
        "",
        f"Runs: {len(runs)} found, {finished} finished{f' ({also})' if also else ''}, from {', '.join(str(s) for s in sources)}.",
        f"Groups are the settings that differ between runs; pooled within a group: {', '.join(shown)}. "
        "Best = the epoch picked by `early_stopping.monitor` (the weights that were tested).",
        "",
        f"| group | n | test acc % (mean ± std) | test loss (mean ± std){units[0]} | best val acc % | epochs to best | wall time s |",
        f"|---|---:|---:|---:|{units[1]}---:|---:|---:|",
    ]
    by_label = {g.label: g for g in groups}
    for row in rows:
        spread = "" if math.isnan(row["test_acc_std"]) else f" ± {_pct(row['test_acc_std'])}"
        loss_spread = "" if math.isnan(row["test_loss_std"]) else f" ± {row['test_loss_std']:.4f}"
        unit = "".join(f" | {_num(row[f'test_{u}_mean'], 3)}" for u in shown_units)
        lines.append(
            f"| {row['group']}{best_mark(rows) if row['_best'] else ''} | {_n_cell(row, by_label[row['group']])} | {_pct(row['test_acc_mean'])}{spread}"
            f" | {_num(row['test_loss_mean'], 4)}{loss_spread}{unit}"
            f" | {_pct(row['best_val_acc_mean'])} | {_num(row['epochs_to_best_mean'])} | {_num(row['wall_time_s_mean'])} |"
        )
    lines += _against_best(rows)
    lines += _seed_notes(groups, pooled)
    lines += _diverged_notes(groups)
    lines += _pruned_notes(runs)
    lines += _run_notes(runs)
    if plots.files:
        lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots.files]
        lines += _dashed_notes(groups, plots.dashed)
    return "\n".join(lines) + "\n"


def best_mark(rows: List[dict]) -> str:
    """What the highest-mean group is called: "best" only when Welch's test tells it apart from
    every other group; a higher mean alone, within the noise of a few seeds, names no winner."""
    compared = [r["_welch"] for r in rows if r["_welch"] is not None]
    if not compared:
        return ""  # a single group: best of one says nothing
    unsure = [w for w in compared if not w.significant]
    if not unsure:
        return " (best)"
    p_values = sorted(w.p for w in unsure if w.defined)
    if not p_values:
        return " (highest mean; no test possible, see below)"
    p = f"p = {p_values[0]:.2g}" if len(p_values) == 1 else f"p ≥ {p_values[0]:.2g}"
    if len(compared) == 1:
        return f" (highest mean; not distinguishable, {p})"
    return f" (highest mean; not distinguishable from {len(unsure)} of {len(compared)} groups, {p})"


def _against_best(rows: List[dict]) -> List[str]:
    compared = [r for r in rows if r["_welch"] is not None]
    best = next((r for r in rows if r["_best"]), None)
    if best is None or not compared:
        return []
    lines = [
        "",
        f"## Test accuracy against the highest-mean group ({best['group']})",
        "",
        "Difference of means (highest − group) in percentage points, 95% confidence interval and "
        "p-value of Welch's t-test (unequal variances). Where the interval includes 0 (p ≥ 0.05), "
        "these runs cannot tell the two groups apart.",
        "",
        "| group | n (highest vs group) | difference pp | 95% CI pp | p |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in compared:
        welch = row["_welch"]
        if welch.defined:
            ci, p = f"[{_signed_pp(welch.ci_low)}, {_signed_pp(welch.ci_high)}]", f"{welch.p:.3g}"
        else:
            why = (
                "needs ≥ 2 finished runs per group"
                if min(welch.n_a, welch.n_b) < 2
                else "no spread: every run scored the same"
            )
            ci, p = f"n/a ({why})", "n/a"
        lines.append(f"| {row['group']} | {welch.n_a} vs {welch.n_b} | {_signed_pp(welch.diff)} | {ci} | {p} |")
    if len(compared) > 1:
        lines += [
            "",
            f"{len(compared)} tests against the highest-mean group: p-values are not corrected for multiple comparisons.",
        ]
    return lines


def _seed_notes(groups: Sequence[Group], pooled: Sequence[str] = POOLED) -> List[str]:
    """Honesty checks: groups should be compared on the same seeds (folds, ...), each one once."""
    notes = []
    seed_sets = {g.label: [pooled_label(r, pooled) for r in g.runs] for g in groups}
    what = "seed" if all(s.isdigit() or s == "None" for v in seed_sets.values() for s in v) else ""
    for label, seeds in seed_sets.items():
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            notes.append(
                f"- {label}: {what + ' ' if what else ''}{', '.join(repeated)} appears more than once (the same run made twice, or folders from two sweeps?)"
            )
    if len({tuple(sorted(set(s))) for s in seed_sets.values()}) > 1:
        runs_of = "seeds" if what else f"{'/'.join(pooled)} values"
        notes.append(
            f"- the groups did not all run the same {runs_of}: "
            + "; ".join(f"{k}: {', '.join(sorted(set(v)))}" for k, v in seed_sets.items())
        )
    return ["", "## Notes", ""] + notes if notes else []


def pooled_label(run: Run, pooled: Sequence[str] = POOLED) -> str:
    """What tells a group's runs apart: the seed ("3"), or e.g. "seed=1 cv_fold=2" when more is pooled."""
    settings = run.settings
    others = [f"{k.rsplit('.', 1)[-1]}={settings[k]}" for k in pooled if k != "seed" and k in settings]
    if not others:
        return str(run.seed)
    return " ".join(([f"seed={settings['seed']}"] if "seed" in settings else []) + others)


def _diverged_notes(groups: Sequence[Group]) -> List[str]:
    lines = []
    for group in groups:
        for run in group.diverged:
            at = (run.results or {}).get("diverged_at") or {}
            when = (
                f"at epoch {at.get('epoch')}"
                if isinstance(at, dict) and at.get("epoch") is not None
                else "(a non-finite loss)"
            )
            left_out = any(run is r for r in group.diverged_left_out)
            kept = (
                "left out of the statistics (--include-diverged pools it)"
                if left_out
                else "pooled (--include-diverged)"
            )
            lines.append(f"- {run.path} ({' '.join(run.overrides)}): diverged {when}; {kept}")
    return ["", "## Diverged", ""] + lines if lines else []


def pruned_runs(runs: Sequence[Run]) -> List[Run]:
    """Trials a search's pruner stopped (stop_reason pruned): finished runs, only shorter."""
    return [r for r in runs if r.status == "finished" and (r.results or {}).get("stop_reason") == "pruned"]


def _pruned_notes(runs: Sequence[Run]) -> List[str]:
    """Pruned trials count as runs of their group; said here, since their scores are those of fewer epochs."""
    lines = [
        f"- {run.path} ({' '.join(run.overrides)}): pruned by the search after {run.results.get('epochs_run')} epoch(s)"
        for run in pruned_runs(runs)
    ]
    if not lines:
        return []
    return ["", "## Pruned", "", "Scores of the weights they had when the search stopped them.", ""] + lines


def _run_notes(runs: List[Run]) -> List[str]:
    lines = []
    unfinished = [r for r in runs if r.status not in ("finished", "unreadable")]
    if unfinished:
        lines += ["", "## Not finished", ""]
        for run in unfinished:
            what = (
                f"failed: {run.error.splitlines()[-1]}"
                if run.status == "failed" and run.error
                else f"{run.status}, {len(run.metrics)} epochs logged so far"
            )
            lines.append(f"- {run.path} ({' '.join(run.overrides)}): {what}")
    problems = [p for r in runs for p in r.problems]
    if problems:
        lines += ["", "## Unreadable files", ""] + [f"- {p}" for p in problems]
    return lines


def write_csv(rows: List[dict], path: Path) -> None:
    columns = [c for c in rows[0] if not c.startswith("_")] if rows else ["group"] + METRIC_COLUMNS
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


@dataclass
class Drawn:
    files: List[str] = field(default_factory=list)  # the PNGs written, names inside the output folder
    dashed: Dict[str, int] = field(default_factory=dict)  # group -> epoch its curve turns dashed (runs had stopped)


def draw_plots(groups: List[Group], out: Path, pooled: Sequence[str] = POOLED) -> Drawn:
    from runner.analyse import plots  # matplotlib is slow to import: only when there is something to draw

    drawn = Drawn()
    curves = {g.label: [r.metrics for r in g.runs if r.metrics] for g in groups}
    for name, (column, ylabel, percent) in PLOTS.items():
        file = f"comparison_{name}.png"
        if plots.plot_curves(curves, column, ylabel, out / file, percent=percent):
            drawn.files.append(file)
            for label, runs in curves.items():
                epoch = plots.fewer_runs_from(runs, column)
                if epoch is not None:
                    drawn.dashed[label] = min(epoch, drawn.dashed.get(label, epoch))
    points = {
        g.label: [
            (pooled_label(r, pooled), r.results["test"]["accuracy"])
            for r in g.runs
            if isinstance(r.results["test"].get("accuracy"), (int, float))
            and math.isfinite(r.results["test"]["accuracy"])
        ]
        for g in groups
    }
    if any(points.values()):
        intervals = {g.label: stats.mean_interval(g.test_accuracy) for g in groups}
        plots.plot_points(points, "test accuracy (%)", out / "comparison_test_accuracy.png", intervals)
        drawn.files.append("comparison_test_accuracy.png")
    return drawn


def _dashed_notes(groups: Sequence[Group], dashed: Dict[str, int]) -> List[str]:
    """Which curves turn dashed, and why: said only of groups where some runs stopped before others."""
    if not dashed:
        return []
    lines = ["", "Dashed: from that epoch on, the mean is over fewer runs, because some had stopped."]
    for group in groups:
        if group.label in dashed:
            last = sorted(int(max(row["epoch"] for row in r.metrics)) for r in group.runs if r.metrics)
            lines.append(
                f"- {group.label}: dashed from epoch {dashed[group.label]}; its runs' last epochs: "
                + ", ".join(map(str, last))
            )
    return lines


# ---------------------------------------------------------------- command


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="runner compare",
        description="Compare the runs of a sweep, or any run folders. Runs are grouped by the\n"
        "overrides that differ between them; seeds and folds (data.cv_fold) are pooled.\n"
        "Per group: test accuracy mean ± std, best validation accuracy, epochs to best,\n"
        "wall time. Each group against the highest-mean one: the difference, its 95%\n"
        'confidence interval and Welch\'s t-test; "best" only where the test tells the\n'
        "groups apart. Curves, and test accuracy per seed with each group's interval.\n"
        "Unfinished runs are listed; unreadable or damaged files are named and their\n"
        "run skipped. Diverged runs (stop_reason diverged, or a non-finite loss) are\n"
        "marked and left out of statistics and plots unless --include-diverged.\n"
        "Writes comparison.md, comparison.csv and comparison_*.png; prints the table.",
        epilog="examples:\n"
        "  runner compare outputs/sweeps/2025-01-31/12-00-00-000000\n"
        "  runner compare outputs/sweeps/2025-01-31 --sort wall_time_s_mean --out /tmp/r\n"
        "  runner compare outputs/runs/2025-01-31/10-* --out reports/lr\n"
        "  runner compare outputs/sweeps/2025-01-31/12-00-00 --pool optimizer.lr\n\n"
        + textwrap.fill(
            "sort columns: group, the differing settings (e.g. model.activation), "
            + ", ".join(METRIC_COLUMNS + AGAINST_BEST_COLUMNS),
            79,
            subsequent_indent="  ",
            break_on_hyphens=False,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="a sweep folder (searched recursively) or run folders"
    )
    parser.add_argument(
        "--sort",
        default="test_acc_mean",
        metavar="COLUMN",
        help="column to sort by, or a unique prefix of it (default: test_acc_mean)",
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--ascending", dest="descending", action="store_false", default=None, help="smallest first")
    order.add_argument(
        "--descending", dest="descending", action="store_true", help="largest first (default for n and accuracies)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write comparison.{md,csv} and the plots (default: the sweep folder)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots (faster)")
    parser.add_argument(
        "--include-diverged",
        action="store_true",
        help="pool diverged runs (stop_reason diverged, or a non-finite loss) into their groups' statistics and plots; "
        "by default they are marked in the table and left out, since NaN weights score by chance",
    )
    parser.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="KEY",
        help=f"also pool this setting within groups instead of grouping by it (repeatable; always pooled: {', '.join(POOLED)})",
    )
    return parser.parse_args(argv)


def output_folder(paths: Sequence[Path]) -> Path:
    """The sweep folder given; for several folders (or run folders), the folder that holds them all."""
    common = Path(os.path.commonpath([str(p.resolve()) for p in paths]))
    return common.parent if is_run_folder(common) else common


class CompareError(ValueError):
    """str() is the line after `runner compare: `."""


@dataclass
class Comparison:
    """What `runner compare` writes and prints, as values (runner.compare returns it)."""

    rows: List[dict]  # the table: one row per group (keys starting with "_" are internal)
    groups: List[Group]
    runs: List[Run]
    report: str  # comparison.md
    plots: "Drawn"
    out: Path


def compare_folders(
    paths: Sequence[Path], sort: str = "test_acc_mean", descending=None, pool=(), include_diverged=False,
    out: Optional[Path] = None, plots: bool = True, problems: Optional[List[str]] = None,
) -> Comparison:  # fmt: skip
    """The comparison of every run under `paths`, written to `out` (comparison.md, .csv, plots).
    CompareError for a folder that is not there or holds no runs, or an unknown sort column."""
    for path in paths:
        if not Path(path).is_dir():
            raise CompareError(f"no such folder: {path}")
    folders = [run for path in paths for run in find_runs(Path(path))]
    if not folders:
        names = ", ".join(str(p) for p in paths)
        raise CompareError(f"no run folders under {names} (a run folder holds .hydra/overrides.yaml or results.json)")
    runs = read_runs(dict.fromkeys(folders))  # a folder given twice counts once
    leave_out_corrupt(runs)
    if problems is not None:
        problems.extend(p for r in runs for p in r.problems)
    finished = [r for r in runs if r.status == "finished"]
    pooled = list(dict.fromkeys([*POOLED, *(key.lstrip("+") for key in pool)]))
    groups = group_runs(finished, pooled, include_diverged)
    rows = table_rows(groups)
    columns = (
        [c for c in rows[0] if not c.startswith("_")] if rows else ["group", *METRIC_COLUMNS, *AGAINST_BEST_COLUMNS]
    )
    try:
        rows = sort_rows(rows, resolve_column(sort, columns), descending)
    except ValueError as err:
        raise CompareError(str(err)) from None
    out = Path(out) if out else output_folder([Path(p) for p in paths])
    out.mkdir(parents=True, exist_ok=True)
    drawn = draw_plots(groups, out, pooled) if groups and plots else Drawn()
    report = markdown(rows, groups, runs, [Path(p) for p in paths], drawn, pooled)
    (out / "comparison.md").write_text(report)
    write_csv(rows, out / "comparison.csv")
    return Comparison(rows, groups, runs, report, drawn, out)


def main(argv) -> int:
    args = parse_args(argv)
    problems: List[str] = []
    try:
        result = compare_folders(
            args.paths, args.sort, args.descending, args.pool, args.include_diverged, args.out,
            not args.no_plots, problems,
        )  # fmt: skip
    except CompareError as err:
        print(f"runner compare: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"runner compare: {problem}", file=sys.stderr)
    print(result.report)
    if not any(r.status == "finished" for r in result.runs):
        print("runner compare: no finished runs yet", file=sys.stderr)
    print(f"wrote {result.out / 'comparison.md'}, comparison.csv" + "".join(f", {p}" for p in result.plots.files))
    return 0
