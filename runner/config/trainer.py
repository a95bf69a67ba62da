"""The trainer group's schema: how a run trains (epochs, batches, device, resume, speed options)."""

import os
from dataclasses import dataclass

from runner.errors import require

DEVICES = ("auto", "cpu", "cuda")
RESUME_MODES = ("never", "auto")
STRATEGIES = ("single", "ddp")
PRECISIONS = ("fp32", "bf16", "fp64")
CHANNELS_LAST = ("auto", "true", "false")


@dataclass
class TrainerConfig:
    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 1000
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads; 0 keeps torch's default; at most 4 x the cores (more crashes OpenMP)
    deterministic: bool = False  # torch.use_deterministic_algorithms
    shuffle: bool = True  # reshuffle the training set every epoch
    progress: bool = True  # progress bar (shown only on a terminal)
    checkpoints: bool = True  # write checkpoints/{best,last}.pt
    resume: str = "never"  # auto: continue this run folder from checkpoints/last.pt, skip it if finished
    overwrite: bool = (
        False  # true: start over in a run folder that holds a run (its results are deleted first); false: refuse
    )
    test_every_epoch: bool = False  # also log test loss/accuracy each epoch (for "peak test" reporting)
    strategy: str = (
        "single"  # single: one process; ddp: DistributedDataParallel over torchrun's processes (docs/distributed.md)
    )
    # Speed options (docs/training.md, "Fast runs on a GPU"); none changes what a checkpoint holds.
    compile: bool = False  # torch.compile the model for training
    precision: str = "fp32"  # fp32 | bf16: the forward pass under torch.autocast with bfloat16 | fp64: everything in float64 (numpy-like, e.g. Nielsen's code)
    channels_last: str = "auto"  # auto (on for CNNs on CUDA and on the CPU in fp32) | true | false: memory format of conv weights and image data
    cuda_graphs: bool = False  # capture the training step as a CUDA graph and replay it (CUDA only)
    log_every_n_steps: int = 50  # TensorBoard's loss/train_by_step: the training loss of every N steps; 0: off
    sample_every: int = 0  # language models: draw text (the sample group) every N epochs into samples.txt; 0: off
    diagnostics: bool = False  # per epoch: per-layer gradient/weight norms and update ratios, histograms, first conv filters (docs/diagnose.md)
    max_sweep_points: int = 1000  # a sweep of more points is refused before its check (which takes ~0.1 s a point)
    divergence_factor: float = (
        1e4  # stop (diverged) when an epoch's training loss exceeds this x the loss before the first step; 0: off
    )

    def __post_init__(self):
        require(
            self.divergence_factor == 0 or self.divergence_factor > 1,
            "divergence_factor",
            f"0 (off) or above 1, got {self.divergence_factor}",
        )
        require(self.epochs >= 1, "epochs", f"at least 1, got {self.epochs}")
        require(self.batch_size >= 1, "batch_size", f"at least 1, got {self.batch_size}")
        require(self.eval_batch_size >= 1, "eval_batch_size", f"at least 1, got {self.eval_batch_size}")
        require(
            0 <= self.threads <= max_threads(),
            "threads",
            f"0 (torch's default) to {max_threads()} (4 x this machine's {os.cpu_count()} cores), got {self.threads}",
        )
        require(
            self.log_every_n_steps >= 0,
            "log_every_n_steps",
            f"0 (off) or a number of steps, got {self.log_every_n_steps}",
        )
        require(self.max_sweep_points >= 1, "max_sweep_points", f"at least 1, got {self.max_sweep_points}")
        require(self.sample_every >= 0, "sample_every", f"0 (off) or a number of epochs, got {self.sample_every}")
        require(
            self.resume in RESUME_MODES, "resume", f"choose one of: {', '.join(RESUME_MODES)} (got '{self.resume}')"
        )
        require(
            not (self.overwrite and self.resume == "auto"),
            "overwrite",
            "true starts the run folder over, trainer.resume=auto continues it: choose one",
        )
        require(
            self.strategy in STRATEGIES, "strategy", f"choose one of: {', '.join(STRATEGIES)} (got '{self.strategy}')"
        )
        base = self.device.split(":")[0]
        require(base in DEVICES, "device", f"choose one of: auto, cpu, cuda, cuda:N (got '{self.device}')")
        require(
            self.precision in PRECISIONS,
            "precision",
            f"choose one of: {', '.join(PRECISIONS)} (got '{self.precision}')",
        )
        self.channels_last = self.channels_last.lower()  # a YAML or command-line `true` arrives as 'True'
        require(
            self.channels_last in CHANNELS_LAST,
            "channels_last",
            f"choose one of: {', '.join(CHANNELS_LAST)} (got '{self.channels_last}')",
        )
        # Whether `auto` finds a GPU needs torch, which this floor does not import: here only
        # device=cpu is refused; the preflight asks again with torch's answer (runner/launch/preflight.py).
        check_cuda_graphs(self, cuda_available=True)


def check_cuda_graphs(trainer: TrainerConfig, cuda_available: bool, key: str = "cuda_graphs") -> None:
    """trainer.cuda_graphs needs the GPU: trainer.device=cuda, or auto on a machine where `cuda_available`.
    trainer.device=cuda itself is checked against the machine by the preflight, where the run runs here (not under SLURM)."""
    base = trainer.device.split(":")[0]
    cuda_here = base == "cuda" or (base == "auto" and cuda_available)
    require(
        not trainer.cuda_graphs or cuda_here,
        key,
        f"CUDA graphs replay GPU kernels: they need trainer.device=cuda, or auto on a machine with a GPU (here trainer.device={trainer.device} is the CPU); set trainer.cuda_graphs=false",
    )


def max_threads() -> int:
    """More torch threads than this is no faster, and from ~20,000 crashes OpenMP (libgomp aborts, or a segfault)."""
    return 4 * (os.cpu_count() or 1)
