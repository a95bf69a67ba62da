"""Activation functions by name (`model.activation`).

`maxout` is the one activation that changes a layer's width: a maxout unit is
the max of k linear pieces, so the layer before it must produce k times as many
units (or channels). Builders ask `width_factor(name, pieces)` for that k and
widen the preceding Linear/Conv layer; the Maxout module then reduces each group
of k consecutive units (channels) to their maximum.
"""

import torch
from torch import nn

from runner.config.models.names import ACTIVATION_KIND
from runner.registry import Registry


class Maxout(nn.Module):
    """Max over groups of `pieces` consecutive features along dim 1 ((N, k*F) or (N, k*C, H, W))."""

    def __init__(self, pieces: int = 2):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (-1, self.pieces)).amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


ACTIVATIONS = Registry(ACTIVATION_KIND)  # a module for each name in runner/config/models/names.py
ACTIVATIONS.add("relu", nn.ReLU)
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU)
ACTIVATIONS.add("elu", nn.ELU)
ACTIVATIONS.add("gelu", nn.GELU)
ACTIVATIONS.add("tanh", nn.Tanh)
ACTIVATIONS.add("sigmoid", nn.Sigmoid)
ACTIVATIONS.add("linear", nn.Identity)
ACTIVATIONS.add("maxout", Maxout)


def width_factor(name: str, pieces: int = 2) -> int:
    """How many units the preceding layer needs per output unit of this activation."""
    return pieces if name == "maxout" else 1


def make_activation(name: str, pieces: int = 2) -> nn.Module:
    build = ACTIVATIONS.get(name, "model.activation")
    return build(pieces) if name == "maxout" else build()
