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

from dataclasses import dataclass, field
from typing import List, Optional

from omegaconf import MISSING
from torch import nn

from runner.errors import ConfigError, require
from runner.build.models.activations import ACTIVATIONS
from runner.build.models.init import INITS
from runner.build.models.layers import check_rates, classifier_output, conv_block, conv_out, dense_block, fmt, image_shape, layer_dropouts, make_dropout
from runner.build.models.registry import MODELS

POOLINGS = ("max", "avg")


@dataclass
class ConvLayerConfig:
    channels: int = MISSING  # output feature maps
    kernel: int = MISSING  # square kernel side
    stride: int = 1
    padding: int = 0  # zeros added on each side
    pool: int = 1  # square pooling window after the activation; 1 = no pooling
    pool_stride: Optional[int] = None  # None = the window size (non-overlapping)


@dataclass
class CNNConfig:
    name: str = "cnn"
    conv: List[ConvLayerConfig] = field(
        default_factory=lambda: [ConvLayerConfig(channels=20, kernel=5, pool=2), ConvLayerConfig(channels=40, kernel=5, pool=2)]
    )
    fc: List[int] = field(default_factory=lambda: [100])
    activation: str = "relu"
    maxout_pieces: int = 2
    pooling: str = "max"
    batch_norm: bool = False
    dropout: Optional[List[float]] = None  # one rate per FC layer input; None = regularization.dropout
    init: str = "default"
    init_from: Optional[str] = None  # run folder of a trained conv autoencoder

    def __post_init__(self):
        require(len(self.conv) >= 1, "conv", "at least one conv layer (without any, use model=mlp)")
        for i, layer in enumerate(self.conv):
            key = f"conv[{i}]"
            require(layer.channels >= 1, f"{key}.channels", f"at least 1 feature map, got {layer.channels}")
            require(layer.kernel >= 1, f"{key}.kernel", f"at least 1, got {layer.kernel}")
            require(layer.stride >= 1, f"{key}.stride", f"at least 1, got {layer.stride}")
            require(layer.padding >= 0, f"{key}.padding", f"must be >= 0, got {layer.padding}")
            require(layer.pool >= 1, f"{key}.pool", f"at least 1 (1 = no pooling), got {layer.pool}")
            require(layer.pool_stride is None or layer.pool_stride >= 1, f"{key}.pool_stride", f"at least 1 (or null), got {layer.pool_stride}")
        require(all(h >= 1 for h in self.fc), "fc", f"every fully-connected layer needs at least 1 unit, got {list(self.fc)}")
        ACTIVATIONS.check(self.activation, "activation")
        require(self.maxout_pieces >= 2, "maxout_pieces", f"at least 2 pieces per maxout unit, got {self.maxout_pieces}")
        require(self.pooling in POOLINGS, "pooling", f"choose one of: {', '.join(POOLINGS)} (got '{self.pooling}')")
        INITS.check(self.init, "init")
        check_rates(self.dropout, len(self.fc) + 1, "dropout", "the flattened conv features, then the output of each fc layer")


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
    hw = (conv_out(hw[0], layer.kernel, layer.stride, layer.padding), conv_out(hw[1], layer.kernel, layer.stride, layer.padding))
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


@MODELS.register("cnn", schema=CNNConfig)
def build_cnn(cfg: CNNConfig, reg, input_shape, num_outputs) -> nn.Module:
    channels, *hw = image_shape(input_shape, "cnn")
    hw = tuple(hw)
    Pool = nn.MaxPool2d if cfg.pooling == "max" else nn.AvgPool2d
    layers: List[nn.Module] = []
    if reg.input_dropout:
        layers.append(make_dropout(reg.input_dropout, reg))
    for i, layer in enumerate(cfg.conv):
        hw = _fit_conv(i, layer, hw, input_shape)
        block = conv_block(channels, layer.channels, layer.kernel, layer.stride, layer.padding, cfg.activation, cfg.maxout_pieces, cfg.batch_norm)
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
