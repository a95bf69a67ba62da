"""Multi-layer perceptron:
flatten -> [dropout] -> (Linear -> [BatchNorm] -> activation -> [dropout]) x depth -> Linear.

Dropout rates come from the regularization group (`input_dropout` on the
input, `dropout` after every hidden layer) unless `model.dropout` lists one rate
per layer input. With `residual: true` every hidden layer after the first adds
its input to its output (all hidden layers must then have the same width).
"""

from typing import List

from torch import nn

from runner.build.models.layers import Residual, classifier_output, dense_block, flat_size, layer_dropouts, make_dropout
from runner.build.models.registry import MODELS
from runner.config.models.mlp import MLPConfig


@MODELS.register("mlp")
def build_mlp(cfg: MLPConfig, reg, input_shape, num_outputs) -> nn.Module:
    width = flat_size(input_shape)
    rates = layer_dropouts(cfg.dropout, len(cfg.hidden_sizes) + 1, reg.input_dropout, reg.dropout)
    layers: List[nn.Module] = [nn.Flatten()]
    for i, hidden in enumerate(cfg.hidden_sizes):
        if rates[i]:
            layers.append(make_dropout(rates[i], reg))
        block = dense_block(width, hidden, cfg.activation, cfg.maxout_pieces, cfg.batch_norm)
        if cfg.residual and i > 0:
            layers.append(Residual(nn.Sequential(*block)))
        else:
            layers += block
        width = hidden
    return classifier_output(layers, width, num_outputs, rates[-1], reg, cfg.init, cfg.activation)
