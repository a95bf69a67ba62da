"""Early stopping on a monitored validation metric.

The stopper also decides which epoch is "best" (the checkpoint that is tested),
so it runs even with `early_stopping=none`; `policy: none` only means it never
asks the loop to stop.
"""

import math
from dataclasses import dataclass

from runner.errors import require

POLICIES = ("none", "patience")
MONITORS = ("val/accuracy", "val/loss", "train/loss", "train/accuracy")


@dataclass
class EarlyStoppingConfig:
    policy: str = "none"
    monitor: str = "val/accuracy"
    mode: str = "auto"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self):
        require(self.policy in POLICIES, "policy", f"unknown policy '{self.policy}'; choose one of: {', '.join(POLICIES)}")
        require(self.monitor in MONITORS, "monitor", f"unknown metric '{self.monitor}'; choose one of: {', '.join(MONITORS)}")
        require(self.mode in ("auto", "min", "max"), "mode", f"choose one of: auto, min, max (got '{self.mode}')")
        require(self.patience >= 0, "patience", f"must be >= 0, got {self.patience}")
        require(self.min_delta >= 0, "min_delta", f"must be >= 0, got {self.min_delta}")

    @property
    def maximize(self) -> bool:
        if self.mode == "auto":
            return self.monitor.endswith("accuracy")
        return self.mode == "max"


class EarlyStopping:
    def __init__(self, cfg: EarlyStoppingConfig):
        self.cfg = cfg
        self.best_value = -math.inf if cfg.maximize else math.inf
        self.best_epoch = 0
        self.bad_epochs = 0

    def update(self, epoch: int, metrics: dict) -> bool:
        """Record one epoch; returns True when this epoch is the new best."""
        value = metrics[self.cfg.monitor]
        gain = (value - self.best_value) if self.cfg.maximize else (self.best_value - value)
        if gain > self.cfg.min_delta or self.best_epoch == 0:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.cfg.policy == "patience" and self.bad_epochs >= max(self.cfg.patience, 1)

    def state_dict(self) -> dict:
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best_value, self.best_epoch, self.bad_epochs = state["best_value"], state["best_epoch"], state["bad_epochs"]
