"""Schemas of the optimizer group (`optimizer=sgd|adagrad|adadelta|rmsprop|adam|adamw|lbfgs`;
momentum and nesterov are sgd presets); the optimizers are built in runner/build/optim.py.

No schema has a `weight_decay` key but AdamW's: L2 decay is the regularization group's
(runner/build/regularization.py puts it into each parameter group), while AdamW's decoupled
decay is the point of choosing AdamW.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from runner.config.members import Members
from runner.errors import require

LINE_SEARCHES = ("strong_wolfe",)


def _check_lr(lr: float) -> None:
    require(lr > 0, "lr", f"learning rate must be > 0, got {lr}")


def _check_eps(eps: float) -> None:
    require(eps > 0, "eps", f"must be > 0, got {eps}")


def _check_betas(betas) -> None:
    require(len(betas) == 2 and all(0 <= b < 1 for b in betas), "betas", f"two numbers in [0, 1), got {list(betas)}")


@dataclass
class SGDConfig:
    """Plain SGD; `momentum` > 0 gives heavy-ball momentum, + `nesterov` Nesterov's."""

    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        _check_lr(self.lr)
        require(0 <= self.momentum < 1, "momentum", f"must be in [0, 1), got {self.momentum}")
        require(0 <= self.dampening < 1, "dampening", f"must be in [0, 1), got {self.dampening}")
        require(not self.nesterov or self.momentum > 0, "nesterov", "Nesterov momentum needs momentum > 0")
        require(not self.nesterov or self.dampening == 0, "nesterov", "Nesterov momentum needs dampening = 0")


@dataclass
class AdagradConfig:
    name: str = "adagrad"
    lr: float = 0.01
    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10

    def __post_init__(self):
        _check_lr(self.lr)
        require(self.lr_decay >= 0, "lr_decay", f"must be >= 0, got {self.lr_decay}")
        require(
            self.initial_accumulator_value >= 0,
            "initial_accumulator_value",
            f"must be >= 0, got {self.initial_accumulator_value}",
        )
        _check_eps(self.eps)


@dataclass
class AdadeltaConfig:
    name: str = "adadelta"
    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6

    def __post_init__(self):
        _check_lr(self.lr)
        require(0 <= self.rho < 1, "rho", f"must be in [0, 1), got {self.rho}")
        _check_eps(self.eps)


@dataclass
class RMSpropConfig:
    name: str = "rmsprop"
    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False

    def __post_init__(self):
        _check_lr(self.lr)
        require(0 <= self.alpha < 1, "alpha", f"smoothing constant in [0, 1), got {self.alpha}")
        _check_eps(self.eps)
        require(0 <= self.momentum < 1, "momentum", f"must be in [0, 1), got {self.momentum}")


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = 1e-3
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    amsgrad: bool = False

    def __post_init__(self):
        _check_lr(self.lr)
        _check_betas(self.betas)
        _check_eps(self.eps)


@dataclass
class AdamWConfig:
    name: str = "adamw"
    lr: float = 1e-3
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.01  # decoupled: w <- w - lr * weight_decay * w, on the parameters regularization decays
    amsgrad: bool = False

    def __post_init__(self):
        _check_lr(self.lr)
        _check_betas(self.betas)
        _check_eps(self.eps)
        require(self.weight_decay >= 0, "weight_decay", f"must be >= 0, got {self.weight_decay}")


@dataclass
class LBFGSConfig:
    name: str = "lbfgs"
    lr: float = 1.0
    max_iter: int = 20  # function evaluations per mini-batch step
    max_eval: Optional[int] = None  # null: 1.25 * max_iter (PyTorch's default)
    history_size: int = 100
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    line_search_fn: Optional[str] = "strong_wolfe"  # strong_wolfe or null (fixed step lr)

    def __post_init__(self):
        _check_lr(self.lr)
        require(self.max_iter >= 1, "max_iter", f"at least 1, got {self.max_iter}")
        require(self.max_eval is None or self.max_eval >= 1, "max_eval", f"null or at least 1, got {self.max_eval}")
        require(self.history_size >= 1, "history_size", f"at least 1, got {self.history_size}")
        require(self.tolerance_grad >= 0, "tolerance_grad", f"must be >= 0, got {self.tolerance_grad}")
        require(self.tolerance_change >= 0, "tolerance_change", f"must be >= 0, got {self.tolerance_change}")
        require(
            self.line_search_fn is None or self.line_search_fn in LINE_SEARCHES,
            "line_search_fn",
            f"choose one of: {', '.join(LINE_SEARCHES)}, or null (got '{self.line_search_fn}')",
        )


OPTIMIZER_MEMBERS = Members(
    "optimizer",
    {
        "sgd": SGDConfig,
        "adagrad": AdagradConfig,
        "adadelta": AdadeltaConfig,
        "rmsprop": RMSpropConfig,
        "adam": AdamConfig,
        "adamw": AdamWConfig,
        "lbfgs": LBFGSConfig,
    },
)
