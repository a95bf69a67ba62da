"""hydra.sweeper.n_jobs=k on this machine: k-1 more processes of the same command, each a
worker of the same study (one storage, one sweep folder), so that each pulls the next trial
the moment its last one ends: no worker waits for a batch to finish. It is the same mechanism
as N SLURM worker jobs running one command (docs/tuning.md).

Threads, as the joblib launcher sets them: unless trainer.threads is given, each worker's torch
uses max(1, cpu_count // k) threads (OMP_NUM_THREADS for the helpers, set_num_threads here)."""

import contextlib
import os
import subprocess
import sys
from typing import Iterator, List

from omegaconf import DictConfig, OmegaConf

HELPER_ENV = "RUNNER_OPTUNA_HELPER"  # set in the helpers: they start no helpers and print no report
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def is_helper() -> bool:
    return os.environ.get(HELPER_ENV) == "1"


def command(config: DictConfig) -> List[str]:
    """`runner train -m` with this sweep's overrides, its sweep folder named."""
    hydra_overrides = [o for o in config.hydra.overrides.hydra if not o.startswith(("hydra.mode=", "hydra.sweep.dir="))]
    folder = f"hydra.sweep.dir={os.path.abspath(str(config.hydra.sweep.dir))}"
    return [sys.executable, "-m", "runner", "train", "-m", *hydra_overrides, *config.hydra.overrides.task, folder]


def threads_per_worker(config: DictConfig, workers: int) -> int:
    """0 when trainer.threads is given (each run sets its own)."""
    if OmegaConf.select(config, "trainer.threads", default=0):
        return 0
    return max(1, (os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def helping(config: DictConfig, n_jobs: int) -> Iterator[List[subprocess.Popen]]:
    """The helpers, running for the block; at its end, waited for (and this process's torch
    threads put back: a test or a notebook calling `runner train` goes on with its own)."""
    if n_jobs <= 1 or is_helper():
        yield []
        return
    import torch

    threads, before = threads_per_worker(config, n_jobs), torch.get_num_threads()
    env = {**os.environ, HELPER_ENV: "1"}
    if threads:
        torch.set_num_threads(threads)
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    helpers = [subprocess.Popen(command(config), env=env) for _ in range(n_jobs - 1)]
    try:
        yield helpers
    except BaseException:  # this worker failed or was stopped: the helpers stop too (SIGTERM: their trial is requeued)
        for helper in helpers:
            helper.terminate()
        raise
    finally:
        wait(helpers)
        torch.set_num_threads(before)


def wait(helpers: List[subprocess.Popen]) -> None:
    for helper in helpers:
        code = helper.wait()
        if code != 0:
            print(f"runner: an optuna worker (pid {helper.pid}) ended with exit code {code}", file=sys.stderr)
