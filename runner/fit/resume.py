"""Continue a run folder from its last checkpoint (a cut-off sweep point, a killed job).

The checkpoint holds everything the loop's future depends on — weights,
optimizer, schedule and early-stopping state, the RNG streams, the epoch — so a
resumed CPU run writes the same metrics as one that was never interrupted.
Rows of metrics.csv after the checkpoint's epoch (written just before the run
died) are dropped and recomputed. A metrics.csv that does not parse, or lacks an
epoch up to the checkpoint's, is refused in one line (exit 2) with the folder untouched.

A last.pt that cannot be read (truncated, corrupt) is reported in one log line and
the run continues from last.prev.pt, the epoch before (runner/record/checkpoint.py keeps
it); if neither can be read the run starts over, which with the same seed ends
the same. The best epoch's weights come from best.pt or best.prev.pt, whichever
holds that epoch.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import torch

from runner.config.metric_names import EPOCH, SECONDS
from runner.errors import CheckpointError, RunFault
from runner.record.checkpoint import load_checkpoint, load_weights, previous_of
from runner.record.run_folder import RunFolder

log = logging.getLogger("runner")


@dataclass
class ResumePoint:
    epoch: int = 0
    rows: List[dict] = field(default_factory=list)
    best_state: Optional[dict] = None
    best_row: Optional[dict] = None
    elapsed_s: float = 0.0  # wall time of the processes before this one, up to the checkpoint


def restore(run_dir: Path, model, optimizer, scheduler, stopper, order: torch.Generator) -> ResumePoint:
    run = RunFolder(run_dir)
    last = run.checkpoint("last")
    state = _readable_last(last)
    if state is None:
        return ResumePoint()
    load_weights(model, state["model"], last)  # another architecture: a clear CheckpointError
    _load_training_state(state, last, optimizer, scheduler, stopper)
    torch.set_rng_state(state["rng"]["torch"])
    order.set_state(state["rng"]["order"])
    epoch = state["epoch"]
    rows = _rows_up_to(run, epoch)
    # Checkpoints written before elapsed_s was kept: the epochs' training time is the best lower bound.
    elapsed = state.get("elapsed_s", sum(row.get(SECONDS) or 0.0 for row in rows))
    point = ResumePoint(epoch=epoch, rows=rows, elapsed_s=float(elapsed))
    if stopper.best_epoch:
        point.best_state = _best_weights(run.checkpoint("best"), stopper.best_epoch)
        if point.best_state is not None:
            point.best_row = next((r for r in rows if r[EPOCH] == stopper.best_epoch), None)
    log.info(f"resuming {run_dir} after epoch {epoch}")
    return point


def _load_training_state(state: dict, path: Path, optimizer, scheduler, stopper) -> None:
    """Optimizer, schedule and early-stopping state, or a CheckpointError saying why they do not fit.

    Same weights but another optimizer layout happens when the checkpoint was written by another
    optimizer config or runner version (e.g. a different split into parameter groups)."""
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError, TypeError) as err:
        saved = state["optimizer"].get("param_groups", []) if isinstance(state["optimizer"], dict) else []
        raise CheckpointError(
            path,
            f"its optimizer state does not fit this run ({len(saved)} parameter group(s) in the file, "
            f"{len(optimizer.param_groups)} in this run: {str(err).rstrip('.')}); it was written with another "
            "optimizer config or runner version. Continue it with the version that started it, or move the "
            "folder away to start over",
        ) from None
    try:
        scheduler.load_state_dict(state.get("scheduler", {}))
        stopper.load_state_dict(state["early_stopping"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(
            path,
            f"its schedule or early-stopping state does not fit this run ({err!r}): written with another config or runner version",
        ) from None


LAST_KEYS = ("epoch", "model", "optimizer", "early_stopping", "rng")


def _readable_last(last: Path) -> Optional[dict]:
    """last.pt, or last.prev.pt when last.pt is unreadable; None: nothing to resume from."""
    previous = previous_of(last)
    if not last.exists() and not previous.exists():
        return None
    state, problem = _load(last, LAST_KEYS)
    if state is not None:
        return state
    fallback, fallback_problem = _load(previous, LAST_KEYS)
    where = f"{last.parent.name}/{last.name}"
    if fallback is not None:
        log.warning(
            f"{where} is unreadable ({problem}): resuming from {previous.name} instead (epoch {fallback['epoch']}; the epochs after it are redone)"
        )
        return fallback
    log.warning(
        f"{where} is unreadable ({problem}) and so is {previous.name} ({fallback_problem}): starting this run over"
    )
    return None


def _best_weights(best: Path, epoch: int) -> Optional[dict]:
    """The weights of the best epoch: best.pt, or best.prev.pt when the run stopped between writing the two."""
    problems = []
    for path in (best, previous_of(best)):
        state, problem = _load(path, ("epoch", "model"))
        if state is not None and state["epoch"] == epoch:
            return state["model"]
        problems.append(f"{path.name}: {problem or 'holds epoch ' + str(state['epoch'])}")
    log.warning(
        f"no checkpoint holds the weights of the best epoch {epoch} ({'; '.join(problems)}): the test uses the last weights unless a later epoch is better"
    )
    return None


def _load(path: Path, keys) -> Tuple[Optional[dict], Optional[str]]:
    """(checkpoint, None), or (None, what is wrong with it in a few words)."""
    if not path.exists():
        return None, "missing"
    try:
        return load_checkpoint(path, keys), None
    except CheckpointError as err:  # truncated, corrupt, refused, or entries missing
        return None, err.problem
    except Exception as err:  # anything else torch raises on a damaged file
        text = str(err).strip().splitlines()
        return None, f"{type(err).__name__}: {text[0] if text else 'no details'}"


def _rows_up_to(run: RunFolder, epoch: int) -> List[dict]:
    """metrics.csv's rows of epochs 1..epoch. Each epoch's row is written before its checkpoint, so
    a missing or repeated one means the file is not this run's: refused, not resumed with a gap."""
    rows = [row for row in run.metric_rows() if row[EPOCH] <= epoch]  # a row that does not parse: RunFault
    if [row[EPOCH] for row in rows] != list(range(1, epoch + 1)):
        held = ", ".join(str(row[EPOCH]) for row in rows) or "none"
        raise RunFault(
            f"{run.metrics_file}: holds epochs {held} up to the checkpoint's epoch {epoch}, not 1 to {epoch}; repair it, or move the folder away to start over",
            2,
        )
    return rows


class ResumeFolderError(ValueError):
    pass


def expand_resume_folder(args: List[str], multirun: bool) -> List[str]:
    """`trainer.resume=<run dir>` means: that folder's own command line again, with
    trainer.resume=auto and hydra.run.dir=<run dir>, so the run continues where it stopped."""
    out, folder = [], None
    for arg in args:
        key, _, value = arg.partition("=")
        if key.lstrip("+") == "trainer.resume" and value not in ("never", "auto"):
            folder = Path(value)
        else:
            out.append(arg)
    if folder is None:
        return args
    if multirun:
        raise ResumeFolderError("trainer.resume=<run dir> continues one run; for a sweep use trainer.resume=auto")
    run = RunFolder(folder)
    if not run.checkpoint("last").exists() and not run.results_file.exists():
        raise ResumeFolderError(
            f"trainer.resume: {folder} holds no run to continue (no checkpoints/last.pt); choose never, auto or a run folder"
        )
    try:
        # Untrusted (the folder may be someone else's): strings only here, then runner/cli.py puts them
        # through the same preflight check as the command line (code-naming keys, escaping paths).
        saved = run.overrides()
    except ValueError as err:
        raise ResumeFolderError(f"trainer.resume: {err}") from None
    original = [o for o in saved if not o.lstrip("+").startswith(("trainer.resume=", "hydra.run.dir="))]
    return [*original, *out, "trainer.resume=auto", f"hydra.run.dir={folder}"]
