"""The reproduction report: documented vs obtained, per row, from result files alone.

Input: one folder per row and seed holding results.json, metrics.csv,
config.yaml (and test_predictions.csv for ensembles) — the committed
experiments/results/<id>/seed<k>/ summaries, or a quick run's output folders.
Nothing here trains or reads checkpoints, so the report rebuilds from git.
"""

import csv
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from omegaconf import OmegaConf

from runner.config.metric_names import SECONDS, TEST_ACCURACY, VAL_ACCURACY
from runner.record.run_folder import RESULTS, RunFolder

LOWER_IS_BETTER = {"test_loss"}


@dataclass
class Row:
    """One documented result (the `reference` block of an experiments/reproduce/*.yaml)."""

    id: str
    experiment: str
    description: str
    metric: str
    value: Optional[float]
    tolerance: Optional[float]
    seeds: int
    epochs: int
    documented_epochs: Optional[int]
    source: str
    group: str = ""
    notes: str = ""
    ensemble_of: Optional[str] = None
    compare_with: Optional[str] = None


@dataclass
class RunSummary:
    seed: int
    value: Optional[float]
    epochs_run: int
    stop_reason: str
    train_s: float  # sum of metrics.csv's per-epoch `seconds`: whole also for runs resumed across sessions
    machine: dict = field(default_factory=dict)
    commit: str = ""


def load_rows(folder: Path) -> List[Row]:
    rows = []
    for path in sorted(Path(folder).glob("*.yaml")):
        cfg = OmegaConf.load(path)
        ref = cfg.get("reference")
        if ref is None:
            continue
        rows.append(
            Row(
                id=ref.id,
                experiment=f"reproduce/{path.stem}",
                description=ref.get("description", ""),
                metric=ref.get("metric", "test_at_best_val"),
                value=ref.get("value"),
                tolerance=ref.get("tolerance"),
                seeds=ref.get("seeds", 3),
                epochs=OmegaConf.select(cfg, "trainer.epochs", default=0) or 0,
                documented_epochs=ref.get("documented_epochs"),
                source=ref.get("source", ""),
                group=ref.get("group", ""),
                notes=ref.get("notes", ""),
                ensemble_of=ref.get("ensemble_of"),
                compare_with=ref.get("compare_with"),
            )
        )
    return sorted(rows, key=lambda r: _natural(r.id))


def _natural(text: str):
    """N2 before N10: letters, then the number, then the rest."""
    match = re.match(r"([A-Za-z]*)(\d*)(.*)", text)
    letters, number, rest = match.groups()
    return (letters, int(number) if number else 0, rest)


def tolerance(row: Row) -> float:
    if row.tolerance is not None:
        return row.tolerance
    return 0.15 if (row.value or 0) > 99 else 0.3


def column(rows: List[dict], name: str) -> List[float]:
    """A metrics.csv column's values, blanks (NaN) left out."""
    return [r[name] for r in rows if r.get(name) is not None and not math.isnan(r[name])]


def run_value(row: Row, metrics: List[dict], results: dict) -> Optional[float]:
    """The number the source reports, computed the way the source computed it (metrics: metrics.csv's rows)."""
    if row.metric == "peak_test":
        values = column(metrics, TEST_ACCURACY)
        return 100 * max(values) if values else None
    if row.metric == "best_val":
        values = column(metrics, VAL_ACCURACY)
        return 100 * max(values) if values else None
    if row.metric == "test_at_best_val":
        return 100 * results["test"]["accuracy"]
    if row.metric == "final_test":
        values = column(metrics, TEST_ACCURACY)
        return 100 * values[-1] if values else 100 * results["test"]["accuracy"]
    if row.metric == "test_loss":
        return results["test"]["loss"]
    raise ValueError(f"metric {row.metric} has no per-run value")


def seed_dirs(root: Path, row_id: str) -> List[Path]:
    return sorted((Path(root) / row_id).glob("seed*"), key=lambda p: int(p.name[4:] or 0))


def summaries(row: Row, root: Path) -> List[RunSummary]:
    found = []
    for run_dir in seed_dirs(root, row.id):
        run = RunFolder(run_dir)
        results = run.finished_results()
        if results is None:
            continue
        metrics = run.metric_rows_to_show(problems=[])  # [] without a file: no curve-based value
        found.append(
            RunSummary(
                seed=results.get("seed", int(run_dir.name[4:])),
                value=run_value(row, metrics, results),
                epochs_run=results.get("epochs_run", 0),
                stop_reason=results.get("stop_reason", ""),
                train_s=sum(column(metrics, SECONDS)),
                machine=results.get("machine", {}),
                commit=results.get("git_commit", ""),
            )
        )
    return found


def ensemble_accuracy(root: Path, row_id: str) -> (Optional[float], int):
    """Plurality vote of the runs' saved test predictions (ties: the smallest label)."""
    votes, labels = [], None
    for run_dir in seed_dirs(root, row_id):
        predictions = RunFolder(run_dir).test_predictions()
        if predictions is None:
            continue
        labels, predicted = predictions
        votes.append(predicted)
    if not votes:
        return None, 0
    correct = 0
    for i, label in enumerate(labels):
        counts: Dict[int, int] = {}
        for member in votes:
            counts[member[i]] = counts.get(member[i], 0) + 1
        winner = min(counts, key=lambda k: (-counts[k], k))
        correct += winner == label
    return 100 * correct / len(labels), len(votes)


@dataclass
class Line:
    row: Row
    n: int
    best: Optional[float]
    mean: Optional[float]
    std: Optional[float]
    diff: Optional[float]
    verdict: str
    epochs_run: str
    train_min: Optional[float]
    values: List[float] = field(default_factory=list)  # one per seed (the ensemble's single vote)


def assess(row: Row, root: Path, quick: bool, by_id: Dict[str, "Line"]) -> Line:
    if row.metric == "ensemble_test":
        value, members = ensemble_accuracy(root, row.ensemble_of)
        runs = (
            [RunSummary(seed=-1, value=value, epochs_run=0, stop_reason="", train_s=0.0)] if value is not None else []
        )
        need = next((r.seeds for r in [by_id[row.ensemble_of].row] if row.ensemble_of in by_id), row.seeds)
        complete = members >= need
        n_label, progress = members, f"{members}/{need} of {row.ensemble_of}'s runs"
    else:
        runs = summaries(row, root)
        complete = len(runs) >= row.seeds
        n_label, progress = len(runs), f"{len(runs)}/{row.seeds} seeds"
    values = [r.value for r in runs if r.value is not None]
    lower = row.metric in LOWER_IS_BETTER
    best = (min(values) if lower else max(values)) if values else None
    mean = statistics.fmean(values) if values else None
    std = statistics.stdev(values) if len(values) > 1 else (0.0 if values else None)
    diff = best - row.value if best is not None and row.value is not None else None
    epochs = sorted({r.epochs_run for r in runs if r.epochs_run})
    short = any(r.epochs_run < row.epochs and r.stop_reason not in ("early_stopping", "schedule_done") for r in runs)
    if row.documented_epochs and row.epochs < row.documented_epochs:
        short = True
    verdict = _verdict(row, best, diff, complete, progress, short, quick, runs, by_id)
    times = [r.train_s for r in runs if r.train_s]
    train_min = statistics.fmean(times) / 60 if times else None
    return Line(row, n_label, best, mean, std, diff, verdict, ",".join(map(str, epochs)) or "-", train_min, values)


def _verdict(row, best, diff, complete, progress, short, quick, runs, by_id) -> str:
    if not runs:
        return "not run"
    if quick:
        return "quick run: not comparable"
    if any(r.stop_reason == "diverged" for r in runs):
        return "diverged"
    if short:
        return "shorter than documented: does not count"
    if not complete:
        return f"incomplete ({progress})"
    if row.value is None:
        other = by_id.get(row.compare_with)
        if other is not None and other.best is not None and best is not None:
            return f"no documented number; {best - other.best:+.2f} vs {row.compare_with}"
        return "no documented number"
    tol = tolerance(row)
    if abs(diff) <= tol:
        return "reproduced"
    better = diff < 0 if row.metric in LOWER_IS_BETTER else diff > 0
    return "better than documented" if better else "gap"


def build(rows: List[Row], root: Path, quick: bool = False) -> List[Line]:
    lines: Dict[str, Line] = {}
    # Rows that others refer to (ensemble members, comparisons) are assessed first.
    ordered = sorted(rows, key=lambda r: r.ensemble_of is not None or r.compare_with is not None)
    for row in ordered:
        lines[row.id] = assess(row, root, quick, lines)
    return [lines[r.id] for r in rows]


def _fmt(x: Optional[float], digits: int, signed: bool = False) -> str:
    """`round(x) or 0.0`: a value that rounds to zero shows as 0.00, not -0.00."""
    return "-" if x is None else f"{round(x, digits) or 0.0:{'+' if signed else ''}.{digits}f}"


def _unit(row: Row) -> str:
    return "" if row.metric in LOWER_IS_BETTER else "%"


def _digits(row: Row) -> int:
    return 4 if row.metric in LOWER_IS_BETTER else 2


CSV_COLUMNS = [
    "id",
    "description",
    "metric",
    "documented",
    "best",
    "mean",
    "std",
    "diff",
    "verdict",
    "seeds",
    "epochs_run",
    "train_min_per_run",
]


def to_csv(lines: List[Line]) -> str:
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ln in lines:
        d = _digits(ln.row)
        writer.writerow(
            [
                ln.row.id,
                ln.row.description,
                ln.row.metric,
                "" if ln.row.value is None else ln.row.value,
                _fmt(ln.best, d),
                _fmt(ln.mean, d),
                _fmt(ln.std, d),
                _fmt(ln.diff, d),
                ln.verdict,
                ln.n,
                ln.epochs_run,
                _fmt(ln.train_min, 1),
            ]
        )
    return out.getvalue()


def to_markdown(
    lines: List[Line], header: str, figure: Optional[str] = None, provenance: str = "", sections: str = ""
) -> str:
    """The table first (what a reader came for), then the rows' notes, sources, measurements that
    are not training runs (`sections`, markdown) and the runs' provenance."""
    out = [header, ""]
    if figure:
        out += [f"![documented vs obtained, per row and seed]({figure})", ""]
    out += [
        "| id | result | documented | obtained (best of seeds) | mean ± std | diff | verdict | seeds | epochs | train min/run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ln in lines:
        d = _digits(ln.row)
        unit = _unit(ln.row)
        documented = "-" if ln.row.value is None else f"{ln.row.value}{unit} ({ln.row.metric.replace('_', ' ')})"
        spread = "-" if ln.mean is None else f"{ln.mean:.{d}f} ± {ln.std:.{d}f}"
        out.append(
            f"| {ln.row.id} | {ln.row.description} | {documented} | {_fmt(ln.best, d)}{unit if ln.best is not None else ''} | {spread} | {_fmt(ln.diff, d, signed=True)} | {ln.verdict} | {ln.n} | {ln.epochs_run} | {_fmt(ln.train_min, 1)} |"
        )
    notes = [f"- **{ln.row.id}**: {ln.row.notes.strip()}" for ln in lines if ln.row.notes.strip()]
    if notes:
        out += ["", "Notes:", ""] + notes
    out += ["", "Sources:", ""] + sorted({f"- {ln.row.source}" for ln in lines if ln.row.source})
    if sections:
        out += ["", sections.strip()]
    if provenance:
        out += ["", "## Provenance of the runs", "", provenance]
    return "\n".join(out) + "\n"


def figure_entries(lines: List[Line]) -> List[tuple]:
    """Rows with a documented number and a result, for plots.plot_against_reference:
    each seed's distance from the documented value in units of the row's
    tolerance, signed so that positive is better (lower is better for losses)."""
    entries = []
    for ln in lines:
        if ln.row.value is None or ln.best is None:
            continue
        scale = (-1 if ln.row.metric in LOWER_IS_BETTER else 1) / tolerance(ln.row)
        seeds = [scale * (v - ln.row.value) for v in ln.values]
        unit = _unit(ln.row)
        label = f"{ln.row.id}  ({ln.row.value}{unit} → {_fmt(ln.best, _digits(ln.row))}{unit})"
        entries.append((label, seeds, scale * ln.diff, ln.verdict))
    return entries


def machines(root: Path) -> List[str]:
    seen = set()
    for results in _every_results(root):
        m = results.get("machine", {})
        seen.add(
            f"{m.get('processor', '?')}, {m.get('cpu_count', '?')} cores, {m.get('torch_threads', '?')} torch thread(s)"
            + (f", {m['gpu']}" if m.get("gpu") else "")
        )
    return sorted(seen)


def commits(root: Path) -> List[str]:
    """The git commits the runs ran from (results.json's git_commit), short form."""
    seen = set()
    for results in _every_results(root):
        commit = results.get("git_commit", "")
        if commit:
            seen.add(commit[:7])
    return sorted(seen)


def _every_results(root: Path) -> List[dict]:
    """The readable results.json of every run under root/<id>/seed<k>/."""
    found = (RunFolder(path.parent).results_json() for path in Path(root).glob(f"*/seed*/{RESULTS}"))
    return [results for results in found if results is not None]
