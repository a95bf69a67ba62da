"""The `reference` node of an experiment that reproduces a documented result
(experiments/reproduce/*.yaml); read by `runner reproduce` and its reports."""

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from runner.errors import require

REFERENCE_METRICS = ("peak_test", "test_at_best_val", "best_val", "final_test", "test_loss", "ensemble_test")


@dataclass
class ReferenceConfig:
    """A documented result this run reproduces (experiments/reproduce/*.yaml)."""

    id: str = MISSING
    group: str = ""  # e.g. nielsen-ch1; `runner reproduce nielsen` selects every nielsen-* row
    description: str = ""
    value: Optional[float] = None  # percent for accuracies, raw for losses; null when the source gives no number
    metric: str = "test_at_best_val"  # how the source reported it (see REFERENCE_METRICS)
    tolerance: Optional[float] = None  # default: 0.15 points above 99%, 0.3 below (MNIST_RESULTS.md)
    seeds: int = 3
    documented_epochs: Optional[int] = None  # the source's epoch count; runs shorter than this are flagged
    source: str = ""
    notes: str = ""
    ensemble_of: Optional[str] = None  # for ensemble_test: the row whose runs vote
    compare_with: Optional[str] = None  # a row to set this one beside when it has no number

    def __post_init__(self):
        require(
            self.metric in REFERENCE_METRICS,
            "metric",
            f"choose one of: {', '.join(REFERENCE_METRICS)} (got '{self.metric}')",
        )
        require(self.seeds >= 1, "seeds", f"at least 1, got {self.seeds}")
