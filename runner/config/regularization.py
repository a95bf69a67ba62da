"""The regularization group's schema (one shape: every member of conf/regularization/ sets some
of these keys); what each key does to a run is built in runner/build/regularization.py."""

from dataclasses import dataclass
from typing import Any

from runner.errors import require

L2_CONVENTIONS = ("pytorch", "per_example", "per_batch")
DROPOUT_STYLES = ("inverted", "scale_at_test")


@dataclass
class RegularizationConfig:
    # L2 weight decay (optimizer parameter groups)
    l2: float = 0.0
    l2_convention: str = (
        "pytorch"  # pytorch: decay = l2; per_example: l2 / n_train; per_batch: l2 * batch_size / n_train
    )
    l2_biases: bool = False
    # L1 penalty l1 * sum|w| on weights, added to each batch's (mean) loss
    l1: float = 0.0
    # dropout (built into the model)
    dropout: float = 0.0
    input_dropout: float = 0.0
    dropout_style: str = "inverted"  # inverted (PyTorch) | scale_at_test (Nielsen's network3)
    # constraints and gradient clipping
    # > 0: after each step, rescale each unit's incoming weight vector to norm <= max_norm. A number
    # bounds every layer with weights; a list gives one bound per such layer, in order (0 = that layer free)
    max_norm: Any = 0.0
    max_norm_output: bool = True  # false: the output layer's weights stay unconstrained (true: as before)
    clip_grad_norm: float = 0.0  # > 0: rescale all gradients together to total L2 norm <= this
    clip_grad_value: float = 0.0  # > 0: clamp every gradient entry to [-this, this]
    # noise (training batches only)
    input_noise: float = 0.0  # std of Gaussian noise added to the inputs
    weight_noise: float = 0.0  # std of Gaussian noise added to the weights for each batch's forward/backward
    # data augmentation (training batches only, image inputs N x C x H x W; each image its own draw)
    augment_shift: int = 0  # random translation of up to this many pixels along each axis (zero fill):
    # without rotation exactly a random crop of the image padded with this many zeros on each side
    augment_rotate: float = 0.0  # random rotation by up to +/- this many degrees
    augment_flip: bool = False  # mirror each image left-right with probability 1/2
    # the loss's targets
    label_smoothing: float = 0.0  # cross_entropy (and the one-hot losses): target (1 - s) * onehot + s / classes

    def __post_init__(self):
        check_max_norm_bounds(self.max_norm)
        for key in (
            "l2",
            "l1",
            "clip_grad_norm",
            "clip_grad_value",
            "input_noise",
            "weight_noise",
            "augment_rotate",
        ):
            value = getattr(self, key)
            require(value >= 0, key, f"must be >= 0 (0 = off), got {value}")
        require(
            self.l2_convention in L2_CONVENTIONS,
            "l2_convention",
            f"unknown convention '{self.l2_convention}'; choose one of: {', '.join(L2_CONVENTIONS)}",
        )
        for key in ("dropout", "input_dropout"):
            rate = getattr(self, key)
            require(0 <= rate < 1, key, f"a drop probability in [0, 1), got {rate}")
        require(
            self.dropout_style in DROPOUT_STYLES,
            "dropout_style",
            f"unknown style '{self.dropout_style}'; choose one of: {', '.join(DROPOUT_STYLES)}",
        )
        require(
            self.augment_shift >= 0, "augment_shift", f"a number of pixels >= 0 (0 = off), got {self.augment_shift}"
        )
        require(self.augment_rotate <= 180, "augment_rotate", f"degrees in [0, 180], got {self.augment_rotate}")
        require(0 <= self.label_smoothing < 1, "label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")


def check_max_norm_bounds(max_norm) -> None:
    """A number >= 0, or a list of them (one per layer with weights; the model says how many)."""
    bounds = max_norm if isinstance(max_norm, (list, tuple)) else [max_norm]
    for bound in bounds:
        number = isinstance(bound, (int, float)) and not isinstance(bound, bool)
        require(
            number and bound >= 0,
            "max_norm",
            f"a bound >= 0 (0 = off) or a list of bounds, one per layer with weights; got {max_norm!r}",
        )
    require(len(bounds) > 0, "max_norm", "an empty list bounds no layer; give one bound per layer, or 0 for none")


def max_norm_bounds(max_norm) -> list:
    """The bounds as a list, or one number standing for every layer (a list of one)."""
    return list(max_norm) if isinstance(max_norm, (list, tuple)) else [max_norm]
