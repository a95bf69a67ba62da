"""Optimizers by name (`optimizer=sgd|momentum|nesterov|adagrad|adadelta|rmsprop|adam|adamw|lbfgs`).

Each builder takes its schema and the parameter groups made by
`runner.build.regularization.param_groups`, which already carry each group's L2
weight decay (weights decayed, biases not, unless asked). So the optimizer
schemas have no `weight_decay` key, except AdamW's, whose decay is decoupled
from the gradient and is the point of choosing AdamW.
"""

from dataclasses import dataclass, field
from typing import List, Optional

import torch

from runner.errors import require
from runner.registry import Registry

OPTIMIZERS = Registry("optimizer")
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
        require(self.initial_accumulator_value >= 0, "initial_accumulator_value", f"must be >= 0, got {self.initial_accumulator_value}")
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


@OPTIMIZERS.register("sgd", schema=SGDConfig)
def build_sgd(cfg: SGDConfig, param_groups):
    return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening, nesterov=cfg.nesterov)


@OPTIMIZERS.register("adagrad", schema=AdagradConfig)
def build_adagrad(cfg: AdagradConfig, param_groups):
    return torch.optim.Adagrad(param_groups, lr=cfg.lr, lr_decay=cfg.lr_decay, initial_accumulator_value=cfg.initial_accumulator_value, eps=cfg.eps)


@OPTIMIZERS.register("adadelta", schema=AdadeltaConfig)
def build_adadelta(cfg: AdadeltaConfig, param_groups):
    return torch.optim.Adadelta(param_groups, lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)


@OPTIMIZERS.register("rmsprop", schema=RMSpropConfig)
def build_rmsprop(cfg: RMSpropConfig, param_groups):
    return torch.optim.RMSprop(param_groups, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, centered=cfg.centered)


@OPTIMIZERS.register("adam", schema=AdamConfig)
def build_adam(cfg: AdamConfig, param_groups):
    return torch.optim.Adam(param_groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, amsgrad=cfg.amsgrad)


@OPTIMIZERS.register("adamw", schema=AdamWConfig)
def build_adamw(cfg: AdamWConfig, param_groups):
    # The groups' weight_decay (regularization.l2) is decoupled too under AdamW; the two add up.
    groups = [{**g, "weight_decay": g.get("weight_decay", 0.0) + (cfg.weight_decay if g.get("decay", True) else 0.0)} for g in param_groups]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, amsgrad=cfg.amsgrad)


class LBFGS(torch.optim.LBFGS):
    """torch's L-BFGS, which takes a single parameter group and no weight decay,
    plus the groups' L2 decay added inside the closure (to the gradient and to
    the loss the line search sees), so `regularization=l2` means the same thing
    with every optimizer."""

    needs_closure = True  # the training loop passes its closure to step() only for this optimizer

    def __init__(self, param_groups, **kwargs):
        self._decayed = [(g["weight_decay"], list(g["params"])) for g in param_groups if g.get("weight_decay", 0.0) > 0]
        super().__init__([p for g in param_groups for p in g["params"]], **kwargs)

    def step(self, closure):
        if not self._decayed:
            return super().step(closure)

        def decayed_closure():
            loss = closure()
            penalty = 0.0
            with torch.no_grad():
                for weight_decay, params in self._decayed:
                    for p in params:
                        if p.grad is None:
                            p.grad = torch.zeros_like(p)
                        p.grad.add_(p, alpha=weight_decay)
                        penalty = penalty + 0.5 * weight_decay * p.pow(2).sum()
            return loss + penalty

        return super().step(decayed_closure)


@OPTIMIZERS.register("lbfgs", schema=LBFGSConfig)
def build_lbfgs(cfg: LBFGSConfig, param_groups):
    return LBFGS(
        param_groups,
        lr=cfg.lr,
        max_iter=cfg.max_iter,
        max_eval=cfg.max_eval,
        history_size=cfg.history_size,
        tolerance_grad=cfg.tolerance_grad,
        tolerance_change=cfg.tolerance_change,
        line_search_fn=cfg.line_search_fn,
    )


def build_optimizer(cfg, param_groups):
    build = OPTIMIZERS.get(cfg.name, "optimizer")
    if build is not build_adamw:  # AdamW reads each group's `decay` flag; the others only its weight_decay
        param_groups = merge_equal_groups(param_groups)
    return build(cfg, param_groups)


def merge_equal_groups(param_groups):
    """One group per distinct weight decay: optimizers walk every group at every step,
    which costs several microseconds a step at batch 10 for nothing when no L2 is set."""
    merged = {}
    for group in param_groups:
        key = group.get("weight_decay", 0.0)
        merged.setdefault(key, {"params": [], "weight_decay": key})["params"].extend(group["params"])
    return [g for g in merged.values() if g["params"]]
