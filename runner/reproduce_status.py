"""`runner reproduce --status`: where a long reproduction stands, run by run.

The chapter-6 rows take hours each and outlive a working session, so this reads
only files: the kept summaries (experiments/results/<id>/seed<k>/) and the run
folders (outputs/reproduce/<id>/seed<k>/): which runs are finished, which stopped
or are still going at which epoch, how long an epoch takes, and about how long
is left. Nothing is started or changed.
"""

import csv
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

from omegaconf import OmegaConf

from runner.reproduction_report import Row
from runner.resume import finished_results


def epochs_planned(run_dir: Path, row: Row) -> int:
    """The run's own trainer.epochs (its .hydra/config.yaml), else the row's."""
    try:
        return int(OmegaConf.load(run_dir / ".hydra" / "config.yaml").trainer.epochs)
    except (OSError, AttributeError, ValueError, TypeError):
        return row.epochs


def metric_rows(run_dir: Path) -> List[dict]:
    try:
        with open(run_dir / "metrics.csv") as f:
            return [r for r in csv.DictReader(f) if r.get("seconds")]
    except OSError:
        return []


def best_so_far(rows: List[dict]) -> str:
    """The best validation result among the epochs written: accuracy, or loss for autoencoders."""
    try:
        if rows[0].get("val/accuracy"):
            best = max(rows, key=lambda r: float(r["val/accuracy"]))
            return f"val {100 * float(best['val/accuracy']):.2f}% (epoch {best['epoch']})"
        best = min(rows, key=lambda r: float(r["val/loss"]))
        return f"val loss {float(best['val/loss']):.4f} (epoch {best['epoch']})"
    except (KeyError, ValueError):  # a run without validation columns: nothing to show
        return ""


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


def seed_line(row: Row, seed: int, kept_root: Path, out_root: Path, now: float) -> List[str]:
    kept = finished_results(kept_root / row.id / f"seed{seed}")
    run_dir = out_root / row.id / f"seed{seed}"
    if kept:
        return [row.id, str(seed), "finished, kept", f"{kept.get('epochs_run', '?')}", tested(kept), "", "", ""]
    finished = finished_results(run_dir)
    if finished:
        return [row.id, str(seed), "finished, not kept yet (`runner reproduce --report`)", f"{finished.get('epochs_run', '?')}", tested(finished), "", "", ""]
    rows = metric_rows(run_dir)
    if not rows:
        return [row.id, str(seed), "not started", "", "", "", "", ""]
    planned = epochs_planned(run_dir, row)
    per_epoch = statistics.median(float(r["seconds"]) for r in rows[-3:])  # recent epochs: the machine's load changes
    written = (run_dir / "metrics.csv").stat().st_mtime
    # A file cannot say whether its process still runs; an epoch row older than a few
    # epochs' time (evaluation included) means it stopped: re-running resumes it.
    state = "in progress" if now - written < 3 * per_epoch + 300 else "cut off: resumes from its last checkpoint"
    left = hours((planned - len(rows)) * per_epoch)
    return [row.id, str(seed), state, f"{len(rows)}/{planned}", best_so_far(rows), f"{per_epoch:.0f}", left, ago(now - written)]


def status_table(rows: List[Row], seeds_of: Dict[str, int], kept_root: Path, out_root: Path, now: Optional[float] = None) -> str:
    """A markdown table, one line per run of the given rows (ensembles: one line saying what they vote over)."""
    now = time.time() if now is None else now
    lines = []
    for row in rows:
        if row.ensemble_of:
            lines.append([row.id, "-", f"votes over {row.ensemble_of}'s runs (no training of its own)", "", "", "", "", ""])
            continue
        lines += [seed_line(row, seed, kept_root, out_root, now) for seed in range(seeds_of[row.id])]
    header = ["row", "seed", "state", "epochs", "result (best so far)", "train s/epoch (last 3)", "left (about)", "metrics.csv written"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(table)
