"""How a run's tensors are typed and laid out: trainer.precision=fp64 as the default dtype, and
trainer.channels_last for CNNs. Decided once, when the parts are assembled (runner/build/assemble.py),
so that training (runner/fit/) and `runner evaluate` (runner/analyse/) compute alike."""

import contextlib
import dataclasses

import torch
from torch import nn

CONV_LAYERS = (nn.Conv2d, nn.ConvTranspose2d)


# ---------------------------------------------------------------- fp64


@contextlib.contextmanager
def default_dtype(precision: str):
    """trainer.precision=fp64: float64 as torch's default dtype for the run (parameters, data,
    noise, penalties), put back after it, so that runs of a sweep in one process stay apart."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if precision == "fp64" else before)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


# ---------------------------------------------------------------- channels_last


def is_cnn(model: nn.Module) -> bool:
    return any(isinstance(m, CONV_LAYERS) for m in model.modules())


def wants_channels_last(setting: str, model: nn.Module, device: torch.device, precision: str) -> bool:
    """auto: on for CNNs on CUDA (tensor-core convolutions want NHWC) and on the CPU in fp32,
    where oneDNN's NHWC convolutions were 1.1-2x faster on every CNN we measured (Nielsen's
    at batch 10: 1.4x; benchmarks/RESULTS.md) but slower in fp64 (0.87x); true: on for CNNs
    anywhere."""
    if setting == "auto":
        return is_cnn(model) and (device.type == "cuda" or precision == "fp32")
    return is_cnn(model) and setting == "true"


def to_channels_last(model: nn.Module, data):
    """Conv weights and the resident image data in channels_last, once: batches sliced or
    indexed from the data keep that layout, so no step converts anything."""
    model.to(memory_format=torch.channels_last)  # in place: the Parameter objects stay the same

    def convert(split):
        return (
            dataclasses.replace(split, x=split.x.contiguous(memory_format=torch.channels_last))
            if split.x.dim() == 4
            else split
        )

    return dataclasses.replace(data, train=convert(data.train), val=convert(data.val), test=convert(data.test))
