"""hydra/sweeper=job_list: a multirun over an explicit list of jobs instead of a grid.

Hydra's basic sweeper runs the cartesian product of its axes. `runner reproduce`
needs rows x seeds where rows miss different seeds (a table resumed half way), and
wants them all in one queue, longest first, so that with `--jobs 2` no core waits
while the last run of one group finishes before the next group may start.

Each entry of `hydra.sweeper.jobs` is one job's overrides, separated by spaces
(shell-style quoting for a value with spaces). The command line's own overrides
apply to every job; a sweep there (`a=1,2`) multiplies the list, as in a grid.
Jobs run in the listed order (joblib hands them to whichever worker is free).
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

from runner.launch.hydra_internals import BasicSweeper  # Hydra's grid expansion (private: see there)

TARGET = "hydra_plugins.runner_job_list_sweeper.job_list_sweeper.JobListSweeper"


@dataclass
class JobListSweeperConf:
    _target_: str = TARGET
    jobs: List[str] = field(default_factory=list)


ConfigStore.instance().store(group="hydra/sweeper", name="job_list", node=JobListSweeperConf, provider="runner")


def expand(jobs: List[str], arguments: List[str]) -> List[List[str]]:
    """Every job's override list: the command line's (each point of its grid), then the job's own.
    A malformed entry raises HydraException with one line naming it (`hydra.sweeper.jobs[3]: ...`)."""
    if not jobs:
        raise HydraException(
            "hydra/sweeper=job_list: hydra.sweeper.jobs is empty; list one job per entry, e.g. "
            "hydra.sweeper.jobs=['seed=0 model=mlp','seed=1 model=cnn']"
        )
    parser = OverridesParser.create()
    grid = BasicSweeper.split_arguments(parser.parse_overrides(arguments), None)[0]
    out = []
    for index, job in enumerate(jobs):
        own = _job_overrides(parser, f"hydra.sweeper.jobs[{index}]", job)
        out += [point + own for point in grid]
    return out


def _job_overrides(parser: OverridesParser, where: str, job: Any) -> List[str]:
    """One entry's overrides, each parsed alone so that the message can name the one that is wrong."""
    if not isinstance(job, str):  # `jobs=[{a:1}]` or `jobs=[[...]]`: Hydra hands over a node, not text
        raise HydraException(
            f"{where}: expected one job's overrides as a string ('seed=0 model=mlp'), got {_shown(job)}"
        )
    try:
        own = shlex.split(job)
    except ValueError as err:  # shlex: "No closing quotation", "No escaped character"
        raise HydraException(
            f"{where} ({job!r}): {str(err).lower()}; quote a value with spaces whole, e.g. model.name='a b'"
        ) from None
    for text in own:
        if "=" not in text and not text.startswith("~"):  # `jobs=[1,2]`: a bare value, no key
            raise HydraException(f"{where} ({job!r}): '{text}' is not an override (key=value)")
        try:
            parsed = parser.parse_overrides([text])[0]
        except HydraException as err:  # Hydra's message spans lines (a caret, a link): its first says what is wrong
            raise HydraException(
                f"{where} ({job!r}): cannot parse override '{text}' (key=value expected): {_first_line(err)}"
            ) from None
        if parsed.is_sweep_override():
            raise HydraException(
                f"{where}: job '{job}' holds a sweep ({parsed.input_line}); "
                "give each of its values its own entry in hydra.sweeper.jobs"
            )
    return own


def _shown(value: Any) -> str:
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value)
    return f"{type(value).__name__} {value!r}"


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0].strip() if lines else type(err).__name__


class JobListSweeper(Sweeper):
    def __init__(self, jobs: List[str]) -> None:
        super().__init__()
        self.jobs = list(jobs)
        self.hydra_context = self.config = self.launcher = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.hydra_context, self.config = hydra_context, config  # validate_batch_is_legal composes with them
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        batch = expand(self.jobs, arguments)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        self.validate_batch_is_legal(batch)  # a bad job fails here, before any job has run
        results = self.launcher.launch(batch, initial_job_idx=0)
        for r in results:
            _ = r.return_value  # re-raises a job's exception, as the basic sweeper does
        return [results]
