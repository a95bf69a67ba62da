"""Optimizers by name (`optimizer=sgd|momentum|nesterov|adagrad|adadelta|rmsprop|adam|adamw|lbfgs`).

Each builder takes its schema (runner/config/optim.py) and the parameter groups made by
`runner.build.regularization.param_groups`, which already carry each group's L2
weight decay (weights decayed, biases not, unless asked). So the optimizer
schemas have no `weight_decay` key, except AdamW's, whose decay is decoupled
from the gradient and is the point of choosing AdamW.
"""

import torch

from runner.config.optim import (
    OPTIMIZER_MEMBERS,
    AdadeltaConfig,
    AdagradConfig,
    AdamConfig,
    AdamWConfig,
    LBFGSConfig,
    RMSpropConfig,
    SGDConfig,
)
from runner.registry import Registry

OPTIMIZERS = Registry(OPTIMIZER_MEMBERS.kind)  # an optimizer for each schema in runner/config/optim.py


@OPTIMIZERS.register("sgd")
def build_sgd(cfg: SGDConfig, param_groups):
    return torch.optim.SGD(
        param_groups, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening, nesterov=cfg.nesterov
    )


@OPTIMIZERS.register("adagrad")
def build_adagrad(cfg: AdagradConfig, param_groups):
    return torch.optim.Adagrad(
        param_groups,
        lr=cfg.lr,
        lr_decay=cfg.lr_decay,
        initial_accumulator_value=cfg.initial_accumulator_value,
        eps=cfg.eps,
    )


@OPTIMIZERS.register("adadelta")
def build_adadelta(cfg: AdadeltaConfig, param_groups):
    return torch.optim.Adadelta(param_groups, lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)


@OPTIMIZERS.register("rmsprop")
def build_rmsprop(cfg: RMSpropConfig, param_groups):
    return torch.optim.RMSprop(
        param_groups, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, centered=cfg.centered
    )


@OPTIMIZERS.register("adam")
def build_adam(cfg: AdamConfig, param_groups):
    return torch.optim.Adam(param_groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, amsgrad=cfg.amsgrad)


@OPTIMIZERS.register("adamw")
def build_adamw(cfg: AdamWConfig, param_groups):
    # The groups' weight_decay (regularization.l2) is decoupled too under AdamW; the two add up.
    groups = [
        {**g, "weight_decay": g.get("weight_decay", 0.0) + (cfg.weight_decay if g.get("decay", True) else 0.0)}
        for g in param_groups
    ]
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


@OPTIMIZERS.register("lbfgs")
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
