"""A momentum schedule (`scheduler.momentum`, runner/config/momentum.py) and the learning-rate
schedule it runs beside.

The momentum is a function of where training is, counted in epochs: epoch e's first step is at
position e, and with `per: step` each optimizer step moves the position on by 1 / steps_per_epoch.
Only the count of epochs (and steps) done is state, so a resumed run, its count restored from the
checkpoint, sets the very momentum the uninterrupted run had there. (The optimizer's own state
brings the momentum back too; the schedule sets it again from the count, which is the truth.)
"""

import torch

from runner.config.metric_names import MOMENTUM
from runner.config.momentum import MOMENTUM_OF, MomentumScheduleConfig


def momentum_at(cfg: MomentumScheduleConfig, position: float) -> float:
    """The momentum at `position` (in epochs from 1): `start` up to start_epoch, `end` from end_epoch."""
    if cfg.end_epoch == cfg.start_epoch:
        done = 1.0 if position >= cfg.end_epoch else 0.0
    else:
        done = min(max((position - cfg.start_epoch) / (cfg.end_epoch - cfg.start_epoch), 0.0), 1.0)
    if cfg.shape == "exponential":  # 1 - momentum shrinks (or grows) by the same factor each epoch
        return 1 - (1 - cfg.start) * ((1 - cfg.end) / (1 - cfg.start)) ** done
    return cfg.start + (cfg.end - cfg.start) * done


def steps_per_epoch(n_train: int, batch_size: int, world_size: int = 1) -> int:
    """Optimizer steps in one epoch of each process (runner/fit/distributed.py's shard: equal parts)."""
    share = -(-n_train // world_size)
    return max(-(-share // batch_size), 1)


def set_momentum(optimizer: torch.optim.Optimizer, kind: str, value: float) -> None:
    """Every parameter group's momentum (SGD, RMSprop) or beta1 (Adam, AdamW) to `value`."""
    for group in optimizer.param_groups:
        if MOMENTUM_OF[kind] == "beta1":
            group["betas"] = (value, group["betas"][1])
            continue
        group["momentum"] = value
        if kind == "rmsprop" and value > 0:  # RMSprop makes its buffer only if the first step had momentum
            for param in group["params"]:
                state = optimizer.state.get(param)
                if state and "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(param, memory_format=torch.preserve_format)


class MomentumSchedule:
    """Sets the optimizer's momentum for each epoch (per: epoch) or after each step (per: step)."""

    def __init__(self, cfg: MomentumScheduleConfig, optimizer, kind: str, steps_per_epoch: int):
        self.cfg, self.optimizer, self.kind = cfg, optimizer, kind
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.epochs_done = 0  # with steps_in_epoch, the whole state (a checkpoint falls between epochs)
        self.steps_in_epoch = 0
        self.used = None  # per: step: the momentum of the last step taken, what the epoch's row logs
        if cfg.per == "step":
            optimizer.register_step_post_hook(self._after_step)
        self.apply()

    def position(self) -> float:
        within = min(self.steps_in_epoch / self.steps_per_epoch, 1.0) if self.cfg.per == "step" else 0.0
        return 1 + self.epochs_done + within

    def apply(self) -> None:
        self.current = momentum_at(self.cfg, self.position())
        set_momentum(self.optimizer, self.kind, self.current)

    def _after_step(self, *_) -> None:
        self.used = self.current
        self.steps_in_epoch += 1
        self.apply()

    def end_epoch(self) -> None:
        self.epochs_done, self.steps_in_epoch = self.epochs_done + 1, 0
        self.apply()

    def columns(self) -> dict:
        """The epoch's momentum (per: epoch), or its last step's (per: step): called before `end_epoch`."""
        return {MOMENTUM: self.current if self.cfg.per == "epoch" or self.used is None else self.used}

    def state_dict(self) -> dict:
        return {"epochs_done": self.epochs_done, "steps_in_epoch": self.steps_in_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epochs_done, self.steps_in_epoch = int(state["epochs_done"]), int(state["steps_in_epoch"])
        self.apply()


class WithMomentum:
    """A learning-rate schedule (runner/build/schedulers.py) and a momentum schedule, stepped together."""

    def __init__(self, lr_schedule, momentum: MomentumSchedule):
        self.lr_schedule, self.momentum = lr_schedule, momentum

    def step(self, row: dict) -> bool:
        self.momentum.end_epoch()
        return self.lr_schedule.step(row)

    def columns(self) -> dict:
        return self.momentum.columns()

    def state_dict(self) -> dict:
        return {"lr": self.lr_schedule.state_dict(), "momentum": self.momentum.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.lr_schedule.load_state_dict(state["lr"])
        self.momentum.load_state_dict(state["momentum"])
