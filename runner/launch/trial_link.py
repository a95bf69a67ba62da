"""The job's side of `hydra/sweeper=optuna` (hydra_plugins/runner_optuna_sweeper/): which live
trial a job reports to, and the value a finished job scores its trial by.

The sweeper asks the study for trial N and launches its jobs with `hydra.sweeper.trial=N`
(and `hydra.sweeper.repeat=r`); each job opens the study's storage itself (a joblib worker,
a SLURM job on another machine) and reports its monitored metric there every epoch
(runner/fit/pruning.py). Only repeat 0 reports: the pruner ranks one learning curve per trial."""

import math
from typing import Any, Optional

from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import TARGET as SWEEPER_TARGET
from runner.errors import RunFault
from runner.launch.optuna_study import load_trial, storage_url
from runner.launch.search_settings import make_pruner


def job_trial(hydra_cfg) -> Optional[Any]:
    """The live Optuna trial this job reports to, or None: not a job of runner's Optuna sweeper,
    no trial number, a repeat after the first, or no pruner (nothing would read the reports)."""
    sweeper = hydra_cfg.sweeper
    if sweeper.get("_target_") != SWEEPER_TARGET or sweeper.get("trial") is None:
        return None
    pruner = sweeper.get("pruner") or {}
    if int(sweeper.get("repeat") or 0) != 0 or pruner.get("name", "none") == "none":
        return None
    url = storage_url(sweeper.get("storage"), hydra_cfg.sweep.dir)
    try:
        trial = load_trial(url, sweeper.study_name, int(sweeper.trial))
    except Exception as err:  # a storage this job cannot reach, a study or trial that is not there
        raise RunFault(
            f"hydra.sweeper.trial={sweeper.trial}: cannot open trial {sweeper.trial} of study "
            f"'{sweeper.study_name}' in {url}: {one_line(err)}",
            1,
        ) from err
    # Optuna's study object decides should_prune() with its own pruner, and a study loaded from
    # storage gets the default MedianPruner: the job's must be the one the sweep configured.
    trial.study.pruner = make_pruner(pruner)
    return trial


def objective(results: dict) -> Optional[float]:
    """The value a trial is scored by: results.json's monitored metric at the tested weights
    (monitor "val/loss" -> results["val"]["loss"]); None when missing or not finite."""
    results = results if isinstance(results, dict) else {}
    split, _, metric = str(results.get("monitor") or "").partition("/")
    entry = results.get(split)
    value = entry.get(metric) if isinstance(entry, dict) and metric else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return float(value)


def one_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
