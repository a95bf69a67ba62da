"""Multi-layer perceptron: flatten -> [dropout] -> (Linear -> activation -> [dropout]) x depth -> Linear."""

from dataclasses import dataclass, field
from typing import List

from torch import nn

from runner.errors import require
from runner.models.activations import ACTIVATIONS, make_activation
from runner.models.init import INITS, initialise
from runner.models.registry import MODELS


@dataclass
class MLPConfig:
    name: str = "mlp"
    hidden_sizes: List[int] = field(default_factory=lambda: [100])
    activation: str = "relu"
    init: str = "default"

    def __post_init__(self):
        require(all(h > 0 for h in self.hidden_sizes), "hidden_sizes", f"every layer needs at least 1 unit, got {list(self.hidden_sizes)}")
        ACTIVATIONS.check(self.activation, "activation")
        INITS.check(self.init, "init")


@MODELS.register("mlp", schema=MLPConfig)
def build_mlp(cfg: MLPConfig, reg, input_shape, num_outputs) -> nn.Module:
    width = 1
    for size in input_shape:
        width *= size
    layers: List[nn.Module] = [nn.Flatten()]
    if reg.input_dropout > 0:
        layers.append(nn.Dropout(reg.input_dropout))
    for hidden in cfg.hidden_sizes:
        layers += [nn.Linear(width, hidden), make_activation(cfg.activation)]
        if reg.dropout > 0:
            layers.append(nn.Dropout(reg.dropout))
        width = hidden
    layers.append(nn.Linear(width, num_outputs))
    model = nn.Sequential(*layers)
    initialise(model, cfg.init, cfg.activation)
    return model
