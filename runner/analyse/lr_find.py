"""`runner lr-find [overrides...]`: the learning-rate range test (Smith 2017, "Cyclical Learning
Rates for Training Neural Networks", section 3.3; the form fastai made popular).

On the configured data, model, loss and optimizer (composed and checked as `runner train`
checks them), the learning rate grows exponentially from --start to --end over --steps
mini-batches, one optimizer step each. The loss is smoothed exponentially (beta 0.98, with
bias correction, as fastai) and the sweep stops early once the smoothed loss exceeds 4x its
minimum (fastai's rule) or is not finite. Afterwards the model's weights and the optimizer's
state are put back as they were: nothing is saved as a run.

Two values are read off the smoothed curve (docs/diagnose.md, "Learning-rate finder"):
  steepest   the lr where the smoothed loss falls fastest per unit of log(lr)
  min / 10   a tenth of the lr where the smoothed loss is lowest
The suggestion is the steepest descent, capped at min / 10: a steepest point within a decade of
the minimum sits at the edge of divergence (measured: the ReLU CNN with SGD on MNIST, steepest
0.71, min / 10 0.075: one epoch at 0.71 stays at chance, 97.6% at 0.075).
Both leave out the first tenth of the sweep (the average is still mostly its first few
batches) and its last few steps (the loss is already blowing up there), as fastai does.
Written to a folder under the outputs folder: lr_find.png (loss vs lr, log x), lr_find.csv and
TensorBoard events (the raw and smoothed loss and the lr, by step).
"""

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import torch

BETA = 0.98  # the smoothing of the loss (fastai's)
DIVERGE = 4.0  # stop once the smoothed loss exceeds this times its minimum (fastai's)
MIN_STEPS = 10  # fewer steps give no curve to read
FLAT = 0.05  # a smoothed loss that fell by less than this fraction of its start shows no lr that trains
SKIP_START = 0.1  # fraction of the sweep left out before reading the curve
SKIP_END = 5  # steps left out at the end of the sweep
NO_LR = ("lbfgs",)  # their line search chooses the step, so the lr swept is not the lr taken
Compose = Callable[[List[str]], object]  # as in runner/analyse/gradcheck.py


@dataclass
class Sweep:
    lrs: List[float]
    losses: List[float]  # each step's mini-batch loss, before that step
    smoothed: List[float]
    stopped: str  # why the sweep ended


@dataclass
class Suggestion:
    steepest: float
    min_lr: float  # the lr of the lowest smoothed loss
    min_loss: float
    fall: float  # how much the smoothed loss fell from the start of the readable part to its minimum, as a fraction

    @property
    def min_over_10(self) -> float:
        return self.min_lr / 10

    @property
    def suggested(self) -> float:
        return min(self.steepest, self.min_over_10)

    @property
    def rule(self) -> str:
        if self.steepest <= self.min_over_10:
            return "steepest descent"
        return "minimum / 10: the steepest descent lies within a decade of the minimum"


def parse_args(args: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="runner lr-find",
        description="Learning-rate range test (Smith 2017): sweep the lr exponentially "
        "over mini-batches, plot loss vs lr, suggest optimizer.lr.",
        epilog="example: runner lr-find optimizer=sgd model.activation=sigmoid",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for `runner train`")
    parser.add_argument("--start", type=float, default=1e-7, help="first lr (default 1e-7)")
    parser.add_argument("--end", type=float, default=10.0, help="last lr (default 10)")
    parser.add_argument("--steps", type=int, default=300, help="mini-batches swept (default 300)")
    parser.add_argument("--out", help="folder to write to, inside the outputs folder (default outputs/lr_find/<time>)")
    return parser.parse_intermixed_args(args)


def refusal(opts: argparse.Namespace) -> Optional[str]:
    """What is wrong with the command line's own options, or None."""
    if opts.steps < MIN_STEPS:
        return f"--steps {opts.steps}: the sweep needs at least {MIN_STEPS} steps to show a curve"
    if not (opts.start > 0 and math.isfinite(opts.end)):
        return f"--start {opts.start:g} --end {opts.end:g}: both must be positive, finite learning rates"
    if opts.start >= opts.end:
        return f"--start {opts.start:g} must be below --end {opts.end:g}: the sweep grows the lr"
    if any(o in ("-m", "--multirun") for o in opts.overrides):
        return "lr-find sweeps one config; drop -m and the sweep lists"
    return None


def out_folder(out: Optional[str]) -> Path:
    """Where to write; raises ValueError for a folder outside the outputs folder or one holding a run."""
    from runner.config.policy import inside, outputs_root

    root = outputs_root()
    if out is None:
        return root / "lr_find" / time.strftime("%Y-%m-%d_%H-%M-%S")
    if not inside(out, root):
        raise ValueError(
            f"--out '{out}' is outside the outputs folder {root}; lr-find writes inside it (set RUNNER_OUTPUTS=<folder> to move it)"
        )
    folder = Path(out)
    if (folder / "results.json").exists() or (folder / "metrics.csv").exists():
        raise ValueError(f"--out '{out}' holds a run; choose another folder")
    return folder


def main(args: List[str], compose: Compose) -> int:
    opts = parse_args(args)
    problem = refusal(opts)
    if problem is None:
        try:
            folder = out_folder(opts.out)
        except ValueError as err:
            problem = str(err)
    if problem:
        print(f"runner: {problem}", file=sys.stderr)
        return 2
    from runner.config.schema import validate
    from runner.errors import ConfigError, PreflightError

    try:
        cfg = validate(compose(opts.overrides))
    except PreflightError as err:
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    if cfg.optimizer.name in NO_LR:
        print(
            f"runner: optimizer={cfg.optimizer.name}: its line search chooses each step, so an lr range test means nothing; choose another optimizer",
            file=sys.stderr,
        )
        return 2
    try:
        sweep = run_sweep(cfg, opts.start, opts.end, opts.steps)
    except ConfigError as err:  # found while building
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    found = suggest(sweep)
    if found is None:
        print(
            f"runner: the sweep stopped after {len(sweep.lrs)} steps ({sweep.stopped}): too few to read; lower --start",
            file=sys.stderr,
        )
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    write_outputs(folder, sweep, found, cfg.optimizer.lr)
    print(report(sweep, found, cfg.optimizer, opts, folder))
    return 0


def run_sweep(cfg, start: float, end: float, steps: int) -> Sweep:
    """The range test on the configured parts; the model and optimizer are restored afterwards."""
    from runner.build.assemble import assemble
    from runner.build.device import resolve_device

    # One thread unless trainer.threads asks for more: torch's threads meet at a barrier after every
    # small operation, which costs a mini-batch of the default MLP 14x on a shared 2-core machine
    # (measured: 2.8 ms a step with 1 thread, 39 ms with 2; runner/fit/cpu_threads.py).
    torch.set_num_threads(cfg.trainer.threads or 1)
    torch.manual_seed(cfg.seed)  # the same initial weights as `runner train` with this config
    parts = assemble(cfg, resolve_device(cfg.trainer.device))
    saved = copy.deepcopy(parts.model.state_dict()), copy.deepcopy(parts.optimizer.state_dict())
    try:
        return sweep_lr(parts, cfg.trainer, start, end, steps)
    finally:
        parts.model.load_state_dict(saved[0])
        parts.optimizer.load_state_dict(saved[1])


def sweep_lr(parts, trainer, start: float, end: float, steps: int) -> Sweep:
    """One optimizer step per mini-batch at lr start * (end / start) ** (i / (steps - 1))."""
    model, optimizer, split = parts.model, parts.optimizer, parts.data.train
    model.train()
    lrs, losses, smoothed, average, best = [], [], [], 0.0, math.inf
    stopped = f"reached --end after {steps} steps"
    for i, idx in enumerate(batch_indices(len(split), trainer, parts.order, steps, split.x.device)):
        lr = start * (end / start) ** (i / (steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = train_step(parts, split, idx)
        average = BETA * average + (1 - BETA) * loss
        smooth = average / (1 - BETA ** (i + 1))  # bias correction: the average starts at 0
        lrs.append(lr), losses.append(loss), smoothed.append(smooth)
        if not math.isfinite(smooth):
            stopped = f"the loss became {loss} at lr {lr:.2e}"
            break
        best = min(best, smooth)
        if smooth > DIVERGE * best:
            stopped = f"the smoothed loss exceeded {DIVERGE:g}x its minimum at lr {lr:.2e}"
            break
    return Sweep(lrs, losses, smoothed, stopped)


def batch_indices(n: int, trainer, order: torch.Generator, steps: int, device):
    """`steps` mini-batches of trainer.batch_size, epoch after epoch, in the order training uses."""
    done = 0
    while done < steps:
        perm = torch.randperm(n, generator=order) if trainer.shuffle else torch.arange(n)
        for idx in perm.to(device).split(trainer.batch_size):
            if done == steps:
                return
            yield idx
            done += 1


def train_step(parts, split, idx: torch.Tensor) -> float:
    """What fit's eager step does (runner/fit/loop.py make_step), with the batch's loss returned:
    batch transforms, loss plus penalties, backward, the after-backward hooks, step, after-step hooks."""
    model, task, optimizer, hooks = parts.model, parts.task, parts.optimizer, parts.hooks
    x, y = split.inputs(idx), split.y.index_select(0, idx)
    for transform in hooks.batch_transforms:
        x = transform(x)
    target = task.target(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss = parts.loss_fn(model(x), target)
    hooks.backward(loss)
    optimizer.step()
    for hook in hooks.after_step:
        hook()
    return loss.item()


def suggest(sweep: Sweep) -> Optional[Suggestion]:
    """The steepest descent of the smoothed loss in log(lr), and its minimum, over the readable
    part of the sweep (None when too little of it is left)."""
    lrs, smoothed = trimmed(sweep)
    if len(lrs) < 3:
        return None
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__)
    # Up to the minimum only: past it the loss is blowing up, and may fall again from its peak
    # (Adam at lr ~ 1 on MNIST), a steep descent that is no place to train at.
    logs = [math.log(lr) for lr in lrs[: lowest + 1]]
    slopes = [(smoothed[i + 1] - smoothed[i]) / (logs[i + 1] - logs[i]) for i in range(len(logs) - 1)]
    steepest = min(range(len(slopes)), key=slopes.__getitem__) if slopes else lowest
    fall = (smoothed[0] - smoothed[lowest]) / abs(smoothed[0]) if smoothed[0] else 0.0
    return Suggestion(lrs[steepest], lrs[lowest], smoothed[lowest], fall)


def trimmed(sweep: Sweep):
    """The finite points of the sweep less its first tenth and last SKIP_END steps; the whole
    finite sweep when that leaves too little."""
    points = [(lr, s) for lr, s in zip(sweep.lrs, sweep.smoothed) if math.isfinite(s)]
    first = int(len(sweep.lrs) * SKIP_START)
    kept = points[first : max(first, len(points) - SKIP_END)]
    if len(kept) < MIN_STEPS // 2:
        kept = points
    return [p[0] for p in kept], [p[1] for p in kept]


def report(sweep: Sweep, found: Suggestion, optimizer, opts, folder: Path) -> str:
    warning = []
    if found.fall < FLAT:  # a flat curve: its steepest point is noise (Nielsen's sigmoid CNN at batch 10, 300 steps)
        warning = [
            f"warning: the smoothed loss fell only {100 * found.fall:.1f}% over the sweep: no lr in it trained "
            f"in {len(sweep.lrs)} steps, so the values above are noise; sweep longer (--steps) or check the model (runner diagnose)"
        ]
    return "\n".join(
        [
            f"lr-find: optimizer={optimizer.name}, {len(sweep.lrs)} steps, lr {opts.start:.1e} to {sweep.lrs[-1]:.2e}; {sweep.stopped}",
            f"  steepest descent of the smoothed loss: lr {found.steepest:.2e}",
            f"  minimum of the smoothed loss / 10:    lr {found.min_over_10:.2e} (minimum {found.min_loss:.4g} at lr {found.min_lr:.2e})",
            f"  configured: optimizer.lr={optimizer.lr:.2e}",
            *warning,
            f"wrote {folder}/lr_find.png, lr_find.csv and TensorBoard events (tensorboard --logdir {folder})",
            f"suggested ({found.rule}; docs/diagnose.md): optimizer.lr={found.suggested:.2e}",
        ]
    )


def write_outputs(folder: Path, sweep: Sweep, found: Suggestion, configured_lr: float) -> None:
    from runner.analyse.lr_find_plot import plot_sweep
    from runner.io import atomic_write_text

    rows = ["step,lr,loss,smoothed_loss"]
    rows += [
        f"{i},{lr:.6e},{loss:.6g},{s:.6g}"
        for i, (lr, loss, s) in enumerate(zip(sweep.lrs, sweep.losses, sweep.smoothed))
    ]
    atomic_write_text(folder / "lr_find.csv", "\n".join(rows) + "\n")
    plot_sweep(
        folder / "lr_find.png",
        sweep.lrs,
        sweep.losses,
        sweep.smoothed,
        found.steepest,
        found.min_over_10,
        configured_lr,
        found.suggested,
    )
    write_events(folder, sweep)


def write_events(folder: Path, sweep: Sweep) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(folder)) as writer:
        for i, (lr, loss, smooth) in enumerate(zip(sweep.lrs, sweep.losses, sweep.smoothed)):
            if math.isfinite(loss):
                writer.add_scalar("lr_find/loss", loss, i)
                writer.add_scalar("lr_find/smoothed_loss", smooth, i)
            writer.add_scalar("lr_find/lr", lr, i)
