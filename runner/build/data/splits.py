"""A dataset as tensors held in memory (on the training device), batched by index.

Colour images and larger (BYTES_FROM values per image) are held as uint8 bytes and each batch
is converted on the fly (`Split.inputs`): CIFAR-10's 70,000 images take 205 MiB so, 820 MiB as
float32, at no measurable cost per epoch of a conv net. Smaller images (MNIST's 28x28) are held
as float32, divided once: there a per-batch conversion cost a small MLP's epoch 5-7% to save
under 160 MiB (benchmarks/RESULTS.md, 2026-12-07). Other data (signals, tables) are float."""

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

import torch

Rows = Union[torch.Tensor, slice]


@dataclass
class Split:
    x: (
        torch.Tensor
    )  # (N, C, H, W) or (N, C, L) ...: float inputs, uint8 images when `scale` is set, token ids when `tokens` is
    y: torch.Tensor  # (N,) int64; for token ids (N, context) int64: each window's next tokens
    scale: Optional[float] = None  # uint8 x: the model's inputs are x / scale, converted batch by batch
    dtype: torch.dtype = torch.float32  # the float type inputs() converts uint8 x to (fp64 runs: float64)
    tokens: Optional[str] = None  # "char" or "word": x holds int64 token ids (N, context), never converted to float

    def __post_init__(self):
        if self.tokens is not None:
            if self.x.dtype != torch.int64 or self.y.dtype != torch.int64:
                raise TypeError(f"Split of token ids takes int64 x and y, got {self.x.dtype} and {self.y.dtype}")
            return
        if not self.x.is_floating_point() and self.scale is None:
            raise TypeError(
                f"Split of {self.x.dtype} inputs needs a scale (build it with byte_images; take rows with Split.take)"
            )

    def __len__(self) -> int:
        return len(self.y)

    def inputs(self, rows: Rows = slice(None), dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """The model's float inputs of the examples `rows` (an index tensor or a slice), in `dtype`
        (default: the split's). uint8 images become byte / scale here, computed in that dtype: in
        float32 exactly what dividing the whole split up front gave."""
        x = gather(self.x, rows)
        if self.tokens is not None:  # token ids stay int64: models embed them
            return x
        if self.scale is None:
            return x if dtype is None else x.to(dtype)
        return x.to(dtype or self.dtype).div_(self.scale)

    def take(self, rows: Rows) -> "Split":
        """The examples `rows`, stored as this split stores them."""
        return dataclasses.replace(self, x=self.x[rows], y=self.y[rows])

    def to(self, device, dtype: Optional[torch.dtype] = None) -> "Split":
        """On `device`; float inputs in `dtype` when given, uint8 images kept as bytes (their
        batches are converted to `dtype`); labels keep their type; token ids stay int64."""
        if self.tokens is not None:
            return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device))
        if self.scale is None:
            return dataclasses.replace(self, x=self.x.to(device, dtype), y=self.y.to(device))
        return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device), dtype=dtype or self.dtype)


def gather(x: torch.Tensor, rows: Rows) -> torch.Tensor:
    """x's rows in x's memory layout. index_select, not x[idx], on the usual layout: the same rows
    without advanced indexing's general path (on CPU about 13 -> 6 us for a batch of 10 MNIST
    images, ~4% of an MLP step). But index_select returns channels_last data (trainer.channels_last,
    C > 1) as an NCHW batch, which the channels_last convolutions then run slower on; x[idx] keeps
    the layout (64 CIFAR images on the CPU: the gather ~125 us either way, the first conv of
    Nielsen's net 2.8 ms instead of 3.6 ms; 2026-12-07)."""
    if not torch.is_tensor(rows):
        return x[rows]
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return x[rows]
    return x.index_select(0, rows)


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    num_classes: int
    vocabulary: Optional[List[str]] = None  # token data: id -> token (the run folder keeps it: vocab.json)
    class_names: Optional[List[str]] = None  # labels given as names: class i is class_names[i] (labels.json)

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    def to(self, device, dtype=None) -> "Dataset":
        """On `device`; inputs in `dtype` when given (uint8 images stay bytes, labels keep their type)."""
        return dataclasses.replace(
            self, train=self.train.to(device, dtype), val=self.val.to(device, dtype), test=self.test.to(device, dtype)
        )


BYTES_FROM = 3 * 32 * 32  # values per image from which images are held as bytes (CIFAR-10's and up)


def byte_images(x: torch.Tensor, y: torch.Tensor, scale: float = 255.0) -> Split:
    """A split of uint8 images (N, C, H, W), pixels = byte / scale (255 as torchvision's ToTensor;
    MNIST's 256 is Nielsen's). Every image dataset builds its splits here. Held as bytes and
    converted batch by batch from BYTES_FROM values per image, else as float32 divided once
    (the same numbers: byte / scale in float32 either way); all splits of a dataset alike."""
    if x.dtype != torch.uint8:
        raise TypeError(f"byte_images takes uint8 images, got {x.dtype}")
    if math.prod(x.shape[1:]) < BYTES_FROM:
        return Split(x.float() / scale, y)
    return Split(x, y, scale=float(scale))


def cache_dir(root: Optional[str] = None) -> Path:
    return Path(root or os.environ.get("RUNNER_CACHE_DIR") or Path.home() / ".cache" / "runner")


def batches(n: int, batch_size: int, order: torch.Tensor):
    """Index slices of one epoch, in the given order (a permutation, or arange)."""
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
