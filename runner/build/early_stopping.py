"""Early stopping on a monitored validation metric, and a wall-time limit.

The stopper also decides which epoch is "best" (the checkpoint that is tested),
so it runs even with `early_stopping=none`; `policy: none` only means it never
asks the loop to stop for lack of improvement. `max_minutes` works with every
policy. After `should_stop`, `stop_reason` says why ("early_stopping" or
"time_limit") and `explanation()` says it in words.

Nielsen's "no-improvement-in-n" rule (ch. 3: stop when the best validation
accuracy has not improved for n epochs) is `policy: no_improvement_in_n` with
n = `patience`, monitor val/accuracy and min_delta 0: the same test as
`patience`, kept under his name so that his experiments read as written.

The stopper also holds the explosion rule (trainer.divergence_factor, see `exploded`):
its yardstick, the training loss before the first step, is part of its checkpointed state.
"""

import math
import time
from typing import Optional

from runner.config.early_stopping import EarlyStoppingConfig


class EarlyStopping:
    def __init__(self, cfg: EarlyStoppingConfig, divergence_factor: float = 0.0):
        self.cfg = cfg
        self.divergence_factor = divergence_factor  # 0: no explosion rule (NaN/inf losses still stop a run)
        self.initial_loss: Optional[float] = None  # training loss before the first step: the explosion rule's yardstick
        self.best_value = -math.inf if cfg.maximize else math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.started = time.perf_counter()  # the wall-time limit counts from here (plus earlier sessions on resume)

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
    def elapsed_minutes(self) -> float:
        return (time.perf_counter() - self.started) / 60

    @property
    def out_of_time(self) -> bool:
        return self.cfg.max_minutes is not None and self.elapsed_minutes >= self.cfg.max_minutes

    @property
    def out_of_patience(self) -> bool:
        return self.cfg.policy in ("patience", "no_improvement_in_n") and self.bad_epochs >= max(self.cfg.patience, 1)

    @property
    def should_stop(self) -> bool:
        return self.out_of_patience or self.out_of_time

    @property
    def stop_reason(self) -> Optional[str]:
        """Why the run should stop now: "early_stopping", "time_limit", or None."""
        if self.out_of_patience:
            return "early_stopping"
        if self.out_of_time:
            return "time_limit"
        return None

    def exploded(self, train_loss: float) -> bool:
        """The explosion rule: an epoch's training loss above divergence_factor x the loss before the
        first step. Not the first epoch's loss: a huge learning rate blows the loss up within epoch 1
        (lr=1e6 on the synthetic data: 5e28 in epoch 1, then ~1e5), so epoch 1 would be a useless yardstick."""
        reference = self.initial_loss
        return (
            bool(self.divergence_factor)
            and reference is not None
            and reference > 0
            and train_loss > self.divergence_factor * reference
        )

    def explosion_limit(self) -> float:
        return self.divergence_factor * (self.initial_loss or 0.0)

    def describe(self, epochs: int) -> str:
        """The stopping rule in force, in one line for the start of the console."""
        cfg = self.cfg
        time_limit = f"; wall-time limit {cfg.max_minutes:g} min" if cfg.max_minutes is not None else ""
        if cfg.policy == "none":
            return f"early stopping: none (all {epochs} epochs{time_limit}; the best {cfg.monitor} epoch is tested)"
        rule = "patience" if cfg.policy == "patience" else "no_improvement_in_n"
        return (
            f"early stopping: {rule} {max(cfg.patience, 1)} on {cfg.monitor}{time_limit} "
            f"(early_stopping=none to train all {epochs} epochs)"
        )

    def explanation(self) -> str:
        if self.out_of_patience:
            return f"no improvement of {self.cfg.monitor} for {self.bad_epochs} epochs"
        if self.out_of_time:
            return f"wall-time limit of {self.cfg.max_minutes:g} minutes reached ({self.elapsed_minutes:.2f} min)"
        return "no reason to stop"

    def state_dict(self) -> dict:
        return {
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "initial_loss": self.initial_loss,
            "elapsed_s": time.perf_counter() - self.started,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best_value, self.best_epoch, self.bad_epochs = (
            state["best_value"],
            state["best_epoch"],
            state["bad_epochs"],
        )
        self.started = time.perf_counter() - state.get("elapsed_s", 0.0)
        self.initial_loss = state.get("initial_loss")  # absent in older checkpoints: measured again on resume
