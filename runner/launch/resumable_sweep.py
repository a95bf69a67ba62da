"""A fixed sweep folder per command line, so that a cut-off sweep resumes when the
same command is launched again.

`runner train -m ... trainer.resume=auto` with no `hydra.sweep.dir=` runs the sweep in
<outputs>/sweeps/resumable/<experiment>-<hash of the command line>. Launched again, the
same command lands in the same folder, Hydra numbers the points in the same order, and
trainer.resume=auto makes each point skip itself when its results.json says finished,
or continue from its checkpoints/last.pt when it was cut off.

The hash covers the overrides as typed, except trainer.resume and the launcher
(`hydra/launcher=...`, `hydra.launcher.*`), which change how the points run, not what
they compute: a sweep started one point at a time can be finished with joblib. The
sweep axes keep their order (it decides which point gets which number); the other
overrides are sorted.

A guard: the folder records the points in Hydra's order (resumable.json). If the same
command now expands to other points (an experiment file's sweep list, or hydra.sweeper.jobs, was edited),
reusing the numbered folders would continue one point's checkpoint under another
point's settings, so the launch is refused. Sampled sweeps (optuna) cannot be listed
in advance; they must fix their sampler's seed so that trial n gets the same
parameters on every launch.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import List, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

import runner.config.schema  # noqa: F401  (registers the schemas that compose needs)
from hydra_plugins.runner_job_list_sweeper.job_list_sweeper import TARGET as JOB_LIST_SWEEPER
from hydra_plugins.runner_job_list_sweeper.job_list_sweeper import expand
from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import TARGET as OPTUNA_SWEEPER
from runner.io import atomic_write_json
from runner.launch.compose import compose_once
from runner.launch.hydra_internals import BasicSweeper

RECORD = "resumable.json"
BASIC_SWEEPER = f"{BasicSweeper.__module__}.{BasicSweeper.__name__}"


class ResumableSweepError(Exception):
    """The same command would not map its points to the same folders; str() is the message."""


def _parsed(overrides: List[str]):
    return OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])


def wants_resumable_folder(overrides: List[str]) -> bool:
    """trainer.resume=auto given on the command line, and no sweep folder chosen."""
    parsed = _parsed(overrides)
    resume = any(o.key_or_group == "trainer.resume" and o.value() == "auto" for o in parsed)
    chosen = any(o.key_or_group == "hydra.sweep.dir" for o in parsed)
    return resume and not chosen


# How many trials an optuna search runs, and how many at a time: a relaunch with more continues the same study.
SEARCH_EXTENT = ("hydra.sweeper.n_trials", "hydra.sweeper.n_jobs")


def _ignored(key: str) -> bool:
    return (
        key == "trainer.resume" or key == "hydra/launcher" or key.startswith("hydra.launcher.") or key in SEARCH_EXTENT
    )


def command_key(overrides: List[str]) -> str:
    """A short stable hash of what the command computes (see the module's docstring)."""
    kept = [o for o in _parsed(overrides) if not _ignored(o.key_or_group)]
    axes = [o.input_line for o in kept if o.is_sweep_override()]
    fixed = sorted(o.input_line for o in kept if not o.is_sweep_override())
    text = json.dumps({"axes": axes, "fixed": fixed})
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def folder_for(overrides: List[str], outputs_root: Optional[str] = None) -> Path:
    root = Path(outputs_root or os.environ.get("RUNNER_OUTPUTS") or "outputs")
    names = [o.value() for o in _parsed(overrides) if o.key_or_group == "experiment" and isinstance(o.value(), str)]
    prefix = "-".join(n.replace("/", "_") for n in names) or "sweep"
    return root / "sweeps" / "resumable" / f"{prefix}-{command_key(overrides)}"


def planned_points(overrides: List[str]) -> Optional[List[List[str]]]:
    """The job list of a basic (grid) sweep, numbered as Hydra numbers it; None for a
    sampled sweep. Raises ResumableSweepError for a sampled sweep without a fixed seed."""
    parsed = _parsed(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    task = [o.input_line for o in parsed if not o.is_hydra_override()]
    sweeper = compose_once(fixed, job_name="resumable", return_hydra_config=True).hydra.sweeper
    if sweeper.get("_target_") == JOB_LIST_SWEEPER:  # the listed jobs, in their order
        try:
            return [sorted(job) for job in expand(list(sweeper.jobs), task)]
        except HydraException:
            return None  # the sweeper itself will say what is wrong with the list
    if sweeper.get("_target_") == OPTUNA_SWEEPER:
        return None  # its study, in storage, says which trials ran: no seed needed to resume
    if sweeper.get("_target_") != BASIC_SWEEPER:
        sampler = sweeper.get("sampler")
        if sampler is not None and "seed" in sampler and sampler.get("seed") is None:
            raise ResumableSweepError(
                "trainer.resume=auto: this sweep samples its points and hydra.sweeper.sampler.seed is null, so a "
                "re-launch would give trial n other parameters than the run already in folder n; "
                "set hydra.sweeper.sampler.seed=<int>, or choose the folder yourself with hydra.sweep.dir=..."
            )
        return None
    node = sweeper.get("params")
    params = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    # What BasicSweeper.sweep does: the config's sweep params, then the command line's task overrides.
    lines = [f"{k}={v}" for k, v in params.items()] + task
    try:
        jobs = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(lines), None)[0]
    except HydraException:
        return None  # not a grid the basic sweeper can run; Hydra itself will say why
    return [sorted(job) for job in jobs]  # the jobs' order is their numbering; within a job, order is immaterial


def prepare(overrides: List[str], outputs_root: Optional[str] = None) -> Path:
    """Pick the command's folder and check (or record) its points; returns the folder."""
    folder = folder_for(overrides, outputs_root)
    points = planned_points(overrides)
    record = folder / RECORD
    if record.exists() and points is not None:
        try:
            before = json.loads(record.read_text()).get("points")
        except (OSError, ValueError):
            before = None
        if before is not None and before != points:
            changed = next((i for i, (a, b) in enumerate(zip(before, points)) if a != b), min(len(before), len(points)))
            raise ResumableSweepError(
                f"trainer.resume=auto: {folder} was started with other sweep points "
                f"({len(before)} then, {len(points)} now; point {changed} differs: was "
                f"{' '.join(before[changed]) if changed < len(before) else 'absent'}, now "
                f"{' '.join(points[changed]) if changed < len(points) else 'absent'}). "
                "Was an experiment's sweep list edited? Resuming would mix runs of different settings: "
                "delete that folder, or give hydra.sweep.dir=<new folder>"
            )
    folder.mkdir(parents=True, exist_ok=True)
    if not record.exists():
        atomic_write_json(record, {"command": [o for o in overrides if not o.startswith("-")], "points": points})
    return folder
