"""Linear baselines: one Linear layer from the flattened pixels to the class scores.

`softmax_regression` is meant for `loss: cross_entropy` (multinomial logistic
regression), `linear_svm` for `loss: hinge` (multi-class hinge) with
`regularization=l2`. They are the same network; the name records the intent.
"""

from torch import nn

from runner.build.models.init import initialise
from runner.build.models.layers import flat_size, make_dropout
from runner.build.models.registry import MODELS
from runner.config.models.linear import LinearConfig


def _build_linear(cfg: LinearConfig, reg, input_shape, num_outputs) -> nn.Module:
    output = nn.Linear(flat_size(input_shape), num_outputs)
    model = nn.Sequential(nn.Flatten(), make_dropout(reg.input_dropout, reg), output)
    initialise(model, cfg.init, "linear", output=output)
    return model


MODELS.add("softmax_regression", _build_linear)
MODELS.add("linear_svm", _build_linear)
