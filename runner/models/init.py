"""Weight initialisation schemes by name (`model.init`).

A scheme is a pair (how to draw weights, how to draw biases) applied to every
Linear/Conv layer; `default` keeps PyTorch's own. The `nielsen_*` schemes match
the book's code so that its results can be reproduced: network.py draws
everything from N(0, 1); network2.py draws weights from N(0, 1/sqrt(n_in)) and
biases from N(0, 1).
"""

import math

from torch import nn

from runner.registry import Registry

INITS = Registry("init scheme")

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)


def _gain(activation: str) -> float:
    # Glorot & Bengio suggest 4x the tanh gain for sigmoid units.
    if activation == "sigmoid":
        return 4.0
    if activation in ("relu", "leaky_relu", "tanh", "linear"):
        return nn.init.calculate_gain(activation)
    return 1.0


def _fan_in(weight) -> int:
    return weight[0].numel()


def _keep(tensor, activation):
    pass


def _zeros(tensor, activation):
    nn.init.zeros_(tensor)


def _unit_normal(tensor, activation):
    nn.init.normal_(tensor, 0.0, 1.0)


INITS.add("default", (_keep, _keep))
INITS.add("xavier_uniform", (lambda w, a: nn.init.xavier_uniform_(w, gain=_gain(a)), _zeros))
INITS.add("xavier_normal", (lambda w, a: nn.init.xavier_normal_(w, gain=_gain(a)), _zeros))
INITS.add("kaiming_uniform", (lambda w, a: nn.init.kaiming_uniform_(w, nonlinearity="relu"), _zeros))
INITS.add("kaiming_normal", (lambda w, a: nn.init.kaiming_normal_(w, nonlinearity="relu"), _zeros))
INITS.add("nielsen_large", (_unit_normal, _unit_normal))
INITS.add("nielsen_fan_in", (lambda w, a: nn.init.normal_(w, 0.0, 1.0 / math.sqrt(_fan_in(w))), _unit_normal))


def initialise(model: nn.Module, scheme: str, activation: str) -> None:
    init_weight, init_bias = INITS.get(scheme, "model.init")
    for layer in model.modules():
        if isinstance(layer, _LAYERS):
            init_weight(layer.weight, activation)
            if layer.bias is not None:
                init_bias(layer.bias, activation)
