"""Loss functions by name (top-level `loss:` key)."""

from torch import nn

from runner.registry import Registry

LOSSES = Registry("loss")
LOSSES.add("cross_entropy", nn.CrossEntropyLoss)


def build_loss(name: str) -> nn.Module:
    return LOSSES.get(name, "loss")()
