"""Regularization shared by every model, as one flat group of keys.

Each regularizer becomes one of three things, so the training loop has no
branch for any of them:

- optimizer parameter groups: L2 weight decay (`param_groups`), in one of three
  conventions, weights only unless `l2_biases`;
- model structure: dropout rates and style, read by the model builders;
- step hooks (`build_hooks`): batch transforms (augmentation, input noise,
  weight noise), loss penalties (L1, a model's own penalty), calls after
  backward (gradient clipping) and after the optimizer step (max-norm).

"Weights" are the parameters with more than one dimension (linear and conv
kernels, recurrent matrices); biases and normalisation scales are 1-d. A "layer with
weights" is a module that owns weights itself (a Linear, a conv, an LSTM, an embedding),
in the model's order; the last is the output layer (max-norm's per-layer bounds).
Label smoothing is read by the loss (runner.build.losses.build_loss).
"""

import math
from dataclasses import dataclass, field
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from runner.config.regularization import RegularizationConfig, max_norm_bounds
from runner.errors import ConfigError


def is_weight(param: torch.Tensor) -> bool:
    return param.dim() > 1


def weight_decay(reg: RegularizationConfig, n_train: int, batch_size: int) -> float:
    """The optimizer weight decay that implements `reg.l2` under its convention.

    pytorch:     the gradient gets + l2 * w (PyTorch's weight_decay = l2).
    per_example: Nielsen's network2.py, w <- (1 - lr * l2 / n) w - lr * mean gradient,
                 i.e. the cost C0 + l2 / (2n) * sum w^2: weight_decay = l2 / n.
    per_batch:   Nielsen's network3.py, cost = mean NLL + 0.5 * l2 * sum w^2 / (n / batch),
                 i.e. weight_decay = l2 * batch / n.
    """
    if reg.l2_convention == "per_example":
        return reg.l2 / n_train
    if reg.l2_convention == "per_batch":
        return reg.l2 * batch_size / n_train
    return reg.l2


def param_groups(model: nn.Module, reg: RegularizationConfig, n_train: int, batch_size: int) -> List[dict]:
    """Weights get the L2 weight decay; biases (1-d parameters) too only if `reg.l2_biases`.
    Each group carries `decay` (whether regularization decays it), which AdamW reads."""
    decay = weight_decay(reg, n_train, batch_size)
    decayed, undecayed = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decayed if is_weight(param) or reg.l2_biases else undecayed).append(param)
    groups = [{"params": decayed, "weight_decay": decay, "decay": True}]
    if undecayed:
        groups.append({"params": undecayed, "weight_decay": 0.0, "decay": False})
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

    def backward(self, loss):
        """Backpropagate the loss plus every penalty, then run the gradient hooks (clipping, weight
        noise's removal); returns the penalised total. fit's step, lr-find and diagnose all train
        through this one sequence."""
        total = loss
        for penalty in self.penalties:
            total = total + penalty()
        total.backward()
        for hook in self.after_backward:
            hook()
        return total


def check_augmentation(reg: RegularizationConfig, input_shape: Tuple[int, ...]) -> None:
    """Before any compute: shifts, rotations and flips move pixels of images (C, H, W); inputs of
    another shape (a signal (C, L), a table's (F,)) are refused, naming the key."""
    if len(input_shape) == 3:
        return
    for key in ("augment_shift", "augment_rotate", "augment_flip"):
        if getattr(reg, key):
            raise ConfigError(
                f"regularization.{key}",
                f"augmentation needs images (C, H, W), and the data's inputs have shape {tuple(input_shape)}; "
                f"set regularization.{key}={'false' if key == 'augment_flip' else 0} or choose another regularization",
            )


def build_hooks(reg: RegularizationConfig, model: nn.Module) -> StepHooks:
    hooks = StepHooks()
    params = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in params if is_weight(p)]

    if reg.augment_shift or reg.augment_rotate:
        hooks.batch_transforms.append(lambda x: random_affine(x, reg.augment_shift, reg.augment_rotate))
    if reg.augment_flip:
        hooks.batch_transforms.append(random_flip)
    if reg.input_noise:
        hooks.batch_transforms.append(lambda x: x + reg.input_noise * torch.randn_like(x))
    if reg.weight_noise:
        noise = WeightNoise(weights, reg.weight_noise)
        hooks.batch_transforms.append(noise.add)  # before the forward pass
        hooks.after_backward.append(noise.remove)  # the step then moves the clean weights

    if callable(getattr(model, "penalty", None)):  # e.g. a sparse autoencoder's code penalty
        hooks.penalties.append(model.penalty)
    if reg.l1:
        hooks.penalties.append(lambda: reg.l1 * sum(w.abs().sum() for w in weights))

    if reg.clip_grad_value:
        hooks.after_backward.append(lambda: nn.utils.clip_grad_value_(params, reg.clip_grad_value))
    if reg.clip_grad_norm:
        hooks.after_backward.append(lambda: nn.utils.clip_grad_norm_(params, reg.clip_grad_norm))

    bounded = max_norm_layers(reg, model)
    if bounded:
        hooks.after_step.append(lambda: apply_max_norms(bounded))
    return hooks


def weighted_layers(model: nn.Module) -> List[Tuple[str, nn.Module, List[torch.Tensor]]]:
    """(name, module, its weights) of each module owning weights itself, in the model's order;
    a weight shared by two modules (tied embeddings) belongs to the first."""
    seen, layers = set(), []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad and is_weight(p) and id(p) not in seen]
        if own:
            seen.update(id(p) for p in own)
            layers.append((name, module, own))
    return layers


def max_norm_layers(reg: RegularizationConfig, model: nn.Module) -> List[Tuple[float, List[torch.Tensor]]]:
    """(bound, weights) of each layer max-norm constrains: every layer with weights, less the output
    layer with max_norm_output=false; one number bounds them all, a list one each in order (a
    list of the wrong length: ConfigError naming the count expected). Layers with bound 0 are left out."""
    if not any(max_norm_bounds(reg.max_norm)):
        return []
    layers = weighted_layers(model)
    free = None if reg.max_norm_output or not layers else layers.pop()
    bounds = max_norm_bounds(reg.max_norm)
    if not isinstance(reg.max_norm, (list, tuple)):
        bounds = bounds * len(layers)
    if len(bounds) != len(layers):
        named = ", ".join(_layer_name(layer) for layer in layers) or "none"
        left = f"; the output layer {_layer_name(free)} is left free (max_norm_output=false)" if free else ""
        raise ConfigError(
            "regularization.max_norm",
            f"{_count(len(bounds), 'bound')} given, and this model has {_count(len(layers), 'layer')} with "
            f"weights to bound ({named}{left}): give {_count(len(layers), 'bound')}, in that order, or one number for all",
        )
    return [(bound, weights) for bound, (_, _, weights) in zip(bounds, layers) if bound]


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _layer_name(layer) -> str:
    name, module, _ = layer
    return f"{type(module).__name__} {name}" if name else type(module).__name__


def check_max_norm(reg: RegularizationConfig, model: nn.Module) -> None:
    """The preflight's check (on the meta-device model): a list of bounds fits the model's layers."""
    max_norm_layers(reg, model)


# ---------------------------------------------------------------- the hooks


def apply_max_norms(bounded: List[Tuple[float, List[torch.Tensor]]]) -> None:
    for bound, weights in bounded:
        apply_max_norm(weights, bound)


@torch.no_grad()
def apply_max_norm(weights: List[torch.Tensor], max_norm: float) -> None:
    """Max-norm constraint (Srivastava et al. 2014): each unit's incoming weight
    vector (a row of a linear weight, one filter of a conv kernel) is scaled down
    to L2 norm max_norm when it is longer."""
    for w in weights:
        w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=max_norm))


class WeightNoise:
    """Gaussian weight noise (Graves 2011): each batch's forward and backward pass
    sees weights + N(0, std^2) noise; the noise is taken out again before the
    optimizer step, so the update moves the clean weights with the noisy gradient."""

    def __init__(self, weights: List[torch.Tensor], std: float):
        self.weights = weights
        self.std = std
        self.clean = None

    @torch.no_grad()
    def add(self, x: torch.Tensor) -> torch.Tensor:
        self.clean = [w.detach().clone() for w in self.weights]
        for w in self.weights:
            w.add_(torch.randn_like(w), alpha=self.std)
        return x

    @torch.no_grad()
    def remove(self) -> None:
        if self.clean is None:  # L-BFGS evaluates the closure again, on clean weights
            return
        for w, clean in zip(self.weights, self.clean):
            w.copy_(clean)
        self.clean = None


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Each image of the batch mirrored left-right (its last axis reversed) with probability 1/2,
    its own draw; torch.where, not a boolean index, so nothing waits for the device."""
    flipped = torch.rand(x.shape[0], device=x.device) < 0.5
    return torch.where(flipped.view(-1, *[1] * (x.dim() - 1)), x.flip(-1), x)


def shifted(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Image i moved by (dy[i], dx[i]) whole pixels, zero fill: the H x W window at (max_shift - dy,
    max_shift - dx) of the image padded with max_shift zeros, i.e. torchvision's RandomCrop(padding=
    max_shift). All windows of the padded batch are one view (unfold), so one gather copies them:
    ~6x faster than grid_sample on batches of 128 CIFAR images."""
    n, _, height, width = x.shape
    p = max_shift
    windows = F.pad(x, (p, p, p, p)).unfold(2, height, 1).unfold(3, width, 1)  # (N, C, 2p+1, 2p+1, H, W)
    rows, cols = (p - dy).long(), (p - dx).long()
    return windows.permute(0, 2, 3, 1, 4, 5)[torch.arange(n, device=x.device), rows, cols]


def random_affine(x: torch.Tensor, max_shift: int, max_degrees: float) -> torch.Tensor:
    """Shift every image of the batch by its own random whole number of pixels in
    [-max_shift, max_shift] along each axis and rotate it by its own random angle
    in [-max_degrees, max_degrees] about its centre; the uncovered border is zero.
    Pure shifts are exact (one gather: `shifted`); with rotations, one grid_sample
    for the whole batch, interpolating bilinearly."""
    if x.dim() != 4:
        raise ValueError(
            f"regularization.augment_*: augmentation needs image batches N x C x H x W, got shape {tuple(x.shape)}"
        )
    n, _, height, width = x.shape
    device = x.device
    dtype = x.dtype if x.is_floating_point() else torch.float32
    angle = (torch.rand(n, device=device, dtype=dtype) * 2 - 1) * math.radians(max_degrees)
    dx = torch.randint(-max_shift, max_shift + 1, (n,), device=device).to(dtype)
    dy = torch.randint(-max_shift, max_shift + 1, (n,), device=device).to(dtype)
    if not max_degrees:  # the same images grid_sample's nearest sampling at pixel centres gave
        return shifted(x, dy, dx, max_shift)
    # affine_grid maps each output location (normalised to [-1, 1]) to where it
    # samples the input. In pixels: p_in = R p_out - shift; normalised coordinates
    # scale x by 2/W and y by 2/H, which skews R unless the image is square.
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [
            torch.stack([cos, -sin * height / width, -2 * dx / width], dim=1),
            torch.stack([sin * width / height, cos, -2 * dy / height], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x.to(dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=False).to(x.dtype)
