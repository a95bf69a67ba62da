"""Continue a run folder from its last checkpoint (a cut-off sweep point, a killed job).

The checkpoint holds everything the loop's future depends on — weights,
optimizer, schedule and early-stopping state, the RNG streams, the epoch — so a
resumed CPU run writes the same metrics as one that was never interrupted.
Rows of metrics.csv after the checkpoint's epoch (written just before the run
died) are dropped and recomputed.
"""

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import torch

from runner.checkpoint import load_checkpoint

log = logging.getLogger("runner")


@dataclass
class ResumePoint:
    epoch: int = 0
    rows: List[dict] = field(default_factory=list)
    best_state: Optional[dict] = None
    best_row: Optional[dict] = None


def finished_results(run_dir: Path) -> Optional[dict]:
    path = Path(run_dir) / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return results if results.get("status") == "finished" else None


def restore(run_dir: Path, model, optimizer, scheduler, stopper, order: torch.Generator) -> ResumePoint:
    last = Path(run_dir) / "checkpoints" / "last.pt"
    if not last.exists():
        return ResumePoint()
    state = load_checkpoint(last)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state.get("scheduler", {}))
    stopper.load_state_dict(state["early_stopping"])
    torch.set_rng_state(state["rng"]["torch"])
    order.set_state(state["rng"]["order"])
    epoch = state["epoch"]
    rows = [row for row in _read_rows(Path(run_dir) / "metrics.csv") if row["epoch"] <= epoch]
    point = ResumePoint(epoch=epoch, rows=rows)
    best = Path(run_dir) / "checkpoints" / "best.pt"
    if best.exists() and stopper.best_epoch:
        point.best_state = load_checkpoint(best)["model"]
        point.best_row = next((r for r in rows if r["epoch"] == stopper.best_epoch), None)
    log.info(f"resuming {run_dir} after epoch {epoch}")
    return point


def _read_rows(path: Path) -> List[dict]:
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: _number(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(key: str, text: str):
    if text == "":
        return None
    return int(text) if key == "epoch" else float(text)
