"""Multi-layer perceptron:
flatten -> [dropout] -> (Linear -> [BatchNorm] -> activation -> [dropout]) x depth -> Linear.

Dropout rates come from the regularization group (`input_dropout` on the
input, `dropout` after every hidden layer) unless `model.dropout` lists one rate
per layer input. With `residual: true` every hidden layer after the first adds
its input to its output (all hidden layers must then have the same width).
"""

from dataclasses import dataclass, field
from typing import List, Optional

from torch import nn

from runner.errors import require
from runner.build.models.activations import ACTIVATIONS
from runner.build.models.init import INITS
from runner.build.models.layers import Residual, check_rates, classifier_output, dense_block, flat_size, layer_dropouts, make_dropout
from runner.build.models.registry import MODELS


@dataclass
class MLPConfig:
    name: str = "mlp"
    hidden_sizes: List[int] = field(default_factory=lambda: [100])
    activation: str = "relu"
    maxout_pieces: int = 2  # linear pieces per unit when activation is maxout
    init: str = "default"
    batch_norm: bool = False
    residual: bool = False
    dropout: Optional[List[float]] = None  # one rate per layer input; None = regularization's
    init_from: Optional[str] = None  # run folder of a trained autoencoder

    def __post_init__(self):
        require(all(h > 0 for h in self.hidden_sizes), "hidden_sizes", f"every layer needs at least 1 unit, got {list(self.hidden_sizes)}")
        ACTIVATIONS.check(self.activation, "activation")
        require(self.maxout_pieces >= 2, "maxout_pieces", f"at least 2 pieces per maxout unit, got {self.maxout_pieces}")
        INITS.check(self.init, "init")
        if self.residual:
            require(len(set(self.hidden_sizes)) <= 1, "residual", f"skip connections need equal hidden widths, got {list(self.hidden_sizes)}")
        check_rates(self.dropout, len(self.hidden_sizes) + 1, "dropout", "the input, then the output of each hidden layer")


@MODELS.register("mlp", schema=MLPConfig)
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
