"""Learning-rate schedules by name (`scheduler=none|step|exponential|cosine|plateau|halving`).

A schedule is stepped once per epoch with that epoch's metrics row, and may ask
the loop to stop by returning True (Nielsen's "stop after k halvings"). Every
schedule has state_dict/load_state_dict, saved in checkpoints, and `columns()`: what the
epoch's metrics row logs of it (a momentum schedule's `momentum`; nothing for the others).
With `scheduler.momentum` set, the schedule is wrapped with a momentum schedule
(runner/build/momentum.py) stepped with it.
"""

import math
from typing import Optional

import torch

from runner.build.momentum import MomentumSchedule, WithMomentum
from runner.config.metric_names import higher_is_better
from runner.config.momentum import check_momentum_optimizer, is_scheduled
from runner.config.schedulers import (
    SCHEDULER_MEMBERS,
    CosineConfig,
    ExponentialConfig,
    HalvingConfig,
    PlateauConfig,
    StepConfig,
)
from runner.registry import Registry

SCHEDULERS = Registry(SCHEDULER_MEMBERS.kind)  # a schedule for each schema in runner/config/schedulers.py


def _maximize(monitor: str, mode: str) -> bool:
    return higher_is_better(monitor) if mode == "auto" else mode == "max"


def _monitored(row: dict, monitor: str) -> float:
    value = row.get(monitor)
    if value is None:
        raise ValueError(
            f"scheduler.monitor: this run logs no '{monitor}' (a reconstruction model has no accuracy); monitor a loss instead"
        )
    return value


# ---------------------------------------------------------------- schedules


class Schedule:
    """What every learning-rate schedule logs of itself in the epoch's row: nothing."""

    def columns(self) -> dict:
        return {}


class ConstantLR(Schedule):
    """Keeps the optimizer's learning rate."""

    def step(self, row: dict) -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class EpochSchedule(Schedule):
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


class Halving(Schedule):
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


@SCHEDULERS.register("none")
def build_none(cfg, optimizer):
    return ConstantLR()


@SCHEDULERS.register("step")
def build_step(cfg: StepConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma))


@SCHEDULERS.register("exponential")
def build_exponential(cfg: ExponentialConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.gamma))


@SCHEDULERS.register("cosine")
def build_cosine(cfg: CosineConfig, optimizer):
    return EpochSchedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.t_max, eta_min=cfg.eta_min))


@SCHEDULERS.register("plateau")
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


@SCHEDULERS.register("halving")
def build_halving(cfg: HalvingConfig, optimizer):
    return Halving(cfg, optimizer)


def build_scheduler(cfg, optimizer, optimizer_name: str = "sgd", steps_per_epoch: int = 1):
    """The learning-rate schedule `cfg` names, with its momentum schedule if `cfg.momentum` is set
    (optimizer_name says which momentum: SGD's and RMSprop's, or Adam's beta1; steps_per_epoch
    places each step of a `per: step` schedule)."""
    schedule = SCHEDULERS.get(cfg.name, "scheduler")(cfg, optimizer)
    momentum = getattr(cfg, "momentum", None)
    if not is_scheduled(momentum):
        return schedule
    check_momentum_optimizer(momentum, optimizer_name)
    return WithMomentum(schedule, MomentumSchedule(momentum, optimizer, optimizer_name, steps_per_epoch))
