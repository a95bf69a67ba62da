"""What the training loop asks of the machine it runs on, in one object (a small cousin of
Hugging Face accelerate's Accelerator): runner/fit/loop.py calls these methods and never
runner/fit/distributed.py, speed.py or signals.py directly.

- `Process`: this process among torchrun's (DDP: is_main, shard, part, reduce, agree) and
  its stop signals (preemption, Ctrl-C). It needs no config: the process group is the
  process's own (runner/fit/distributed.py), so `PROCESS` serves callers of train_epoch
  and evaluate outside fit (benchmarks, tests).
- `Runtime(Process)`: one run's trainer settings on top: the device, the precision (the
  default dtype, bf16), trainer.compile and trainer.cuda_graphs (runner/fit/speed.py), and
  the DDP wrapper. channels_last and fp64 are applied when the parts are assembled
  (runner/build/layout.py), for evaluation too.

In one process every DDP method is the identity or a no-op.
"""

from contextlib import contextmanager
from typing import Callable

import torch

from runner.build.device import resolve_device
from runner.build.layout import default_dtype
from runner.fit import cpu_threads, distributed, signals, speed

Preempted = signals.Preempted  # a stop signal arrived (runner/fit/signals.py)


class Process:
    """This process: its rank among torchrun's, and its stop signals."""

    @property
    def world_size(self) -> int:
        return distributed.world_size()

    @property
    def is_main(self) -> bool:
        """Rank 0, the one that writes and prints (always, in one process)."""
        return distributed.is_main()

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's part of an epoch's order of training examples."""
        return distributed.shard(order)

    def part(self, split):
        """This rank's contiguous part of an evaluation split."""
        return distributed.part(split)

    def reduce(self, metrics: dict, count: int) -> dict:
        """The whole split's metrics from each rank's over its `count` examples."""
        return distributed.reduce_metrics(metrics, count)

    def agree(self, flag: bool) -> bool:
        """Rank 0's yes/no on every rank (decisions read from a local clock)."""
        return distributed.agree(flag)

    def log_writer(self, make: Callable):
        """`make()` (the RunLog) on rank 0; a stand-in that writes nothing on the others."""
        return make() if self.is_main else distributed.Silent()

    # ---------------------------------------------------------------- stop signals

    @contextmanager
    def stop_signals(self):
        """While inside: SIGTERM/SIGUSR1/SIGUSR2 stop the run at the next check (runner/fit/signals.py);
        on leaving, however it is left, the usual handlers again (a second signal quits at once)."""
        signals.install()
        try:
            yield
        finally:
            signals.restore()

    def between_steps(self) -> Callable[[], None]:
        """What to call after each step: raises Preempted if a signal arrived. Under DDP nothing:
        a lone rank must not stop mid-epoch (`check_signals_together` at the epoch's end)."""
        return signals.check if not distributed.active() else _nothing

    def check_signals_together(self) -> None:
        """Under DDP, at the same place on every rank: all stop (Preempted) if any got a signal."""
        if distributed.active():
            signals.check_across_ranks(distributed.max_over_ranks)

    def finish(self, preempted: bool) -> None:
        """After results.json is written: a preempted run is requeued and exits (returns otherwise)."""
        signals.finish(preempted=preempted)


class Runtime(Process):
    """One run's device and speed settings (trainer config). `Runtime.start(trainer)` in fit;
    `Runtime(trainer, device)` itself checks and sets nothing."""

    def __init__(self, trainer, device: torch.device):
        self.trainer, self.device = trainer, device

    @classmethod
    def start(cls, trainer) -> "Runtime":
        """This rank's device (its own GPU under DDP), checked against the trainer settings,
        and the CPU threads set."""
        device = distributed.local_device(resolve_device(trainer.device))
        speed.check_device(trainer, device)
        cpu_threads.set_threads(trainer.threads, device)
        return cls(trainer, device)

    def precision(self):
        """A context: under trainer.precision=fp64, parameters, data and every new tensor in fp64."""
        return default_dtype(self.trainer.precision)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train: DistributedDataParallel under torchrun, `model` itself otherwise.
        Call after restoring a checkpoint."""
        return distributed.wrap(model, self.device)

    def forward(self, model: torch.nn.Module) -> Callable:
        """What the training step calls for the outputs: the module itself by default,
        compiled with trainer.compile, under bf16 autocast with trainer.precision=bf16."""
        return speed.training_forward(model, self.trainer, self.device)

    def prepare_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Optimizer state where the step runs (on the GPU for CUDA graphs). After restoring a checkpoint."""
        speed.set_capturable(optimizer, self.trainer.cuda_graphs)

    def prepare_step(self, step: Callable, optimizer: torch.optim.Optimizer) -> Callable:
        """The step as it runs each batch: captured and replayed as a CUDA graph with
        trainer.cuda_graphs, `step` itself otherwise."""
        return speed.CudaGraphStep(step, optimizer, self.trainer.batch_size) if self.trainer.cuda_graphs else step


PROCESS = Process()


def _nothing() -> None:
    pass
