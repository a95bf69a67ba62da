"""Momentum schedules and per-layer max-norm bounds a careless user writes: each refused before any
run, in one `runner:` line naming the key, exit code 2, no run folder."""

import pytest
from adversarial_support import refused
from conftest import TINY

SCHEDULE = ["scheduler.momentum.start=0.5", "scheduler.momentum.end=0.9"]

BAD = {
    "momentum_of_one": (["scheduler.momentum.start=0.5", "scheduler.momentum.end=1.0"], ["scheduler.momentum.end", "[0, 1)"]),
    "negative_momentum": (["scheduler.momentum.start=-0.1", "scheduler.momentum.end=0.9"], ["scheduler.momentum.start", "[0, 1)"]),
    "end_before_start": ([*SCHEDULE, "scheduler.momentum.start_epoch=5", "scheduler.momentum.end_epoch=3"], ["scheduler.momentum.end_epoch", "ends before it starts"]),
    "only_a_start": (["scheduler.momentum.start=0.5"], ["scheduler.momentum.end", "both start and end"]),
    "unknown_shape": ([*SCHEDULE, "scheduler.momentum.shape=cosine"], ["scheduler.momentum.shape", "linear, exponential"]),
    "adagrad_has_no_momentum": ([*SCHEDULE, "optimizer=adagrad"], ["scheduler.momentum", "optimizer=adagrad has no momentum"]),
    "lbfgs_has_no_momentum": ([*SCHEDULE, "optimizer=lbfgs"], ["scheduler.momentum", "optimizer=lbfgs"]),
    "bounds_of_the_wrong_length": (["model.hidden_sizes=[8,8]", "regularization.max_norm=[1,2]"], ["regularization.max_norm", "3 layers with weights", "give 3 bounds"]),
    "bounds_counting_the_freed_output": (["model.hidden_sizes=[8,8]", "regularization.max_norm=[1,2,3]", "regularization.max_norm_output=false"], ["regularization.max_norm", "give 2 bounds", "left free"]),
    "a_negative_bound": (["regularization.max_norm=[1,-2]"], ["regularization.max_norm", ">= 0"]),
    "a_word_for_a_bound": (["regularization.max_norm=big"], ["regularization.max_norm", "a bound >= 0"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_schedule_or_bound_is_refused_before_any_run(cli, case):
    overrides, words = BAD[case]
    result = cli("train", *TINY, *overrides)
    refused(result, *words)
    assert result.run_dirs() == []
