"""`runner reproduce --status`: where a long reproduction stands, run by run.

The chapter-6 rows take hours each and outlive a working session, so this reads
only files: the kept summaries (experiments/results/<id>/seed<k>/) and the run
folders (outputs/reproduce/<id>/seed<k>/): which runs are finished, which stopped
or are still going at which epoch, how long an epoch takes, and about how long
is left. Nothing is started or changed.
"""

import heapq
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from runner.analyse.reproduction_report import Row
from runner.config.metric_names import EPOCH, SECONDS, VAL_ACCURACY, VAL_LOSS
from runner.record.run_folder import RunFolder


def epochs_planned(run_dir: Path, row: Row) -> int:
    """The run's own trainer.epochs (its .hydra/config.yaml), else the row's."""
    try:
        return int(RunFolder(run_dir).config().trainer.epochs)
    except (OSError, AttributeError, ValueError, TypeError):
        return row.epochs


def metric_rows(run_dir: Path) -> List[dict]:
    """The epochs metrics.csv holds (numbers; NaN where blank), those with a time only; [] if unreadable."""
    rows = RunFolder(run_dir).metric_rows_to_show(problems=[])  # a status line has no room for why
    return [r for r in rows if _written(r.get(SECONDS))]


def _written(value) -> bool:
    return value is not None and not math.isnan(value)


def best_so_far(rows: List[dict]) -> str:
    """The best validation result among the epochs written: accuracy, or loss for autoencoders."""
    name = VAL_ACCURACY if _written(rows[0].get(VAL_ACCURACY)) else VAL_LOSS
    values = [r.get(name) for r in rows]
    if not all(_written(v) for v in values):  # a run without validation columns: nothing to show
        return ""
    best = (max if name == VAL_ACCURACY else min)(rows, key=lambda r: r[name])
    if name == VAL_ACCURACY:
        return f"val {100 * best[name]:.2f}% (epoch {int(best[EPOCH])})"
    return f"val loss {best[name]:.4f} (epoch {int(best[EPOCH])})"


def tested(results: dict) -> str:
    test = results.get("test") or {}
    if test.get("accuracy") is not None:
        return f"test {100 * test['accuracy']:.2f}%"
    return f"test loss {test['loss']:.4f}" if test.get("loss") is not None else ""


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago" if seconds < 7200 else f"{seconds / 3600:.1f} h ago"


def hours(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


@dataclass
class RunState:
    cells: List[str]  # the table's columns
    finished: bool = False
    per_epoch: Optional[float] = None  # seconds, from its recent epochs
    epochs_left: Optional[int] = None  # None: not started
    running: bool = False  # written to recently: its process still holds a worker


def seed_line(row: Row, seed: int, kept_root: Path, out_root: Path, now: float) -> RunState:
    kept = RunFolder(kept_root / row.id / f"seed{seed}").finished_results()
    run_dir = out_root / row.id / f"seed{seed}"
    if kept:
        return RunState(
            [row.id, str(seed), "finished, kept", f"{kept.get('epochs_run', '?')}", tested(kept), "", "", ""],
            finished=True,
        )
    finished = RunFolder(run_dir).finished_results()
    if finished:
        cells = [
            row.id,
            str(seed),
            "finished, not kept yet (`runner reproduce --report`)",
            f"{finished.get('epochs_run', '?')}",
            tested(finished),
            "",
            "",
            "",
        ]
        return RunState(cells, finished=True)
    rows = metric_rows(run_dir)
    if not rows:
        return RunState([row.id, str(seed), "not started", "", "", "", "", ""])
    planned = epochs_planned(run_dir, row)
    per_epoch = statistics.median(r[SECONDS] for r in rows[-3:])  # recent epochs: the machine's load changes
    written = RunFolder(run_dir).metrics_file.stat().st_mtime
    # A file cannot say whether its process still runs; an epoch row older than a few
    # epochs' time (evaluation included) means it stopped: re-running resumes it.
    running = now - written < 3 * per_epoch + 300
    state = "in progress" if running else "cut off: resumes from its last checkpoint"
    left = planned - len(rows)
    cells = [
        row.id,
        str(seed),
        state,
        f"{len(rows)}/{planned}",
        best_so_far(rows),
        f"{per_epoch:.0f}",
        hours(left * per_epoch),
        ago(now - written),
    ]
    return RunState(cells, per_epoch=per_epoch, epochs_left=left, running=running)


def makespan(running: List[float], queued: List[float], jobs: int) -> float:
    """Seconds until the last run ends, `jobs` at a time: runs in progress keep their
    workers, the others start longest first on whichever worker frees first (as
    `runner reproduce` queues them). Whole runs: five 1-hour runs on two workers take 3 hours."""
    workers = list(running) + [0.0] * max(0, jobs - len(running))
    heapq.heapify(workers)
    for seconds in sorted(queued, reverse=True):
        heapq.heapreplace(workers, workers[0] + seconds)
    return max(workers, default=0.0)


def time_left(rows: List[Row], states: Dict[str, List[RunState]], jobs: int) -> str:
    """One line under the table: runs finished, and the training time left (runs not
    started yet are estimated from their row's other seeds' epoch time where one ran)."""
    every = [s for row_states in states.values() for s in row_states]
    running, queued, unknown = [], [], 0
    for row in rows:
        measured = [s.per_epoch for s in states.get(row.id, []) if s.per_epoch]
        for s in states.get(row.id, []):
            if s.finished:
                continue
            if s.epochs_left is not None:
                (running if s.running else queued).append(s.epochs_left * s.per_epoch)
            elif measured:
                queued.append(row.epochs * statistics.median(measured))
            else:
                unknown += 1
    seconds = sum(running) + sum(queued)
    done = sum(s.finished for s in every)
    line = f"{done} of {len(every)} runs finished; training left: about {hours(seconds)} of run time"
    if seconds:
        line += (
            f", done in about {hours(makespan(running, queued, jobs))} with {jobs} run(s) at a time (`--jobs {jobs}`)"
        )
    if unknown:
        line += f"; plus {unknown} run(s) not started whose rows have no epoch time yet"
    return line + "."


def status_table(
    rows: List[Row],
    seeds_of: Dict[str, int],
    kept_root: Path,
    out_root: Path,
    now: Optional[float] = None,
    jobs: int = 2,
) -> str:
    """A markdown table, one line per run of the given rows (ensembles: one line saying what
    they vote over), and a line with the runs finished and the time left."""
    now = time.time() if now is None else now
    lines, states = [], {}
    for row in rows:
        if row.ensemble_of:
            lines.append(
                [row.id, "-", f"votes over {row.ensemble_of}'s runs (no training of its own)", "", "", "", "", ""]
            )
            continue
        states[row.id] = [seed_line(row, seed, kept_root, out_root, now) for seed in range(seeds_of[row.id])]
        lines += [s.cells for s in states[row.id]]
    header = [
        "row",
        "seed",
        "state",
        "epochs",
        "result (best so far)",
        "train s/epoch (last 3)",
        "left (about)",
        "metrics.csv written",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(table) + "\n\n" + time_left(rows, states, jobs)
