"""A dataset as tensors held in memory (on the training device), batched by index."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch


@dataclass
class Split:
    x: torch.Tensor  # (N, C, H, W) float32
    y: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    def to(self, device, dtype=None) -> "Dataset":
        """On `device`; inputs in `dtype` when given (labels keep theirs)."""
        move = lambda s: Split(s.x.to(device, dtype), s.y.to(device))  # noqa: E731
        return Dataset(move(self.train), move(self.val), move(self.test), self.num_classes)


def byte_images(x: torch.Tensor, y: torch.Tensor, scale: float = 255.0) -> Split:
    """A split of uint8 images (N, C, H, W), pixels = byte / scale (255 as torchvision's ToTensor;
    MNIST's 256 is Nielsen's). Every image dataset builds its splits here."""
    return Split(x.float() / scale, y)


def cache_dir(root: Optional[str] = None) -> Path:
    return Path(root or os.environ.get("RUNNER_CACHE_DIR") or Path.home() / ".cache" / "runner")


def batches(n: int, batch_size: int, order: torch.Tensor):
    """Index slices of one epoch, in the given order (a permutation, or arange)."""
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
