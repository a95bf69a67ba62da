"""results.json: what a run ended with, as one dataclass whose fields are the file's keys.

The fields are in the file's order; a reader of an older or hand-made file gets a dict
(runner/record/run_folder.py, `read_results`), since such a file may lack any of them.
"""

from dataclasses import asdict, dataclass, field
from typing import List, Optional

from runner.config.metric_names import BITS_PER_CHARACTER, PERPLEXITY, metric_name

# How a run ended that it may be continued from (trainer.resume=auto); anything else is "finished".
UNFINISHED_STOPS = ("interrupted", "preempted")


@dataclass
class Results:
    status: str  # "finished", or one of UNFINISHED_STOPS
    # completed, early_stopping, time_limit, schedule_done, diverged, interrupted, preempted, or pruned
    # (a search's pruner stopped the trial: a finished, shorter run)
    stop_reason: str
    task: str
    epochs_run: int
    diverged_at: Optional[dict]  # {"epoch", "step"} of a diverged run
    best_epoch: int
    monitor: str
    tested_weights: str  # "best" or "last"
    tested_epoch: Optional[int]  # null: the weights of a stop inside an epoch
    train: dict  # {"loss", "accuracy"} of the tested weights
    val: dict
    test: dict
    # Over every process that worked on the run (time lost after a kill's last checkpoint is not counted).
    wall_time_s: float
    resumed_after_epoch: Optional[int]
    params: int
    device: str
    world_size: int  # processes training together (trainer.strategy=ddp)
    seed: int
    threads: int  # CPU threads torch used: exact repeats need the same count (README)
    overrides: List[str] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    git_commit: Optional[str] = None

    def as_json(self) -> dict:
        return asdict(self)


def status_of(stop_reason: str) -> str:
    return stop_reason if stop_reason in UNFINISHED_STOPS else "finished"


def split_entry(row: dict, split: str) -> dict:
    """A metrics.csv row's loss and accuracy of one split, and its task's other metrics (a language
    model's bits_per_character or perplexity): results.json's train/val entries."""
    entry = {metric: row.get(metric_name(split, metric)) for metric in ("loss", "accuracy")}
    for metric in (BITS_PER_CHARACTER, PERPLEXITY):
        if metric_name(split, metric) in (row or {}):
            entry[metric] = row[metric_name(split, metric)]
    return entry
