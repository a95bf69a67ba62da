"""A search's pruner, heard once an epoch (hydra/sweeper=optuna with a pruner).

The loop is handed the trial it trains for (an Optuna trial, loaded by runner/launch/trial_link.py;
only its report/should_prune are used, so fit/ never imports optuna): after each epoch's metrics
and checkpoints are written, the run reports its monitored metric (early_stopping.monitor) for
that epoch and stops with stop_reason "pruned" when the pruner says so. The folder stays complete:
metrics.csv to that epoch, best.pt, results.json of the tested weights. Under DDP rank 0 alone
talks to the study and every rank follows its answer.

(Rewritten by the lead at 06:15 after an accidental overwrite, to the API loop.py uses: PRUNED,
TrialPruning.attach, prunes_after. The helper who owns this file may replace it.)"""

import logging
import math
from dataclasses import dataclass
from typing import Any, Optional

log = logging.getLogger("runner")

PRUNED = "pruned"  # results.json's stop_reason of a pruned trial (status: finished)


@dataclass
class TrialPruning:
    trial: Any  # None on ranks other than 0
    monitor: str
    runtime: Any

    @classmethod
    def attach(cls, trial, monitor: str, runtime) -> Optional["TrialPruning"]:
        """None when there is no trial on any rank (not a search, or a pruner-less one)."""
        if not runtime.agree(trial is not None):
            return None
        return cls(trial, monitor, runtime)

    def prunes_after(self, epoch: int, row: dict, epochs_left: bool) -> bool:
        """Report this epoch's monitored value; True when the search prunes the trial (and epochs are left)."""
        verdict = False
        if self.trial is not None and self.runtime.is_main:
            value = row.get(self.monitor)
            if value is not None and math.isfinite(value):
                self.trial.report(float(value), epoch)
                verdict = epochs_left and bool(self.trial.should_prune())
        if not self.runtime.agree(verdict):
            return False
        log.info(f"pruned by the search's pruner after epoch {epoch}: stopping")
        return True
