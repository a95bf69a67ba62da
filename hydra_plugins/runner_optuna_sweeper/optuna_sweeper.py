"""hydra/sweeper=optuna: runner's own hyper-parameter search on current Optuna (docs/tuning.md).

The config below is the whole interface; the work is done in runner/launch/: the search space
(search_space.py), the study and its loop of trials (optuna_search.py), trials left running by
a dead process (optuna_trials.py), and extra local workers for n_jobs (optuna_workers.py).
optuna itself is imported only when a sweep runs."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig

TARGET = "hydra_plugins.runner_optuna_sweeper.optuna_sweeper.OptunaSweeper"


@dataclass
class SamplerConf:
    name: str = "tpe"  # tpe | random | grid | cmaes
    seed: Optional[int] = None  # the same proposals on every launch of a fresh study


@dataclass
class PrunerConf:
    name: str = "none"  # none | median | asha | hyperband
    # median (optuna.pruners.MedianPruner)
    n_startup_trials: int = 5  # trials run to the end before any is pruned
    n_warmup_steps: int = 0  # epochs a trial runs before it may be pruned
    interval_steps: int = 1
    # asha (SuccessiveHalvingPruner) and hyperband (HyperbandPruner); null: Optuna's default
    min_resource: Optional[int] = None  # epochs before the first rung
    reduction_factor: Optional[int] = None  # asha 4, hyperband 3
    min_early_stopping_rate: int = 0  # asha
    max_resource: Optional[int] = None  # hyperband; null: Optuna's auto (the first finished trial's epochs)


@dataclass
class OptunaSweeperConf:
    _target_: str = TARGET
    direction: Optional[str] = None  # minimize | maximize; null: from early_stopping.monitor
    study_name: str = "search"
    storage: Optional[str] = None  # null: sqlite:///<sweep dir>/optuna.db (runner/launch/optuna_study.py)
    n_trials: int = 20  # trials the study holds when the search ends (a relaunch continues to it)
    n_jobs: int = 1  # trials at a time
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    repeats: int = 1  # runs per trial; the trial's value is their mean
    repeat_over: str = "seed"  # seed | cv_fold
    params: Dict[str, Any] = field(default_factory=dict)
    trial: Optional[int] = None  # set per job by the sweeper (hydra.sweeper.trial=<number>)
    repeat: int = 0  # set per job by the sweeper (hydra.sweeper.repeat=<r>)


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="runner")


class OptunaSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = settings
        self.hydra_context = self.config = self.launcher = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        from runner.launch.optuna_search import Search

        return Search(self, arguments).run()
