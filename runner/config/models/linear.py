"""Schemas of the linear baselines (model=softmax_regression, model=linear_svm); built in
runner/build/models/linear.py."""

from dataclasses import dataclass

from runner.config.models.names import check_init


@dataclass
class LinearConfig:
    name: str = "softmax_regression"
    init: str = "default"

    def __post_init__(self):
        check_init(self.init, "init")


@dataclass
class SoftmaxRegressionConfig(LinearConfig):
    name: str = "softmax_regression"


@dataclass
class LinearSVMConfig(LinearConfig):
    name: str = "linear_svm"
