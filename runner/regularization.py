"""Regularization settings shared by every model: L2 weight decay and dropout.

Dropout rates are read by the model builders; L2 becomes optimizer parameter
groups so that biases (and other 1-d parameters) can be left undecayed, as in
the textbooks.
"""

from dataclasses import dataclass, field

from torch import nn

from runner.errors import require


@dataclass
class RegularizationConfig:
    l2: float = 0.0
    l2_biases: bool = False
    dropout: float = 0.0
    input_dropout: float = 0.0

    def __post_init__(self):
        require(self.l2 >= 0, "l2", f"must be >= 0, got {self.l2}")
        for key in ("dropout", "input_dropout"):
            rate = getattr(self, key)
            require(0 <= rate < 1, key, f"a drop probability in [0, 1), got {rate}")


def param_groups(model: nn.Module, reg: RegularizationConfig):
    """Weights get `reg.l2` as weight decay; biases too only if `reg.l2_biases`."""
    decayed, undecayed = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decayed if param.dim() > 1 or reg.l2_biases else undecayed).append(param)
    groups = [{"params": decayed, "weight_decay": reg.l2}]
    if undecayed:
        groups.append({"params": undecayed, "weight_decay": 0.0})
    return groups


@dataclass
class StepHooks:
    """What regularizers add to a training step, as lists the loop runs in order:
    batch transforms (noise, augmentation) on the inputs, penalties added to the
    loss, and calls after backward (gradient clipping) and after the step (max-norm)."""

    batch_transforms: list = field(default_factory=list)
    penalties: list = field(default_factory=list)
    after_backward: list = field(default_factory=list)
    after_step: list = field(default_factory=list)


def build_hooks(reg: RegularizationConfig, model: nn.Module) -> StepHooks:
    hooks = StepHooks()
    if callable(getattr(model, "penalty", None)):  # e.g. a sparse autoencoder's code penalty
        hooks.penalties.append(model.penalty)
    return hooks
