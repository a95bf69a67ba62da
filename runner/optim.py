"""Optimizers by name (`optimizer=sgd|momentum|adam`); L2 lives in `regularization`."""

from dataclasses import dataclass, field
from typing import List

import torch

from runner.errors import require
from runner.registry import Registry

OPTIMIZERS = Registry("optimizer")


def _check_lr(lr: float) -> None:
    require(lr > 0, "lr", f"learning rate must be > 0, got {lr}")


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        _check_lr(self.lr)
        require(0 <= self.momentum < 1, "momentum", f"must be in [0, 1), got {self.momentum}")
        require(not self.nesterov or self.momentum > 0, "nesterov", "Nesterov momentum needs momentum > 0")


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = 1e-3
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8

    def __post_init__(self):
        _check_lr(self.lr)
        require(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas", f"two numbers in [0, 1), got {list(self.betas)}")
        require(self.eps > 0, "eps", f"must be > 0, got {self.eps}")


@OPTIMIZERS.register("sgd", schema=SGDConfig)
def build_sgd(cfg: SGDConfig, param_groups):
    return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)


@OPTIMIZERS.register("adam", schema=AdamConfig)
def build_adam(cfg: AdamConfig, param_groups):
    return torch.optim.Adam(param_groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)


def build_optimizer(cfg, param_groups):
    return OPTIMIZERS.get(cfg.name, "optimizer")(cfg, param_groups)
