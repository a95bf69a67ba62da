"""Weight initialisation schemes by name (`model.init`).

A scheme says how to draw the weights and the biases of every Linear/Conv layer
(and the input/recurrent matrices of RNN/LSTM/GRU layers); `default` keeps
PyTorch's own. The `nielsen_*` schemes match the book's code so that its results
can be reproduced: network.py draws everything from N(0, 1) (`nielsen_large`);
network2.py draws weights from N(0, 1/sqrt(n_in)) and biases from N(0, 1)
(`nielsen_fan_in`); network3.py (`nielsen3`) draws fully-connected weights from
N(0, sqrt(1/n_out)), conv weights with std sqrt(1/(out_channels * kernel_area /
pool_area)), biases from N(0, 1), and starts the final softmax layer at zero.

Conv layers followed by pooling carry a `pool_area` attribute (set by the CNN
builder) for `nielsen3`; builders pass their output layer to `initialise` so
that schemes which treat it specially (nielsen3's zeros) can.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional

from torch import nn

from runner.config.models.names import INIT_KIND
from runner.registry import Registry

INITS = Registry(INIT_KIND)  # a scheme for each name in runner/config/models/names.py

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)


@dataclass(frozen=True)
class Scheme:
    weight: Callable  # (weight tensor, activation name, pool_area) -> None, in place
    bias: Callable  # (bias tensor) -> None, in place
    zero_output: bool = False  # start the output layer at zero (weights and biases)


def _gain(activation: str) -> float:
    # Glorot & Bengio suggest 4x the tanh gain for sigmoid units.
    if activation == "sigmoid":
        return 4.0
    if activation in ("relu", "leaky_relu", "tanh", "linear"):
        return nn.init.calculate_gain(activation)
    return 1.0


def _fan_in(weight) -> int:
    return weight[0].numel()


def _keep(tensor, *args):
    pass


def _zeros(tensor, *args):
    nn.init.zeros_(tensor)


def _unit_normal(tensor, *args):
    nn.init.normal_(tensor, 0.0, 1.0)


def _nielsen3_weight(weight, activation, pool_area):
    # n_out = out_features for FC; out_channels * kernel_area / pool_area for conv.
    n_out = weight.shape[0] * weight[0][0].numel() / pool_area
    nn.init.normal_(weight, 0.0, math.sqrt(1.0 / n_out))


INITS.add("default", Scheme(_keep, _keep))
INITS.add("xavier_uniform", Scheme(lambda w, a, _: nn.init.xavier_uniform_(w, gain=_gain(a)), _zeros))
INITS.add("xavier_normal", Scheme(lambda w, a, _: nn.init.xavier_normal_(w, gain=_gain(a)), _zeros))
# Keras' default for Dense/Conv layers: Glorot-uniform with gain 1 whatever the activation, zero biases.
INITS.add("glorot_uniform", Scheme(lambda w, a, _: nn.init.xavier_uniform_(w), _zeros))
INITS.add("kaiming_uniform", Scheme(lambda w, a, _: nn.init.kaiming_uniform_(w, nonlinearity="relu"), _zeros))
INITS.add("kaiming_normal", Scheme(lambda w, a, _: nn.init.kaiming_normal_(w, nonlinearity="relu"), _zeros))
INITS.add("orthogonal", Scheme(lambda w, a, _: nn.init.orthogonal_(w, gain=_gain(a)), _zeros))
INITS.add("nielsen_large", Scheme(_unit_normal, _unit_normal))
INITS.add("nielsen_fan_in", Scheme(lambda w, a, _: nn.init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w))), _unit_normal))
INITS.add("nielsen3", Scheme(_nielsen3_weight, _unit_normal, zero_output=True))


def initialise(model: nn.Module, scheme: str, activation: str, output: Optional[nn.Module] = None) -> None:
    """Apply a scheme to every Linear/Conv/RNN layer of `model`; `output` is the
    classifier's last layer (zeroed by schemes that say so)."""
    chosen: Scheme = INITS.get(scheme, "model.init")
    for layer in model.modules():
        if isinstance(layer, _LAYERS):
            chosen.weight(layer.weight, activation, getattr(layer, "pool_area", 1))
            if layer.bias is not None:
                chosen.bias(layer.bias)
        elif isinstance(layer, nn.RNNBase):
            for name, param in layer.named_parameters():
                if name.startswith("weight"):
                    chosen.weight(param, activation, 1)
                else:
                    chosen.bias(param)
    if chosen.zero_output and output is not None:
        for param in output.parameters():
            nn.init.zeros_(param)


def orthogonal_recurrent(rnn: nn.RNNBase) -> None:
    """Each gate's hidden-to-hidden matrix (H x H) drawn orthogonal (Saxe et al.;
    keeps the recurrent map norm-preserving at the start)."""
    hidden = rnn.hidden_size
    for name, param in rnn.named_parameters():
        if name.startswith("weight_hh"):
            for gate in param.data.split(hidden, dim=0):
                nn.init.orthogonal_(gate)
