"""The settings of hydra/sweeper=optuna other than its space: sampler, pruner, direction,
storage, repeats, checked before the first trial (one line naming the key), and turned into
Optuna's objects when the search runs. optuna is imported only in the make_* functions."""

import difflib
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from runner.config.metric_names import VAL_LOSS, higher_is_better
from runner.errors import ConfigError
from runner.launch.optuna_study import is_rdb

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("none", "median", "asha", "hyperband")
DIRECTIONS = ("minimize", "maximize")
REPEAT_OVER = ("seed", "cv_fold")
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")  # with a driver too: postgresql+psycopg2


def _one_of(value: Any, allowed, key: str, what: str) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(key, f"unknown {what} '{value}'{hint}; choose one of: {', '.join(allowed)}")


def direction_of(sweeper: DictConfig, cfg: DictConfig) -> str:
    """hydra.sweeper.direction, or what early_stopping.monitor says (accuracy up, loss down)."""
    if sweeper.get("direction") is not None:
        return str(sweeper.direction)
    monitor = OmegaConf.select(cfg, "early_stopping.monitor", default=VAL_LOSS)
    return "maximize" if higher_is_better(str(monitor)) else "minimize"


def check_settings(sweeper: DictConfig, cfg: DictConfig) -> None:
    """Everything but the space; ConfigError naming the key."""
    _one_of(sweeper.sampler.name, SAMPLERS, "hydra.sweeper.sampler.name", "sampler")
    _one_of(sweeper.pruner.name, PRUNERS, "hydra.sweeper.pruner.name", "pruner")
    if sweeper.get("direction") is not None:
        _one_of(sweeper.direction, DIRECTIONS, "hydra.sweeper.direction", "direction")
    _one_of(sweeper.repeat_over, REPEAT_OVER, "hydra.sweeper.repeat_over", "repeat_over")
    if sweeper.n_trials < 1:
        raise ConfigError("hydra.sweeper.n_trials", f"must be >= 1, got {sweeper.n_trials}")
    if sweeper.n_jobs < 1:
        raise ConfigError("hydra.sweeper.n_jobs", f"must be >= 1 (trials at a time), got {sweeper.n_jobs}")
    if sweeper.repeats < 1:
        raise ConfigError("hydra.sweeper.repeats", f"must be >= 1 (runs per trial), got {sweeper.repeats}")
    folds = OmegaConf.select(cfg, "data.cv_folds", default=0) or 0
    if sweeper.repeat_over == "cv_fold" and sweeper.repeats > 1 and folds < sweeper.repeats:
        raise ConfigError(
            "hydra.sweeper.repeats",
            f"{sweeper.repeats} repeats over cv_fold need data.cv_folds >= {sweeper.repeats} (now {folds})",
        )
    if sweeper.sampler.name == "cmaes":
        _needs("cmaes", "hydra.sweeper.sampler.name", "sampler cmaes needs the cmaes package: pip install cmaes")
    if sweeper.pruner.name != "none":
        _check_prunable(cfg)
    _check_storage(sweeper.get("storage"))


def _needs(module: str, key: str, message: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(key, message)


def _check_prunable(cfg: DictConfig) -> None:
    """A pruner compares trials on the metric they report after each epoch's validation."""
    monitor = str(OmegaConf.select(cfg, "early_stopping.monitor", default=""))
    if not monitor.startswith("val/"):
        raise ConfigError(
            "hydra.sweeper.pruner.name",
            f"a pruner compares trials on a validation metric, and early_stopping.monitor is '{monitor}': "
            "monitor val/loss or val/accuracy, or use pruner.name=none",
        )
    if OmegaConf.select(cfg, "trainer.epochs", default=None) == 1:
        raise ConfigError(
            "hydra.sweeper.pruner.name",
            "trials are pruned between epochs, and trainer.epochs=1 leaves none: train longer, or use pruner.name=none",
        )


def _check_storage(storage: Optional[str]) -> None:
    """The form of the URL (runner/config/policy.py decides where a file may lie); an RDB
    server is tried by the search itself, before the first trial."""
    if storage is None or not str(storage).strip() or not is_rdb(str(storage)):
        return
    scheme = str(storage).partition("://")[0].partition("+")[0]
    if scheme not in RDB_SCHEMES:
        raise ConfigError(
            "hydra.sweeper.storage",
            f"unsupported storage '{scheme}://...': use sqlite:///<file>, postgresql://..., mysql://..., "
            "or a journal file path (several machines on a shared file system)",
        )


def make_sampler(sampler: DictConfig, grid: Optional[dict]) -> Any:
    import optuna

    seed = sampler.get("seed")
    if sampler.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler.name == "grid":
        return optuna.samplers.GridSampler(grid, seed=seed)
    if sampler.name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(pruner: DictConfig) -> Any:
    """The sweep's pruner; each job makes the same one from the same config (runner/launch/trial_link.py),
    since the job's study object is the one that decides should_prune()."""
    import optuna

    if pruner.name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=pruner.n_startup_trials,
            n_warmup_steps=pruner.n_warmup_steps,
            interval_steps=pruner.interval_steps,
        )
    if pruner.name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=pruner.min_resource if pruner.min_resource is not None else "auto",
            reduction_factor=pruner.reduction_factor or 4,
            min_early_stopping_rate=pruner.min_early_stopping_rate,
        )
    if pruner.name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=pruner.min_resource or 1,
            max_resource=pruner.max_resource or "auto",
            reduction_factor=pruner.reduction_factor or 3,
        )
    return optuna.pruners.NopPruner()
