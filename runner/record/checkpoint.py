"""Checkpoints: plain tensors and numbers only, written atomically, loaded with weights_only=True.

Each write keeps the file it replaces as <name>.prev.pt (last.prev.pt, best.prev.pt),
so a last.pt damaged after it was written (a truncated copy, a failing disk) still
leaves the epoch before it to resume from (runner/fit/resume.py). The previous file is
hard-linked to its new name before the new one is renamed over the old name: at
every moment both names hold a whole checkpoint.

best.pt is written before last.pt: last.pt is the epoch's commit point. A process
killed between the two leaves last.pt at the epoch before, whose best epoch's
weights are then in best.pt or best.prev.pt.
"""

import os
import pickle
import re
import shutil
import warnings
from pathlib import Path

import torch

from runner.errors import CheckpointError
from runner.io import atomic_torch_save
from runner.record.run_folder import RunFolder


def save_checkpoint(
    run_dir: Path,
    model,
    optimizer,
    scheduler,
    stopper,
    order: torch.Generator,
    epoch: int,
    best: bool,
    elapsed_s: float,
) -> None:
    """elapsed_s: the run's wall time so far, over every process that worked on it (a resumed run adds to it)."""
    folder = RunFolder(run_dir)
    state = {
        "epoch": epoch,
        "elapsed_s": elapsed_s,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "early_stopping": stopper.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "order": order.get_state()},
    }
    if best:
        replace_keeping_previous({"epoch": epoch, "model": state["model"]}, folder.checkpoint("best"))
    replace_keeping_previous(state, folder.checkpoint("last"))


def previous_of(path: Path) -> Path:
    """checkpoints/last.pt -> checkpoints/last.prev.pt"""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def replace_keeping_previous(obj, path: Path) -> None:
    path = Path(path)
    if path.exists():
        keep = path.with_name(f".{previous_of(path).name}.tmp")
        keep.unlink(missing_ok=True)  # left by a process killed right here
        try:
            os.link(path, keep)  # no copy: the old file lives on under the new name
        except OSError:  # a filesystem without hard links
            try:
                shutil.copyfile(path, keep)
            except BaseException:  # a full disk: no torn copy left behind (the error names the file)
                keep.unlink(missing_ok=True)
                raise
        os.replace(keep, previous_of(path))
    atomic_torch_save(obj, path)


def load_checkpoint(path, keys=()) -> dict:
    """A checkpoint read as data, or CheckpointError saying why not (one line naming the file).

    weights_only=True: the unpickler rebuilds tensors, numbers, strings and containers and
    nothing else, so a file that asks to import or call anything (a pickled `os.system`) is
    refused before any of it runs. Every checkpoint is loaded here: resume, evaluate, init_from.
    `keys`: entries the caller needs (e.g. "model")."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notices: the error below says it all
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        code = re.search(r"unsupported GLOBAL (\S+)", str(err)) or re.search(
            r"Unsupported global: GLOBAL (\S+)", str(err)
        )
        if code:
            raise CheckpointError(
                path,
                f"refused: it asks to import {code.group(1).rstrip('.')}, and a checkpoint must hold tensors and numbers only (a tampered or foreign file; nothing in it was run)",
            ) from None
        raise CheckpointError(
            path,
            "not a checkpoint runner can read: not a torch.save file of tensors and numbers (corrupt, tampered with, or another format)",
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, IndexError, TypeError, AttributeError, OSError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            path, f"not a checkpoint runner can read (truncated, corrupt or not a torch file): {first}"
        ) from None
    missing = [key for key in keys if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(path, f"not a runner checkpoint: it has no {', '.join(repr(k) for k in missing)} entry")
    return state


def load_weights(model: torch.nn.Module, state: dict, path) -> None:
    """Load a state dict into `model`, or CheckpointError naming the file and the first layers that
    differ (a checkpoint of another architecture, or of other data: other input size or classes)."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "its 'model' entry is not a state dict of tensors")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(
                ", ".join(
                    f"{k} is {_shape(state[k])} in the file but {_shape(own[k])} in the model" for k in mismatched[:2]
                )
            )
        if missing:
            parts.append(
                f"the model's {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} missing from the file"
            )
        if unexpected:
            parts.append(
                f"the file's {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''} unknown to the model"
            )
        raise CheckpointError(
            path,
            "holds the weights of another model (another architecture, or other input size or classes): "
            + "; ".join(parts),
        )
    model.load_state_dict(state)


def _shape(tensor) -> str:
    return "x".join(str(s) for s in tensor.shape) or "a scalar"
