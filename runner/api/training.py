"""runner.train and runner.sweep: `runner train [-m] OVERRIDES` from Python. The same preflight
(cli.prepare_train), the same launch (runner/launch/app.py's run_one/run_sweep, without the CLI's
printing and exiting), the same run folders; each call puts the process's state back after it."""

import json
import os
from pathlib import Path
from typing import List, Optional

from runner.api.errors import ConfigError, RunError
from runner.api.run import Run, load
from runner.api.state import restored


def train(*overrides: str, experiment: Optional[str] = None, **options) -> Run:
    """One run. overrides as on the command line ("model=cnn", "optimizer.lr=0.1"); options are the
    same keys with `__` for the dots (trainer__epochs=3); experiment=name is +experiment=name.
    ConfigError before anything runs; RunError for a run that failed in a way the CLI names in one
    line. Ctrl-C stops the run as on the command line (its best weights tested, results.json
    written) and returns it."""
    args = command(overrides, experiment, options)
    if any(a in ("-m", "--multirun") for a in args):
        raise ConfigError("runner.train runs one config; for -m and sweep lists use runner.sweep")
    from runner.launch.app import run_one
    from runner.record import run_guard

    with restored():
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra hands a job's exception over instead of printing it
        launch = _prepared(args)
        folder = run_guard.run_dir(launch.config)
        try:
            _unwrapped(run_one)(launch.config)
        except KeyboardInterrupt:
            if not (folder / ".hydra").is_dir():
                raise  # stopped before the run began: nothing to return
        except Exception as err:
            raise _as_api_error(err) from err
    return load(folder)


def sweep(*overrides: str, experiment: Optional[str] = None, **options) -> List[Run]:
    """`runner train -m ...`: every point of the sweep (the launcher of the command line or the
    experiment: basic, joblib), returned in the sweep folder's order."""
    from runner.launch.app import run_sweep
    from runner.record.run_folders import find_runs

    args = ["-m", *(a for a in command(overrides, experiment, options) if a not in ("-m", "--multirun"))]
    with restored():
        os.environ["HYDRA_FULL_ERROR"] = "1"
        launch = _prepared(args)
        overrides = list(launch.overrides)
        if not any(o.lstrip("+").startswith("hydra.sweep.dir=") for o in overrides):
            overrides.append(f"hydra.sweep.dir={launch.config.hydra.sweep.dir}")  # known now, to find the runs after
        folder = Path(
            str(next(o for o in reversed(overrides) if o.lstrip("+").startswith("hydra.sweep.dir="))).split("=", 1)[1]
        )
        try:
            _unwrapped(run_sweep)(overrides, launch.sweep_dir)
        except KeyboardInterrupt:
            pass  # the points that ran are returned, the interrupted one among them
        except Exception as err:
            raise _as_api_error(err) from err
    return [load(run) for run in find_runs(folder) if run != folder]


def command(overrides, experiment: Optional[str], options: dict) -> List[str]:
    """The argument list `runner train` would get."""
    args = [str(o) for o in overrides]
    if experiment:
        args.append(f"+experiment={experiment}")
    args += [f"{key.replace('__', '.')}={_value(value)}" for key, value in options.items()]
    return args


def _value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _prepared(args: List[str]):
    from runner.cli import TrainRefused, prepare_train

    try:
        launch = prepare_train(args)
    except TrainRefused as refused:
        raise ConfigError(str(refused)) from None
    if launch.by_hydra:
        raise ConfigError("Hydra's own flags (--cfg, --info, -cn, hydra.verbose, ...) are for the command line")
    return launch


def _unwrapped(function):
    """run_one/run_sweep without reporting_faults, the CLI's wrapper that prints one line and exits."""
    return getattr(function, "__wrapped__", function)


def _as_api_error(err: Exception) -> Exception:
    from hydra.errors import HydraException

    from runner.errors import RunFault

    if isinstance(err, RunFault):
        return ConfigError(str(err)) if err.exit_code == 2 else RunError(str(err), err.exit_code)
    if isinstance(err, HydraException):
        return RunError(str(err).strip().splitlines()[0])
    return err
