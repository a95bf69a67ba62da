"""Checkpoints: plain tensors and numbers only, written atomically, loaded with weights_only=True."""

from pathlib import Path

import torch

from runner.io import atomic_torch_save


def save_checkpoint(run_dir: Path, model, optimizer, scheduler, stopper, order: torch.Generator, epoch: int, best: bool) -> None:
    folder = Path(run_dir) / "checkpoints"
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "early_stopping": stopper.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "order": order.get_state()},
    }
    atomic_torch_save(state, folder / "last.pt")
    if best:
        atomic_torch_save({"epoch": epoch, "model": state["model"]}, folder / "best.pt")


def load_checkpoint(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)
