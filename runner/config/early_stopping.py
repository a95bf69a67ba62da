"""The early_stopping group's schema; the stopper that applies it is runner/build/early_stopping.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.metric_names import MONITORS, VAL_ACCURACY, higher_is_better
from runner.errors import require

POLICIES = ("none", "patience", "no_improvement_in_n")


@dataclass
class EarlyStoppingConfig:
    policy: str = "none"
    monitor: str = VAL_ACCURACY
    mode: str = "auto"
    patience: int = 5  # epochs without improvement before stopping (Nielsen's n)
    min_delta: float = 0.0
    restore_best: bool = True
    max_minutes: Optional[float] = None  # wall-time limit, checked after each epoch; null = none

    def __post_init__(self):
        require(
            self.policy in POLICIES, "policy", f"unknown policy '{self.policy}'; choose one of: {', '.join(POLICIES)}"
        )
        require(
            self.monitor in MONITORS,
            "monitor",
            f"unknown metric '{self.monitor}'; choose one of: {', '.join(MONITORS)}",
        )
        require(self.mode in ("auto", "min", "max"), "mode", f"choose one of: auto, min, max (got '{self.mode}')")
        require(self.patience >= 0, "patience", f"must be >= 0, got {self.patience}")
        require(self.min_delta >= 0, "min_delta", f"must be >= 0, got {self.min_delta}")
        require(
            self.max_minutes is None or self.max_minutes > 0,
            "max_minutes",
            f"null (no limit) or > 0 minutes, got {self.max_minutes}",
        )

    @property
    def maximize(self) -> bool:
        if self.mode == "auto":
            return higher_is_better(self.monitor)
        return self.mode == "max"
