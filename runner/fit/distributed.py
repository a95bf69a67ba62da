"""Data-parallel training (`trainer.strategy=ddp`): one model trained by the N processes torchrun starts.

    torchrun --standalone --nproc_per_node=2 -m runner train trainer.strategy=ddp ...

How the work is split (docs/distributed.md has the commands, SLURM included):

- Every rank holds the whole data set and draws the same permutation from the
  shared seeded `order` generator each epoch, then keeps positions rank,
  rank+N, rank+2N, ... of it (`shard`). `trainer.batch_size` is per rank, so
  step k of the N ranks together covers exactly the examples of step k of one
  process with batch N*batch_size, and DistributedDataParallel averages the
  gradients: the same step that process would take. When N does not divide the
  training set, the order is padded with its own first entries (at most N-1
  repeats, as torch's DistributedSampler does) so every rank takes the same
  number of steps.
- Validation and test run on every rank over a contiguous 1/N of the split
  (`part`), with the plain module (no collective inside the loop). Each rank
  summarises its share; `reduce_metrics` all-reduces mean*count (summed loss,
  correct count) and the count, so every rank holds the metrics of the whole
  split. Early stopping and schedulers therefore make the same decision
  everywhere; the wall-time limit, read from each rank's clock, is rank 0's
  decision broadcast (`agree`).
- Rank 0 alone writes (metrics.csv, results.json, TensorBoard, checkpoints,
  train.log, .hydra/) and prints. All ranks work in rank 0's run folder
  (`from_main`); the others never write Hydra files into it (`hydra_overrides`).

In one process (no torchrun) every function here is the identity or a no-op,
so a single-process run is unchanged.
"""

import atexit
import dataclasses
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import List, Optional

import torch
import torch.distributed as dist

from runner.build.device import resolve_device
from runner.build.tasks import per_unit
from runner.config import policy as config_policy
from runner.config.metric_names import PERPLEXITY

log = logging.getLogger("runner")


# ------------------------------------------------------------ before Hydra starts (the CLI)


def launched_world_size() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def launch_problem(strategy: str, multirun: bool) -> Optional[str]:
    """Why this command cannot run under this launcher, or None."""
    processes = launched_world_size()
    if processes > 1 and multirun:
        return f"torchrun started {processes} processes to train one run: launch one torchrun per sweep point instead of -m"
    if processes > 1 and strategy != "ddp":
        return (
            f"trainer.strategy: torchrun started {processes} processes but trainer.strategy={strategy}: "
            "each would train its own copy; add trainer.strategy=ddp"
        )
    return None


def hydra_overrides(args: List[str]) -> List[str]:
    """Overrides for ranks other than 0: no .hydra/ files and no train.log (they print
    errors only), and, unless the command names the run folder, Hydra's own folder in
    a throwaway temp folder: Hydra names folders by the clock, which may tick between
    ranks. `from_main` then hands them rank 0's folder."""
    if launched_world_size() == 1 or launched_rank() == 0:
        return []
    extra = ["hydra.output_subdir=null", "hydra/job_logging=none"]
    if not any(arg.startswith("hydra.run.dir=") for arg in args):
        # Inside the outputs folder, where every run folder must lie (runner/config/policy.py).
        parent = config_policy.outputs_root() / ".ranks"
        parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=f"rank{launched_rank()}-", dir=parent)
        atexit.register(shutil.rmtree, scratch, True)
        extra.append(f"hydra.run.dir={scratch}")
    return extra


# ------------------------------------------------------------ the process group (the Hydra app)


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    return rank() == 0


@contextmanager
def process_group(trainer):
    """Join torchrun's other processes (NCCL on CUDA, gloo on the CPU) for trainer.strategy=ddp;
    nothing for one process. Settings come from the environment torchrun sets
    (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK)."""
    if trainer.strategy != "ddp" or launched_world_size() == 1:
        if trainer.strategy == "ddp":
            log.warning("trainer.strategy=ddp without torchrun: training in this one process (docs/distributed.md)")
        yield
        return
    device = resolve_device(trainer.device)
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if not is_main():
        logging.getLogger("runner").setLevel(logging.ERROR)  # rank 0 reports; the others only fail loudly
    try:
        yield
    finally:
        dist.destroy_process_group()


def from_main(value):
    """Rank 0's value (any picklable object) on every rank."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, device=_comm_device())
    return box[0]


def agree(flag: bool) -> bool:
    """Rank 0's yes/no on every rank, for decisions read from a local clock."""
    return bool(from_main(bool(flag)))


def max_over_ranks(value: int) -> int:
    """The largest of the ranks' values, on every rank: e.g. the number of a stop signal
    that reached some ranks before others (0: none), so that all stop at the same step."""
    if not active():
        return value
    box = torch.tensor([value], dtype=torch.int64, device=_comm_device())
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return int(box.item())


def local_device(device: torch.device) -> torch.device:
    """Under DDP each rank drives the GPU of its local rank (set by `process_group`)."""
    if active() and device.type == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return device


# ------------------------------------------------------------ the training loop


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The module the loop trains: DistributedDataParallel (it starts every rank from
    rank 0's weights and averages gradients in backward), or `model` itself in one process.
    Call it after restoring a checkpoint. Ranks other than 0 also get their own dropout
    and noise stream, derived from the shared one (rank 0 keeps it)."""
    if not active():
        return model
    if rank() > 0:
        torch.manual_seed(int(torch.randint(2**62, (1,))) + rank())
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def shard(order: torch.Tensor) -> torch.Tensor:
    """This rank's part of an epoch's order: positions rank, rank+N, ... after padding the
    order with its own first entries to a multiple of N (equal step counts on every rank)."""
    n = world_size()
    if n == 1:
        return order
    padded = -(-len(order) // n) * n
    order = order[torch.arange(padded, device=order.device) % len(order)]
    return order[rank() :: n]


def part(split):
    """This rank's contiguous 1/N of an evaluation split (all of it in one process)."""
    n = world_size()
    if n == 1:
        return split
    lo, hi = len(split) * rank() // n, len(split) * (rank() + 1) // n
    return dataclasses.replace(split, x=split.x[lo:hi], y=split.y[lo:hi])


def reduce_metrics(metrics: dict, count: int) -> dict:
    """The metrics of the whole split from each rank's metrics over its `count` examples.
    Every metric is a mean over examples (loss, accuracy), so the all-reduced sums of
    mean*count (the summed loss, the correct count) over the summed counts are the
    values one process would compute on the whole split (up to float rounding)."""
    if not active():
        return metrics
    keys = [key for key, value in metrics.items() if value is not None and key != PERPLEXITY]
    sums = torch.tensor(
        [float(count)] + [metrics[key] * count for key in keys], dtype=torch.float64, device=_comm_device()
    )
    dist.all_reduce(sums)
    total, *summed = sums.tolist()
    reduced = {**metrics, **{key: value / total for key, value in zip(keys, summed)}}
    if metrics.get(PERPLEXITY) is not None:  # e^loss is no mean over examples: the whole split's is e^(its loss)
        reduced.update(per_unit(reduced["loss"], "word"))
    return reduced


class Silent:
    """Stands in for the RunLog on ranks other than 0: rank 0 alone writes and prints."""

    def epoch(self, *args, **kwargs) -> None:
        pass

    def finish(self, *args, **kwargs) -> None:
        pass


def _comm_device() -> torch.device:
    """Where small tensors must be for a collective: the GPU under NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
