"""Building blocks shared by the model builders: dropout in both styles, dense and
conv blocks (which know that maxout widens the layer before it), residual
connections, images read as sequences, and the shape arithmetic of conv layers."""

from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from runner.build.models.activations import make_activation, width_factor
from runner.config.regularization import DROPOUT_STYLES
from runner.errors import ConfigError


class ScaleAtTestDropout(nn.Module):
    """Dropout as in Nielsen's network3.py: in training, each unit is zeroed with
    probability p and the survivors are NOT rescaled; at test time every unit is
    scaled by (1 - p) instead. Equal in expectation to PyTorch's (inverted) dropout."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return x * torch.empty_like(x).bernoulli_(1 - self.p)
        return x * (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def make_dropout(p: float, reg) -> nn.Module:
    """A dropout layer of rate p in the style `regularization.dropout_style` asks for
    (`inverted` when the key is absent); Identity when p is 0."""
    style = getattr(reg, "dropout_style", "inverted")
    if style not in DROPOUT_STYLES:
        raise ConfigError(
            "regularization.dropout_style", f"unknown style '{style}'; choose one of: {', '.join(DROPOUT_STYLES)}"
        )
    if not p:
        return nn.Identity()
    return nn.Dropout(p) if style == "inverted" else ScaleAtTestDropout(p)


def layer_dropouts(per_layer: Optional[Sequence[float]], n_layers: int, first: float, rest: float) -> List[float]:
    """Rates dropping the input of each of n_layers layers: the model's own list when
    given, else `first` for the first layer and `rest` for the others."""
    if per_layer is not None:
        return list(per_layer)
    return [first] + [rest] * (n_layers - 1)


class Residual(nn.Module):
    """x + body(x): a skip connection around a block that keeps the width."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def dense_block(
    width_in: int, width_out: int, activation: str, pieces: int = 2, batch_norm: bool = False
) -> List[nn.Module]:
    """Linear -> [BatchNorm] -> activation, `width_out` units after the activation
    (maxout needs `pieces` times as many linear units before it)."""
    wide = width_out * width_factor(activation, pieces)
    layers: List[nn.Module] = [nn.Linear(width_in, wide)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(wide))
    layers.append(make_activation(activation, pieces))
    return layers


def conv_block(
    channels_in: int,
    channels_out: int,
    kernel: int,
    stride: int,
    padding: int,
    activation: str,
    pieces: int = 2,
    batch_norm: bool = False,
    dims: int = 2,
) -> List[nn.Module]:
    """Conv -> [BatchNorm] -> activation, `channels_out` maps after the activation; 2-D (images)
    or 1-D (signals shaped (C, L)) by `dims`."""
    wide = channels_out * width_factor(activation, pieces)
    Conv, BatchNorm = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
    layers: List[nn.Module] = [Conv(channels_in, wide, kernel, stride=stride, padding=padding)]
    if batch_norm:
        layers.append(BatchNorm(wide))
    layers.append(make_activation(activation, pieces))
    return layers


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling along one axis (PyTorch's floor rule)."""
    return (size + 2 * padding - kernel) // stride + 1


def fmt(sizes: Tuple[int, ...]) -> str:
    """A feature map's size as the user reads it: 24x24 for an image, 40 for a signal."""
    return "x".join(str(s) for s in sizes)


def image_shape(input_shape: Sequence[int], model: str) -> Tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ConfigError(
            "model.name",
            f"{model} needs images shaped (channels, height, width), got inputs of shape {tuple(input_shape)}",
        )
    c, h, w = input_shape
    return int(c), int(h), int(w)


def signal_or_image_shape(input_shape: Sequence[int], model: str) -> Tuple[int, ...]:
    """(channels, length) of a 1-D signal or (channels, height, width) of an image: what a
    convolutional or recurrent model adapts to (1-D or 2-D convolutions, steps along L or H)."""
    if len(input_shape) not in (2, 3):
        raise ConfigError(
            "model.name",
            f"{model} needs signals shaped (channels, length) or images shaped (channels, height, width), got inputs of shape {tuple(input_shape)}",
        )
    return tuple(int(s) for s in input_shape)


def flat_size(input_shape: Sequence[int]) -> int:
    width = 1
    for size in input_shape:
        width *= int(size)
    return width


class ImageToSequence(nn.Module):
    """(N, C, H, W) images -> (N, steps, features) sequences: `rows` gives H steps of
    C*W values (sequential MNIST: 28 rows of 28 pixels); `pixels` gives H*W steps of C values.
    A 1-D signal (N, C, L) gives L steps of C values in either mode (MNIST-1D: 40 steps of 1)."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return x.transpose(1, 2)
        n, c, h, w = x.shape
        if self.mode == "rows":
            return x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        return x.reshape(n, c, h * w).transpose(1, 2)

    def extra_repr(self) -> str:
        return self.mode


def classifier_output(
    layers: List[nn.Module], width: int, num_outputs: int, last_rate: float, reg, init: str, activation: str
) -> nn.Sequential:
    """Close a feed-forward stack: [dropout] -> Linear class scores, then initialise
    the whole net (schemes such as nielsen3 treat that last layer specially)."""
    from runner.build.models.init import initialise

    if last_rate:
        layers.append(make_dropout(last_rate, reg))
    output = nn.Linear(width, num_outputs)
    layers.append(output)
    model = nn.Sequential(*layers)
    initialise(model, init, activation, output=output)
    return model
