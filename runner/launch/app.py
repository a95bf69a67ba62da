"""`runner train`: the Hydra application. Hydra composes conf/ + overrides, picks the
run folder, and runs sweeps (-m); `train_job` validates and calls `fit`.

runner/cli.py has already composed and checked the command line (runner/launch/preflight.py)
when it calls `run_one` or `run_sweep`: these drive Hydra's own Hydra.run/multirun
without @hydra.main's extra compositions. `train_app` (@hydra.main) remains for
Hydra's command-line flags."""

import contextlib
import errno
import functools
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import configure_log, run_job
from hydra.errors import HydraException
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, OmegaConf, read_write

from runner.config.schema import validate
from runner.errors import CheckpointError, ConfigError, RunFault
from runner.fit import distributed
from runner.fit.loop import fit
from runner.io import atomic_write_text
from runner.launch.compose import CONFIG_NAME, VERSION_BASE, hydra_app
from runner.launch.hparams import hparams_of, run_name, sweep_name_override
from runner.launch.hydra_internals import Callbacks, replace_config_writer
from runner.launch.startup import import_run_modules
from runner.launch.train_help import config_groups  # noqa: F401  registers its resolver for Hydra's --help
from runner.launch.trial_link import job_trial
from runner.paths import CONF_DIR
from runner.record import run_guard, run_lock

# ---------------------------------------------------------------- faults the user can fix: one line, no traceback

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EEXIST)
OUT_OF_MEMORY = ("out of memory", "not enough memory", "DefaultCPUAllocator", "Cannot allocate memory")


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(err, RuntimeError) and any(text in str(err) for text in OUT_OF_MEMORY)


def os_error_message(err: OSError, folder=None) -> str:
    """`cannot write in <folder>: No space left on device [ENOSPC]; …` (a write() has no file name: the run folder is named)."""
    path = err.filename or folder or "the output folder"
    reason = f"{err.strerror or err} [{errno.errorcode.get(err.errno, 'errno ' + str(err.errno))}]"
    if err.errno in NO_SPACE:
        return f"cannot write in {path}: {reason}; free some space, or put runs on another disk with RUNNER_OUTPUTS=<folder>"
    if err.errno in NOT_WRITABLE:
        return f"cannot create or write {path}: {reason}; RUNNER_OUTPUTS (or hydra.run.dir) must name a folder you may write to"
    return f"{path}: {reason}"


def out_of_memory_message(err: BaseException, cfg: DictConfig) -> str:
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
    batch, eval_batch = OmegaConf.select(cfg, "trainer.batch_size"), OmegaConf.select(cfg, "trainer.eval_batch_size")
    return (
        f"out of memory ({first}): use a smaller trainer.batch_size (now {batch}) "
        f"or trainer.eval_batch_size (now {eval_batch}), or a smaller model"
    )


def explaining_faults(task):
    """Inside the job (where the run folder and the config are known): faults become RunFault."""

    @functools.wraps(task)
    def run(cfg: DictConfig):
        try:
            return task(cfg)
        except RunFault:
            raise
        except ConfigError as err:  # found while building (no CUDA, an init_from checkpoint that does not fit)
            raise RunFault(f"config error: {err}", 2) from err
        except CheckpointError as err:
            raise RunFault(str(err), 2) from err
        except OSError as err:
            raise RunFault(os_error_message(err, HydraConfig.get().runtime.output_dir), 1) from err
        except (RuntimeError, MemoryError) as err:
            if is_out_of_memory(err):
                raise RunFault(out_of_memory_message(err, cfg), 1) from err
            raise

    return run


def reporting_faults(app):
    """Around Hydra: a RunFault (or an OSError before the job starts, e.g. a run folder that cannot
    be created) is printed as one `runner: …` line with its exit code instead of a traceback.
    HYDRA_FULL_ERROR=1 makes Hydra hand the exception over rather than print it itself."""

    @functools.wraps(app)
    def run(*args, **kwargs):
        previous = os.environ.get("HYDRA_FULL_ERROR")
        os.environ["HYDRA_FULL_ERROR"] = "1"
        raising = logging.raiseExceptions
        quiet_logging_errors()
        try:
            return app(*args, **kwargs)
        except RunFault as fault:
            _report(str(fault), fault.exit_code)
        except OSError as err:
            _report(os_error_message(err), 1)
        except HydraException as err:
            _report(str(err).strip().splitlines()[0], 1)
        except Exception:  # a bug: the whole story
            traceback.print_exc()
            sys.exit(1)
        finally:
            logging.raiseExceptions = raising  # a caller in the same process (tests) gets its own setting back
            if previous is None:
                os.environ.pop("HYDRA_FULL_ERROR", None)
            else:
                os.environ["HYDRA_FULL_ERROR"] = previous

    return run


def quiet_logging_errors() -> None:
    """A full disk makes every write to train.log fail, and Python's logging prints a
    `--- Logging error ---` traceback for each one. The run's own next write fails the same way
    and ends it with one line naming the folder and the error: that line is the report."""
    logging.raiseExceptions = False


def _save_config_atomically(cfg, filename: str, output_dir: Path) -> None:
    """Hydra's run_job writes .hydra/config.yaml, hydra.yaml and overrides.yaml in place: a full disk
    left a 0-byte hydra.yaml, and could truncate a resumed run's overrides.yaml (which
    trainer.resume=<run dir> reads back). The same text, written as every run file is (temp + rename)."""
    atomic_write_text(Path(output_dir) / filename, OmegaConf.to_yaml(cfg))


replace_config_writer(_save_config_atomically)


def _report(message: str, code: int) -> None:
    print(f"runner: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


@explaining_faults
def train_job(cfg: DictConfig) -> dict:
    """One run, inside Hydra's job (the run folder exists, HydraConfig is set). A module-level
    name, so that joblib's workers unpickle it by reference (an import), not by value.
    Returns results.json's dict: runner's Optuna sweeper scores a trial by it (runner/launch/trial_link.py)."""
    import_run_modules()  # in a joblib worker: torch._dynamo, with the collector paused
    quiet_logging_errors()  # in a joblib worker too (in this process, reporting_faults puts it back)
    run_cfg = validate(cfg)
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    key = "hydra.sweep.dir" if hydra_cfg.mode == RunMode.MULTIRUN else "hydra.run.dir"
    with (
        folder_lock(output_dir, key),
        distributed.process_group(run_cfg.trainer),
        labelled_lines(sweep_label(hydra_cfg)),
    ):  # process group: ddp under torchrun
        if distributed.launched_rank() == 0:
            run_guard.start_over_if_asked(run_cfg.trainer, output_dir)
        run_dir = distributed.from_main(output_dir)  # every rank works in rank 0's folder
        hparams, name = hparams_of(cfg, hydra_cfg), run_name(hydra_cfg)  # what TensorBoard shows
        trial = job_trial(hydra_cfg) if distributed.launched_rank() == 0 else None  # rank 0 alone talks to the study
        return fit(run_cfg, run_dir, hparams, hydra_cfg.overrides.task, run_name=name, trial=trial)


def folder_lock(folder: Path, key: str):
    """The run folder's lock (runner/record/run_lock.py), held by the process that writes the folder: under
    torchrun that is rank 0 alone (the other ranks write nothing there)."""
    if distributed.launched_rank() != 0:
        return contextlib.nullcontext()
    return run_lock.holding(folder, key)


def sweep_label(hydra_cfg) -> str:
    """A sweep point's folder under its sweep (`3`, `N12/seed2`); empty for a single run."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return ""
    out = Path(hydra_cfg.runtime.output_dir)
    try:
        return out.relative_to(Path(hydra_cfg.sweep.dir).resolve()).as_posix()
    except ValueError:
        return out.name


@contextlib.contextmanager
def labelled_lines(label: str):
    """Runs side by side (joblib, --jobs 2) print into one terminal: each of a sweep point's
    lines starts with [its folder], so that `epoch 7/60 ...` says whose epoch it is."""
    if not label:
        yield
        return

    def prefix(record) -> bool:
        record.msg, record.args = (
            f"[{label}] {record.getMessage()}",
            None,
        )  # formatted once, so a % in the label is text
        return True

    logger = logging.getLogger("runner")
    logger.addFilter(prefix)
    try:
        yield
    finally:
        logger.removeFilter(prefix)  # the next point in this process has its own label


# Hydra's own command line: `runner train --help`, `--cfg`, `--info`, its other flags.
train_app = reporting_faults(
    hydra.main(config_path=str(CONF_DIR), config_name=CONFIG_NAME, version_base=VERSION_BASE)(train_job)
)


@reporting_faults
def run_one(cfg: DictConfig) -> None:
    """`runner train` (no -m) from the config the preflight composed and checked, hydra node
    included: what @hydra.main's `Hydra.run` does, without composing the same command line
    twice more (once to read hydra.mode, once to run).

    The run folder is locked, and checked for an earlier run, before Hydra writes into it."""
    folder = run_guard.run_dir(cfg)
    with folder_lock(folder, "hydra.run.dir"):
        if distributed.launched_rank() == 0:
            run_guard.refuse_reuse(cfg, folder)  # again, now that no other run can start writing here
        _run_job(cfg)


def _run_job(cfg: DictConfig) -> None:
    with hydra_app("train") as app:
        with read_write(cfg.hydra):  # as @hydra.main runs a config that leaves hydra.mode unset
            cfg.hydra.mode = RunMode.RUN
            cfg.hydra.overrides.hydra.append("hydra.mode=RUN")
        configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
        callbacks = Callbacks(cfg)
        callbacks.on_run_start(config=cfg, config_name=CONFIG_NAME)
        context = HydraContext(config_loader=app.config_loader, callbacks=callbacks)
        job = run_job(
            hydra_context=context, task_function=train_job, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None
        )
        callbacks.on_run_end(config=cfg, config_name=CONFIG_NAME, job_return=job)
        job.return_value  # noqa: B018 (raises what the job raised)


@reporting_faults
def run_sweep(overrides: List[str], sweep_dir: Optional[Path] = None) -> None:
    """`runner train -m`: Hydra composes the sweep once and launches its points, as
    @hydra.main does, minus the composition it makes first only to read hydra.mode.
    sweep_dir: a sweep folder named on the command line (or the resumable one), locked for the
    whole sweep so that a second sweep there is refused; each point also locks its own folder."""
    lock = folder_lock(sweep_dir, "hydra.sweep.dir") if sweep_dir is not None else contextlib.nullcontext()
    with lock, hydra_app("train") as app:
        named = sweep_name_override(overrides)  # each point's TensorBoard name: what differs (runner/launch/hparams.py)
        app.multirun(
            config_name=CONFIG_NAME, task_function=train_job, overrides=[*overrides, *named, "hydra.mode=MULTIRUN"]
        )
