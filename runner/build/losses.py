"""Loss functions by name (top-level `loss:` key).

A loss is called as loss_fn(output, target) on a batch, or on a whole epoch's
stacked outputs at once, and returns the mean over examples. For classifiers
`target` holds class indices (int64); for reconstructions it is the input
image (float). Losses that compare with a vector build the one-hot target of a
class index themselves.

    cross_entropy          softmax + log-likelihood (nn.CrossEntropyLoss)
    mse                    PyTorch's MSELoss (mean over every entry) on the raw outputs
    quadratic              Nielsen ch. 1: 1/2 ||sigmoid(z) - onehot(y)||^2, summed over outputs
    sigmoid_cross_entropy  Nielsen network2.py: binary cross-entropy of each sigmoid output, summed
    bce                    binary cross-entropy of outputs already in [0, 1] (autoencoders)
    hinge                  multi-class hinge, margin 1 (nn.MultiMarginLoss), for model=linear_svm

`regularization.label_smoothing` = s turns a one-hot target into
(1 - s) * onehot + s / classes for every loss that takes it (all but hinge).
"""

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from runner.config.losses import LOSS_KIND
from runner.errors import ConfigError
from runner.registry import Registry

LOSSES = Registry(LOSS_KIND)  # a loss for each name in runner/config/losses.py


def dense_target(output: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """The target as a tensor shaped like the output: one-hot (optionally smoothed)
    for class indices, the target itself (reshaped if needed) otherwise."""
    if not target.is_floating_point():
        onehot = F.one_hot(target, output.shape[1]).to(output.dtype)
        if label_smoothing:
            onehot = onehot * (1 - label_smoothing) + label_smoothing / output.shape[1]
        return onehot
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.reshape(output.shape)
    return target.to(output.dtype)


def _per_example_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum over everything but the batch dimension, mean over the batch."""
    return values.reshape(len(values), -1).sum(1).mean()


class MSELoss(nn.Module):
    """nn.MSELoss (mean over every entry) against one-hot targets for class indices.
    Over K outputs this is 2/K times Nielsen's quadratic cost on the same outputs."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, dense_target(output, target, self.label_smoothing))


class QuadraticLoss(nn.Module):
    """Nielsen's quadratic cost (ch. 1, network.py): the model's outputs z are
    sigmoid units' inputs, C = 1/2 ||sigmoid(z) - y||^2 summed over outputs and
    averaged over the batch. With 10 outputs that is 5x MSELoss on sigmoid(z),
    so Nielsen's eta = 3.0 is lr = 3.0 here (no rescaling needed)."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = torch.sigmoid(output) - dense_target(output, target, self.label_smoothing)
        return 0.5 * _per_example_sum(diff.pow(2))


class SigmoidCrossEntropyLoss(nn.Module):
    """Nielsen's cross-entropy cost (ch. 3, network2.py): each output is a sigmoid
    unit, C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], summed over outputs and
    averaged over the batch; computed from the logits (BCE-with-logits) for stability."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = dense_target(output, target, self.label_smoothing)
        return _per_example_sum(F.binary_cross_entropy_with_logits(output, target, reduction="none"))


class BCELoss(nn.Module):
    """Binary cross-entropy of outputs already in [0, 1] (a sigmoid output layer),
    averaged over every entry: the Keras autoencoders' `binary_crossentropy`."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = dense_target(output, target, self.label_smoothing)
        # BCE on probabilities is refused under autocast: compute it in float32 (or float64).
        dtype = torch.promote_types(output.dtype, torch.float32)
        with torch.autocast(device_type=output.device.type, enabled=False):
            try:
                return F.binary_cross_entropy(output.to(dtype), target.to(dtype))
            except RuntimeError as err:
                if "between 0 and 1" not in str(err):
                    raise
                raise ValueError(
                    "loss=bce needs model outputs in [0, 1] (a sigmoid output layer, e.g. an autoencoder's); "
                    "for a classifier's logits use loss=sigmoid_cross_entropy"
                ) from None


LOSSES.add("cross_entropy", nn.CrossEntropyLoss)
LOSSES.add("hinge", nn.MultiMarginLoss)  # multi-class hinge (margin 1), for model=linear_svm
LOSSES.add("mse", MSELoss)
LOSSES.add("quadratic", QuadraticLoss)
LOSSES.add("sigmoid_cross_entropy", SigmoidCrossEntropyLoss)
LOSSES.add("bce", BCELoss)


def _takes_label_smoothing(factory) -> bool:
    try:
        return "label_smoothing" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def check_loss(name: str, reg) -> None:
    """ConfigError unless the loss exists and supports the regularization asked of it."""
    factory = LOSSES.get(name, "loss")
    if getattr(reg, "label_smoothing", 0.0) and not _takes_label_smoothing(factory):
        with_it = ", ".join(n for n in LOSSES.names() if _takes_label_smoothing(LOSSES.get(n)))
        raise ConfigError(
            "regularization.label_smoothing",
            f"loss '{name}' has no label smoothing; use one of: {with_it}, or label_smoothing=0",
        )


def build_loss(name: str, reg=None) -> nn.Module:
    """The loss `name`, with `reg.label_smoothing` when it is set."""
    check_loss(name, reg)
    factory = LOSSES.get(name, "loss")
    smoothing = getattr(reg, "label_smoothing", 0.0)
    return factory(label_smoothing=smoothing) if smoothing else factory()
