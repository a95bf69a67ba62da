"""Convolutional network: a stack of conv blocks, then fully-connected layers.
The convolutions follow the data: 2-D on images (C, H, W), 1-D on signals (C, L) such as
MNIST-1D's (1, 40), with the same keys (a kernel of k is k x k on an image, k long on a signal).

    [input dropout] -> (Conv -> [BatchNorm] -> activation -> [pool]) x len(conv)
    -> flatten -> ([dropout] -> Linear -> [BatchNorm] -> activation) x len(fc)
    -> [dropout] -> Linear (the class scores)

Dropout lives on the fully-connected part and drops each FC layer's input (the
flattened conv features, each hidden FC layer's output): `regularization.dropout`
everywhere there, or one rate per FC layer input from `model.dropout`. Shapes
are worked out at build time so that a kernel or pool that does not fit the
feature map fails with the layer's name, before any data is touched.
"""

from typing import List

from torch import nn

from runner.build.models.layers import (
    classifier_output,
    conv_block,
    conv_out,
    dense_block,
    flat_size,
    fmt,
    layer_dropouts,
    make_dropout,
    signal_or_image_shape,
)
from runner.build.models.registry import MODELS
from runner.config.models.cnn import CNNConfig, ConvLayerConfig
from runner.errors import ConfigError


def _window(size: int, dims: int) -> str:
    """A kernel or pooling window as the user reads it: 5x5 on images, 5 on signals."""
    return "x".join([str(size)] * dims)


def _fit_conv(i: int, layer: ConvLayerConfig, hw, input_shape):
    """The feature map's size ((height, width), or (length,) on signals) after conv layer i and its
    pooling, or a ConfigError naming the layer."""
    dims = len(hw)
    padded = tuple(s + 2 * layer.padding for s in hw)
    if layer.kernel > min(padded):
        raise ConfigError(
            f"model.conv[{i}].kernel",
            f"the {_window(layer.kernel, dims)} kernel of conv layer {i} is larger than the {fmt(hw)} feature map it receives"
            + (f" ({fmt(padded)} with padding {layer.padding})" if layer.padding else "")
            + f" from inputs of shape {tuple(input_shape)}; use a smaller kernel, more padding, fewer or smaller pools, or larger inputs",
        )
    hw = tuple(conv_out(s, layer.kernel, layer.stride, layer.padding) for s in hw)
    if layer.pool > min(hw):
        raise ConfigError(
            f"model.conv[{i}].pool",
            f"the {_window(layer.pool, dims)} pooling window of conv layer {i} is larger than the {fmt(hw)} map its convolution outputs"
            f" (inputs of shape {tuple(input_shape)}); use pool: 1 there or fewer/smaller pools before it",
        )
    if layer.pool > 1:
        stride = layer.pool_stride or layer.pool
        hw = tuple(conv_out(s, layer.pool, stride) for s in hw)
    return hw


@MODELS.register("cnn")
def build_cnn(cfg: CNNConfig, reg, input_shape, num_outputs) -> nn.Module:
    channels, *hw = signal_or_image_shape(input_shape, "cnn")
    hw, dims = tuple(hw), len(hw)
    pools = {1: (nn.MaxPool1d, nn.AvgPool1d), 2: (nn.MaxPool2d, nn.AvgPool2d)}[dims]
    Pool = pools[0] if cfg.pooling == "max" else pools[1]
    layers: List[nn.Module] = []
    if reg.input_dropout:
        layers.append(make_dropout(reg.input_dropout, reg))
    for i, layer in enumerate(cfg.conv):
        hw = _fit_conv(i, layer, hw, input_shape)
        block = conv_block(
            channels,
            layer.channels,
            layer.kernel,
            layer.stride,
            layer.padding,
            cfg.activation,
            cfg.maxout_pieces,
            cfg.batch_norm,
            dims,
        )
        block[0].pool_area = layer.pool**dims  # for the nielsen3 init
        layers += block
        if layer.pool > 1:
            layers.append(Pool(layer.pool, stride=layer.pool_stride or layer.pool))
        channels = layer.channels
    layers.append(nn.Flatten())
    width = channels * flat_size(hw)
    rates = layer_dropouts(cfg.dropout, len(cfg.fc) + 1, reg.dropout, reg.dropout)
    for i, units in enumerate(cfg.fc):
        if rates[i]:
            layers.append(make_dropout(rates[i], reg))
        layers += dense_block(width, units, cfg.activation, cfg.maxout_pieces, cfg.batch_norm)
        width = units
    return classifier_output(layers, width, num_outputs, rates[-1], reg, cfg.init, cfg.activation)
