"""The end of a search (hydra/sweeper=optuna): every trial in one table, the best trial's
settings as a ready `runner train` command, Optuna's plots, and, with repeats, whether the
winner is really better than the runner-up.

Written into the sweep folder: trials.csv (for a program), trials.md (for a person),
optimization_history.png and param_importances.png. Epochs and wall time are read from the
trials' own folders (user attr "folder": `<N>`, or `<N>/repeat<r>/` with repeats), so they are
what was trained, pruned trials included."""

import csv
import functools
import math
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from runner.analyse import stats
from runner.launch.trial_link import objective
from runner.record.run_folder import RunFolder

TRIALS_CSV, TRIALS_MD = "trials.csv", "trials.md"
HISTORY_PNG, IMPORTANCES_PNG = "optimization_history.png", "param_importances.png"
# Overrides of the sweep command that make no sense for one run of the best settings.
SWEEP_ONLY = ("-m", "--multirun")
SWEEP_KEYS = ("hydra.sweeper", "hydra/sweeper", "hydra.sweep.", "hydra.launcher", "hydra/launcher")


@dataclass
class TrialRow:
    number: int
    params: Dict[str, Any]
    value: Optional[float]
    state: str  # COMPLETE, PRUNED, FAIL, RUNNING, WAITING (Optuna's TrialState)
    folder: str  # relative to the sweep folder; "" when the sweeper recorded none
    runs: List[dict] = field(default_factory=list)  # results.json of each of its runs (one per repeat)
    duration_s: Optional[float] = None  # Optuna's start-to-end, for a trial whose runs left no results

    @property
    def epochs_run(self) -> Optional[int]:
        return sum(int(r.get("epochs_run") or 0) for r in self.runs) if self.runs else None

    @property
    def wall_time_s(self) -> Optional[float]:
        if not self.runs:
            return self.duration_s
        return round(sum(float(r.get("wall_time_s") or 0.0) for r in self.runs), 3)

    @property
    def objectives(self) -> List[float]:
        """Each run's objective (several with repeats > 1)."""
        return [v for v in (objective(r) for r in self.runs) if v is not None]


def write_trials_report(study, sweep_dir: Path, command: List[str]) -> str:
    """Write the report files; returns the summary the sweeper prints at the end."""
    sweep_dir = Path(sweep_dir)
    rows = [trial_row(trial, sweep_dir) for trial in study.trials]
    names = param_names(rows)
    monitor = next((r.runs[0].get("monitor") for r in rows if r.runs and r.runs[0].get("monitor")), "value")
    ranked = ranked_complete(rows, study.direction.name == "MAXIMIZE")
    write_csv(rows, names, sweep_dir / TRIALS_CSV)
    best = best_lines(ranked, monitor, study.direction.name.lower(), command, sweep_dir)
    plotted, skipped = draw_plots(study, sweep_dir, monitor)
    (sweep_dir / TRIALS_MD).write_text(markdown(rows, names, monitor, ranked, [totals(rows), *best], plotted, skipped))
    written = f"wrote {sweep_dir / TRIALS_CSV}, " + ", ".join([TRIALS_MD, *plotted])
    return "\n".join([totals(rows), *best, written, *skipped])


def trial_row(trial, sweep_dir: Path) -> TrialRow:
    folder = str(trial.user_attrs.get("folder") or "")
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    runs = run_results(sweep_dir / folder) if folder else []
    return TrialRow(trial.number, dict(trial.params), trial.value, trial.state.name, folder, runs, duration)


def run_results(folder: Path) -> List[dict]:
    """results.json of the trial's run, or of each of its repeats (repeat0, repeat1, ...)."""
    own = RunFolder(folder).results_json()
    if own is not None:
        return [own]
    repeats = sorted(folder.glob("repeat*"), key=lambda p: int(p.name[6:]) if p.name[6:].isdigit() else math.inf)
    return [r for r in (RunFolder(p).results_json() for p in repeats) if r is not None]


def param_names(rows: List[TrialRow]) -> List[str]:
    return list(dict.fromkeys(name for row in rows for name in row.params))


def ranked_complete(rows: List[TrialRow], maximize: bool) -> List[TrialRow]:
    """The complete trials, best first."""
    complete = [r for r in rows if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    return sorted(complete, key=lambda r: (-r.value if maximize else r.value, r.number))


def totals(rows: List[TrialRow]) -> str:
    states = {}
    for row in rows:
        states[row.state.lower()] = states.get(row.state.lower(), 0) + 1
    epochs = sum(r.epochs_run or 0 for r in rows)
    seconds = sum(r.wall_time_s or 0 for r in rows)
    counts = ", ".join(f"{n} {state}" for state, n in states.items())
    return f"search: {len(rows)} trials ({counts}), {epochs} epochs trained in {seconds:.0f} s"


# ---------------------------------------------------------------- the best trial


def best_lines(ranked: List[TrialRow], monitor: str, direction: str, command: List[str], sweep_dir: Path) -> List[str]:
    """The best trial, its `runner train` command and, with repeats, its test against the runner-up."""
    if not ranked:
        return ["no trial completed: no best settings yet"]
    best = ranked[0]
    lines = [f"best trial {best.number}: {monitor} {best.value:.4g} ({direction})"]
    lines.append("  " + best_command(best, command, sweep_dir))
    if any(len(r.runs) > 1 for r in ranked):
        lines.append(compare_best(ranked, monitor))
    return lines


def best_command(best: TrialRow, command: List[str], sweep_dir: Path) -> str:
    """`runner train <the sweep's fixed overrides> <the best trial's settings>`, ready to paste."""
    fixed = [o for o in command if o not in SWEEP_ONLY and not o.lstrip("+~").startswith(SWEEP_KEYS)]
    searched = set(best.params)
    fixed = [o for o in fixed if o.split("=", 1)[0].lstrip("+~") not in searched]
    ran = ran_overrides(sweep_dir / best.folder) if best.folder else {}
    settings = [ran.get(name) or f"{name}={format_value(value)}" for name, value in best.params.items()]
    return " ".join(["runner", "train", *(shlex.quote(o) for o in fixed + settings)])


def ran_overrides(folder: Path) -> Dict[str, str]:
    """{key: override} as the trial's (first) run was given them: the exact text of its settings."""
    for run in (folder, folder / "repeat0"):
        overrides = RunFolder(run).overrides() if (run / ".hydra").is_dir() else []
        if overrides:
            return {o.split("=", 1)[0].lstrip("+~"): o for o in overrides}
    return {}


def format_value(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def compare_best(ranked: List[TrialRow], monitor: str) -> str:
    """Welch's test of the best trial's repeats against the runner-up's (runner/analyse/stats.py)."""
    if len(ranked) < 2:
        return "one complete trial: no runner-up to compare the best with"
    best, second = ranked[0], ranked[1]
    a, b = best.objectives, second.objectives
    welch = stats.welch(a, b)
    spread = (
        f"trial {best.number}, {monitor} {describe(a)} vs trial {second.number}, {describe(b)} "
        f"over {len(a)} and {len(b)} repeats"
    )
    if not welch.defined:
        why = "fewer than 2 repeats" if min(len(a), len(b)) < 2 else "no spread: every repeat scored the same"
        return f"the best trial cannot be tested against the runner-up ({why}): {spread}"
    if welch.significant:
        return f"the best trial is distinguishable from the runner-up (p = {welch.p:.2g}): {spread}"
    return (
        f"the best trial is not distinguishable from the runner-up (p = {welch.p:.2g}): {spread}; "
        "the difference is within the repeats' noise, so either setting is as good on this evidence "
        "(more repeats would tell them apart, if they differ)"
    )


def describe(values: List[float]) -> str:
    spread = stats.std(values)
    return f"{stats.mean(values):.4g}" + ("" if math.isnan(spread) else f" ± {spread:.2g}")


# ---------------------------------------------------------------- files


def write_csv(rows: List[TrialRow], names: List[str], path: Path) -> None:
    columns = ["number", *names, "value", "state", "epochs_run", "wall_time_s", "folder"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            params = [row.params.get(name, "") for name in names]
            blank = ["" if v is None else v for v in (row.value, row.state, row.epochs_run, row.wall_time_s)]
            writer.writerow([row.number, *params, *blank, row.folder])


def markdown(rows: List[TrialRow], names: List[str], monitor: str, ranked, summary, plots, skipped) -> str:
    """trials.md: the summary, then one table row per trial, then the plots."""
    best = ranked[0].number if ranked else None
    lines = ["# Trials", ""]
    for line in summary:  # each its own paragraph; the command as a code block, to copy
        lines += ["    " + line.strip(), ""] if line.startswith("  runner ") else [line, ""]
    lines += [f"| trial | {' | '.join([*names, monitor])} | state | epochs | wall time s |"]
    lines += ["|---:|" + "---:|" * (len(names) + 1) + "---|---:|---:|"]
    for row in rows:
        mark = " (best)" if row.number == best else ""
        cells = [cell(row.params.get(name)) for name in names] + [cell(row.value)]
        epochs, wall = cell(row.epochs_run), "" if row.wall_time_s is None else f"{row.wall_time_s:.1f}"
        lines.append(f"| {row.number}{mark} | {' | '.join(cells)} | {row.state.lower()} | {epochs} | {wall} |")
    lines += [
        "",
        f"{monitor}: the trial's objective (with repeats, the mean over its runs); a pruned trial's, the value "
        "it reported at the epoch where the pruner judged it worse than the others and stopped it. "
        "Epochs and wall time: what its runs trained.",
    ]
    lines += ["", "## Plots", "", *(f"![{name}]({name})" for name in plots), *skipped]
    return "\n".join(lines) + "\n"


def cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def draw_plots(study, sweep_dir: Path, monitor: str):
    """(files written, lines saying what was skipped and why): Optuna's matplotlib plots."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: files only, works on headless machines and in workers
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    varying = [n for n in param_names_of(complete) if len({repr(t.params.get(n)) for t in complete}) > 1]
    history = functools.partial(optuna_plots.plot_optimization_history, target_name=monitor)
    importances = functools.partial(  # seeded: the same forest, the same bars, on every call
        optuna_plots.plot_param_importances,
        evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
        target_name=monitor,
    )
    wanted = {
        HISTORY_PNG: (history, len(complete) >= 1, "1 complete trial"),
        IMPORTANCES_PNG: (
            importances,
            len(complete) >= 2 and bool(varying),
            "2 complete trials whose parameters differ",
        ),
    }
    written, skipped = [], []
    for name, (plot, possible, needs) in wanted.items():
        if not possible:
            skipped.append(f"{name} skipped (needs {needs}; this search has {len(complete)} complete)")
            continue
        with warnings.catch_warnings():  # optuna marks its matplotlib plots experimental; the plots are fine
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                axes = plot(study)
            except (ImportError, ValueError, RuntimeError) as err:  # e.g. no scikit-learn for the importances
                skipped.append(f"{name} skipped ({str(err).strip().splitlines()[0][:160]})")
                continue
        axes.figure.savefig(sweep_dir / name, dpi=110, bbox_inches="tight")
        plt.close(axes.figure)
        written.append(name)
    return written, skipped


def param_names_of(trials) -> List[str]:
    return list(dict.fromkeys(name for trial in trials for name in trial.params))
