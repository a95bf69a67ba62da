"""Schemas of the scheduler group (`scheduler=none|step|exponential|cosine|plateau|halving`);
the schedules are built in runner/build/schedulers.py.

Every member also has `momentum`: a momentum schedule run beside the learning-rate one
(runner/config/momentum.py), off while its start and end are null."""

from dataclasses import dataclass, field
from typing import Optional

from runner.config.members import Members
from runner.config.metric_names import MONITORS, VAL_ACCURACY, VAL_LOSS
from runner.config.momentum import MomentumScheduleConfig
from runner.errors import require


def beside_momentum():
    """Every member's `momentum` key: a momentum schedule beside its lr schedule (off: null start)."""
    return field(default_factory=MomentumScheduleConfig)


def _check_monitor(monitor: str, mode: str) -> None:
    require(monitor in MONITORS, "monitor", f"unknown metric '{monitor}'; choose one of: {', '.join(MONITORS)}")
    require(mode in ("auto", "min", "max"), "mode", f"choose one of: auto, min, max (got '{mode}')")


@dataclass
class NoSchedulerConfig:
    name: str = "none"
    momentum: MomentumScheduleConfig = beside_momentum()


@dataclass
class StepConfig:
    name: str = "step"
    step_size: int = 10  # epochs between decays
    gamma: float = 0.1  # lr <- gamma * lr every step_size epochs

    momentum: MomentumScheduleConfig = beside_momentum()

    def __post_init__(self):
        require(self.step_size >= 1, "step_size", f"at least 1 epoch, got {self.step_size}")
        require(0 < self.gamma <= 1, "gamma", f"a factor in (0, 1], got {self.gamma}")


@dataclass
class ExponentialConfig:
    name: str = "exponential"
    gamma: float = 0.95  # lr <- gamma * lr every epoch

    momentum: MomentumScheduleConfig = beside_momentum()

    def __post_init__(self):
        require(0 < self.gamma <= 1, "gamma", f"a factor in (0, 1], got {self.gamma}")


@dataclass
class CosineConfig:
    name: str = "cosine"
    t_max: int = 10  # epochs from the initial lr down to eta_min (the YAML sets ${trainer.epochs})
    eta_min: float = 0.0

    momentum: MomentumScheduleConfig = beside_momentum()

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

    momentum: MomentumScheduleConfig = beside_momentum()

    def __post_init__(self):
        _check_monitor(self.monitor, self.mode)
        require(0 < self.factor < 1, "factor", f"a factor in (0, 1), got {self.factor}")
        require(self.patience >= 0, "patience", f"must be >= 0, got {self.patience}")
        require(self.threshold >= 0, "threshold", f"must be >= 0, got {self.threshold}")
        require(
            self.threshold_mode in ("rel", "abs"),
            "threshold_mode",
            f"choose one of: rel, abs (got '{self.threshold_mode}')",
        )
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

    momentum: MomentumScheduleConfig = beside_momentum()

    def __post_init__(self):
        _check_monitor(self.monitor, self.mode)
        require(self.patience >= 1, "patience", f"at least 1 epoch, got {self.patience}")
        require(
            self.max_halvings is None or self.max_halvings >= 1,
            "max_halvings",
            f"null or at least 1, got {self.max_halvings}",
        )
        require(0 < self.factor < 1, "factor", f"a factor in (0, 1), got {self.factor}")
        require(self.min_delta >= 0, "min_delta", f"must be >= 0, got {self.min_delta}")


SCHEDULER_MEMBERS = Members(
    "scheduler",
    {
        "none": NoSchedulerConfig,
        "step": StepConfig,
        "exponential": ExponentialConfig,
        "cosine": CosineConfig,
        "plateau": PlateauConfig,
        "halving": HalvingConfig,
    },
)
