"""Convolutional network: a stack of conv blocks, then fully-connected layers.

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
    fmt,
    image_shape,
    layer_dropouts,
    make_dropout,
)
from runner.build.models.registry import MODELS
from runner.config.models.cnn import CNNConfig, ConvLayerConfig
from runner.errors import ConfigError


def _fit_conv(i: int, layer: ConvLayerConfig, hw, input_shape):
    """(height, width) after conv layer i and its pooling, or a ConfigError naming the layer."""
    padded = (hw[0] + 2 * layer.padding, hw[1] + 2 * layer.padding)
    if layer.kernel > min(padded):
        raise ConfigError(
            f"model.conv[{i}].kernel",
            f"the {layer.kernel}x{layer.kernel} kernel of conv layer {i} is larger than the {fmt(hw)} feature map it receives"
            + (f" ({fmt(padded)} with padding {layer.padding})" if layer.padding else "")
            + f" from inputs of shape {tuple(input_shape)}; use a smaller kernel, more padding, fewer or smaller pools, or larger inputs",
        )
    hw = (
        conv_out(hw[0], layer.kernel, layer.stride, layer.padding),
        conv_out(hw[1], layer.kernel, layer.stride, layer.padding),
    )
    if layer.pool > min(hw):
        raise ConfigError(
            f"model.conv[{i}].pool",
            f"the {layer.pool}x{layer.pool} pooling window of conv layer {i} is larger than the {fmt(hw)} map its convolution outputs"
            f" (inputs of shape {tuple(input_shape)}); use pool: 1 there or fewer/smaller pools before it",
        )
    if layer.pool > 1:
        stride = layer.pool_stride or layer.pool
        hw = (conv_out(hw[0], layer.pool, stride), conv_out(hw[1], layer.pool, stride))
    return hw


@MODELS.register("cnn")
def build_cnn(cfg: CNNConfig, reg, input_shape, num_outputs) -> nn.Module:
    channels, *hw = image_shape(input_shape, "cnn")
    hw = tuple(hw)
    Pool = nn.MaxPool2d if cfg.pooling == "max" else nn.AvgPool2d
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
        )
        block[0].pool_area = layer.pool**2  # for the nielsen3 init
        layers += block
        if layer.pool > 1:
            layers.append(Pool(layer.pool, stride=layer.pool_stride or layer.pool))
        channels = layer.channels
    layers.append(nn.Flatten())
    width = channels * hw[0] * hw[1]
    rates = layer_dropouts(cfg.dropout, len(cfg.fc) + 1, reg.dropout, reg.dropout)
    for i, units in enumerate(cfg.fc):
        if rates[i]:
            layers.append(make_dropout(rates[i], reg))
        layers += dense_block(width, units, cfg.activation, cfg.maxout_pieces, cfg.batch_norm)
        width = units
    return classifier_output(layers, width, num_outputs, rates[-1], reg, cfg.init, cfg.activation)
