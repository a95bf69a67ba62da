"""The schema of a momentum schedule, `scheduler.momentum` (beside any learning-rate schedule), and
the optimizers it can drive; the schedule itself is built in runner/build/momentum.py.

    scheduler.momentum: {start: 0.5, end: 0.99, start_epoch: 1, end_epoch: 500, shape: linear, per: epoch}
    runner train scheduler.momentum.start=0.5 scheduler.momentum.end=0.99 scheduler.momentum.end_epoch=500

Epoch e (counted from 1) trains with `start` up to `start_epoch`, with `end` from `end_epoch` on,
and in between with a value on the way from one to the other: `linear` moves the momentum itself
by equal steps; `exponential` moves 1 - momentum by equal factors (0.5 -> 0.99 halves the distance
to 1 as often early as late). `per: step` moves it after every optimizer step, by fractions of an
epoch; `per: epoch` once an epoch, so that a whole epoch trains with one value.
"""

from dataclasses import dataclass
from typing import Optional

from runner.errors import require

SHAPES = ("linear", "exponential")
PER = ("epoch", "step")
# What the schedule moves in each optimizer: SGD's (and so momentum's and nesterov's) and RMSprop's
# `momentum`, Adam's and AdamW's beta1. The others keep no momentum to move.
MOMENTUM_OF = {"sgd": "momentum", "rmsprop": "momentum", "adam": "beta1", "adamw": "beta1"}


@dataclass
class MomentumScheduleConfig:
    """Off while start and end are null (the optimizer keeps its own momentum); on with both set."""

    start: Optional[float] = None  # in [0, 1): the momentum of the first epochs
    end: Optional[float] = None  # in [0, 1): the momentum from end_epoch on
    start_epoch: int = 1  # >= 1: the last epoch at `start`, where the change begins
    end_epoch: int = 10  # >= start_epoch: the first epoch at `end`
    shape: str = "linear"  # linear | exponential (of 1 - momentum)
    per: str = "epoch"  # epoch | step: how often the momentum moves

    def __post_init__(self):
        if self.start is None and self.end is None:
            return
        for key in ("start", "end"):
            value = getattr(self, key)
            require(
                value is not None,
                f"momentum.{key}",
                "a momentum schedule needs both start and end (in [0, 1)); got only one",
            )
            require(0 <= value < 1, f"momentum.{key}", f"a momentum in [0, 1), got {value}")
        require(
            self.start_epoch >= 1,
            "momentum.start_epoch",
            f"an epoch >= 1 (epochs count from 1), got {self.start_epoch}",
        )
        require(
            self.end_epoch >= self.start_epoch,
            "momentum.end_epoch",
            f"the schedule ends before it starts: end_epoch {self.end_epoch} < start_epoch {self.start_epoch}",
        )
        require(self.shape in SHAPES, "momentum.shape", f"choose one of: {', '.join(SHAPES)} (got '{self.shape}')")
        require(self.per in PER, "momentum.per", f"choose one of: {', '.join(PER)} (got '{self.per}')")


def is_scheduled(schedule) -> bool:
    """Whether `scheduler.momentum` asks for a schedule (start and end set)."""
    return schedule is not None and schedule.start is not None


def check_momentum_optimizer(schedule, optimizer_name: str, cuda_graphs: bool = False) -> None:
    """Before any compute: a momentum schedule needs an optimizer with a momentum (or Adam's beta1),
    and steps that Python runs (a replayed CUDA graph keeps the momentum it was captured with)."""
    if not is_scheduled(schedule):
        return
    require(
        optimizer_name in MOMENTUM_OF,
        "scheduler.momentum",
        f"optimizer={optimizer_name} has no momentum to schedule; use one of: "
        + ", ".join(sorted({*MOMENTUM_OF, "momentum", "nesterov"}))
        + " (or leave scheduler.momentum.start and end null)",
    )
    require(
        not cuda_graphs,
        "scheduler.momentum",
        "a captured CUDA graph replays the momentum it was captured with; set trainer.cuda_graphs=false",
    )
