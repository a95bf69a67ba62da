"""Learning-rate schedules by name (`scheduler=none|step|exponential|cosine|plateau|halving`).

A schedule is stepped once per epoch with that epoch's metrics row, and may ask
the loop to stop by returning True (Nielsen's "stop after k halvings"). Every
schedule has state_dict/load_state_dict, saved in checkpoints.
"""

import math
from dataclasses import dataclass
from typing import Optional

import torch

from runner.config.metric_names import MONITORS, VAL_ACCURACY, VAL_LOSS, higher_is_better
from runner.errors import require
from runner.registry import Registry

SCHEDULERS = Registry("scheduler")


def _check_monitor(monitor: str, mode: str) -> None:
    require(monitor in MONITORS, "monitor", f"unknown metric '{monitor}'; choose one of: {', '.join(MONITORS)}")
    require(mode in ("auto", "min", "max"), "mode", f"choose one of: auto, min, max (got '{mode}')")


def _maximize(monitor: str, mode: str) -> bool:
    return higher_is_better(monitor) if mode == "auto" else mode == "max"


def _monitored(row: dict, monitor: str) -> float:
    value = row.get(monitor)
    if value is None:
        raise ValueError(f"scheduler.monitor: this run logs no '{monitor}' (a reconstruction model has no accuracy); monitor a loss instead")
    return value


# ---------------------------------------------------------------- configs


@dataclass
class NoSchedulerConfig:
    name: str = "none"


@dataclass
class StepConfig:
    name: str = "step"
    step_size: int = 10  # epochs between decays
    gamma: float = 0.1  # lr <- gamma * lr every step_size epochs

    def __post_init__(self):
        require(self.step_size >= 1, "step_size", f"at least 1 epoch, got {self.step_size}")
        require(0 < self.gamma <= 1, "gamma", f"a factor in (0, 1], got {self.gamma}")


@dataclass
class ExponentialConfig:
    name: str = "exponential"
    gamma: float = 0.95  # lr <- gamma * lr every epoch

    def __post_init__(self):
        require(0 < self.gamma <= 1, "gamma", f"a factor in (0, 1], got {self.gamma}")


@dataclass
class CosineConfig:
    name: str = "cosine"
    t_max: int = 10  # epochs from the initial lr down to eta_min (the YAML sets ${trainer.epochs})
    eta_min: float = 0.0

    def __post_init__(self):
        require(self.t_max >= 1, "t_max", f"at least 1 epoch, got {self.t_max}")
        require(self.eta_min >= 0, "eta_min", f"must be >= 0, got {self.eta_min}")


@dataclass
class PlateauConfig:
    name: str = "plateau"
    monitor: str = VAL_LOSS
    mode: str = "auto"  # auto: max for accuracies, min for losses
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0

    def __post_init__(self):
        _check_monitor(self.monitor, self.mode)
        require(0 < self.factor < 1, "factor", f"a factor in (0, 1), got {self.factor}")
        require(self.patience >= 0, "patience", f"must be >= 0, got {self.patience}")
        require(self.threshold >= 0, "threshold", f"must be >= 0, got {self.threshold}")
        require(self.threshold_mode in ("rel", "abs"), "threshold_mode", f"choose one of: rel, abs (got '{self.threshold_mode}')")
        require(self.cooldown >= 0, "cooldown", f"must be >= 0, got {self.cooldown}")
        require(self.min_lr >= 0, "min_lr", f"must be >= 0, got {self.min_lr}")


@dataclass
class HalvingConfig:
    name: str = "halving"
    monitor: str = VAL_ACCURACY
    mode: str = "auto"
    patience: int = 10  # n: halve when the monitor has not improved for n epochs
    max_halvings: Optional[int] = 7  # k: stop at the k-th halving (lr = initial / 2**k); null = never stop
    factor: float = 0.5
    min_delta: float = 0.0  # an improvement must beat the best by more than this

    def __post_init__(self):
        _check_monitor(self.monitor, self.mode)
        require(self.patience >= 1, "patience", f"at least 1 epoch, got {self.patience}")
        require(self.max_halvings is None or self.max_halvings >= 1, "max_halvings", f"null or at least 1, got {self.max_halvings}")
        require(0 < self.factor < 1, "factor", f"a factor in (0, 1), got {self.factor}")
        require(self.min_delta >= 0, "min_delta", f"must be >= 0, got {self.min_delta}")


# ---------------------------------------------------------------- schedules


class ConstantLR:
    """Keeps the optimizer's learning rate."""

    def step(self, row: dict) -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class EpochSchedule:
    """A torch LR scheduler stepped once per epoch; never stops the run."""

    def __init__(self, scheduler, monitor: Optional[str] = None):
        self.scheduler = scheduler
        self.monitor = monitor

    def step(self, row: dict) -> bool:
        if self.monitor is None:
            self.scheduler.step()
        else:
            self.scheduler.step(_monitored(row, self.monitor))
        return False

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)


class Halving:
    """Nielsen's schedule (Neural Networks and Deep Learning, ch. 3): multiply the
    learning rate by `factor` (a half) each time the monitored metric has gone
    `patience` epochs without a new best, and end training at the
    `max_halvings`-th halving (7 halvings: lr down to 1/128 of the initial one)."""

    def __init__(self, cfg: HalvingConfig, optimizer):
        self.cfg = cfg
        self.optimizer = optimizer
        self.maximize = _maximize(cfg.monitor, cfg.mode)
        self.best = -math.inf if self.maximize else math.inf
        self.bad_epochs = 0
        self.halvings = 0

    def step(self, row: dict) -> bool:
        value = _monitored(row, self.cfg.monitor)
        gain = (value - self.best) if self.maximize else (self.best - value)
        if gain > self.cfg.min_delta or math.isinf(self.best):
            self.best, self.bad_epochs = value, 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs < self.cfg.patience:
            return False
        for group in self.optimizer.param_groups:
            group["lr"] *= self.cfg.factor
        self.halvings += 1
        self.bad_epochs = 0
        return self.cfg.max_halvings is not None and self.halvings >= self.cfg.max_halvings

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs, "halvings": self.halvings}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs, self.halvings = state["best"], state["bad_epochs"], state["halvings"]


# ---------------------------------------------------------------- builders


@SCHEDULERS.register("none", schema=NoSchedulerConfig)
def build_none(cfg, optimizer):
    return ConstantLR()


@SCHEDULERS.register("step", schema=StepConfig)
def build_step(cfg: StepConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma))


@SCHEDULERS.register("exponential", schema=ExponentialConfig)
def build_exponential(cfg: ExponentialConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.gamma))


@SCHEDULERS.register("cosine", schema=CosineConfig)
def build_cosine(cfg: CosineConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.t_max, eta_min=cfg.eta_min))


@SCHEDULERS.register("plateau", schema=PlateauConfig)
def build_plateau(cfg: PlateauConfig, optimizer):
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max" if _maximize(cfg.monitor, cfg.mode) else "min",
        factor=cfg.factor,
        patience=cfg.patience,
        threshold=cfg.threshold,
        threshold_mode=cfg.threshold_mode,
        cooldown=cfg.cooldown,
        min_lr=cfg.min_lr,
    )
    return EpochSchedule(scheduler, monitor=cfg.monitor)


@SCHEDULERS.register("halving", schema=HalvingConfig)
def build_halving(cfg: HalvingConfig, optimizer):
    return Halving(cfg, optimizer)


def build_scheduler(cfg, optimizer):
    return SCHEDULERS.get(cfg.name, "scheduler")(cfg, optimizer)
