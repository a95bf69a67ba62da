"""The training loop: build everything from a validated config, fit, test the tested weights.

Read `fit` top to bottom: it is the whole life of a run, in phases (set up, resume, the
epochs, finish), each a function below it. What varies between experiments (model, loss,
optimizer, schedule, regularizers, stopping rule) is built from the registries before the
loop starts; the loop itself has no per-model branches. Where and how it runs (device,
precision, compile, CUDA graphs, DDP, stop signals) is the Runtime's (runner/fit/runtime.py).
"""

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
import yaml
from tqdm.auto import tqdm  # a widget in Jupyter (runner.train from a notebook), text in a terminal

from runner.build.assemble import Parts, assemble
from runner.build.data import Split, batches
from runner.build.early_stopping import EarlyStoppingConfig
from runner.build.evaluation import split_metrics
from runner.build.sampling import sample_text
from runner.config.metric_names import BITS_PER_CHARACTER, EPOCH, LR, PERPLEXITY, SECONDS, metric_name
from runner.config.schema import RunConfig
from runner.fit.diagnostics import TrainingDiagnostics
from runner.fit.environment import git_commit, machine, seed_everything, versions
from runner.fit.pruning import PRUNED, TrialPruning
from runner.fit.resume import ResumePoint, restore
from runner.fit.runtime import PROCESS, Preempted, Process, Runtime
from runner.paths import CONF_DIR
from runner.record.checkpoint import save_checkpoint
from runner.record.results import Results, split_entry, status_of
from runner.record.run_folder import RunFolder
from runner.record.run_log import RunLog

log = logging.getLogger("runner")


def fit(cfg: RunConfig, run_dir: Path, hparams: dict, overrides=(), run_name: str = "", trial=None) -> dict:
    """hparams and run_name: the run's HPARAMS entry and TensorBoard name (runner/launch/hparams.py).
    trial: a search's trial this run reports to each epoch and that may prune it (runner/fit/pruning.py)."""
    started = time.perf_counter()
    finished = RunFolder(run_dir).finished_results() if cfg.trainer.resume == "auto" else None
    if finished:
        log.info(f"{run_dir} has already finished: skipping (trainer.resume=auto)")
        return finished
    runtime = Runtime.start(cfg.trainer)
    with runtime.precision():  # fp64: parameters, data and every new tensor
        run = set_up(cfg, run_dir, runtime, overrides, started)
        run.pruning = TrialPruning.attach(trial, cfg.early_stopping.monitor, runtime)
        progress = resume(run, hparams, run_name)
        train(run, progress)
        return finish(run, progress)


@dataclass
class Run:
    """What a run is made of: its parts from set_up; the trained module, its step and the log from resume."""

    cfg: RunConfig
    run_dir: Path
    runtime: Runtime
    parts: Parts  # data, model, task, optimizer, scheduler, hooks, loss_fn, stopper, order
    overrides: tuple
    started: float  # time.perf_counter() when fit began
    n_params: int
    trained: Optional[torch.nn.Module] = None  # the module that trains (DDP's wrapper under torchrun)
    step: Optional[Callable] = None  # the training step (make_step)
    run_log: object = None  # RunLog on rank 0
    diagnostics: Optional[TrainingDiagnostics] = None  # trainer.diagnostics=true only: None costs the loop nothing
    pruning: Optional[TrialPruning] = None  # a search's trial, reported to each epoch (None: no search)

    def evaluate(self, split: Split) -> dict:
        parts = self.parts
        return evaluate(parts.model, parts.task, split, parts.loss_fn, self.cfg.trainer.eval_batch_size, self.runtime)


@dataclass
class Progress:
    """How far the run has come: what `finish` reports."""

    resumed: ResumePoint
    row: Optional[dict] = None  # the last whole epoch's metrics
    best_state: Optional[dict] = None
    best_row: Optional[dict] = None
    mid_epoch: bool = False  # True while the weights have moved on from those of `row`
    stop_reason: str = "completed"
    diverged_at: Optional[dict] = None


def set_up(cfg: RunConfig, run_dir: Path, runtime: Runtime, overrides, started: float) -> Run:
    """Seed, build every part from the config (runner/build/assemble.py), say what will run."""
    seed_everything(cfg.seed, cfg.trainer.deterministic)
    parts = assemble(cfg, runtime.device, runtime.world_size)
    if parts.data.vocabulary is not None and runtime.is_main:  # token data: what the model's ids mean
        RunFolder(run_dir).write_vocabulary(parts.data.vocabulary, parts.data.train.tokens)
    if parts.data.class_names is not None and runtime.is_main:  # labels given as names: what each class is
        RunFolder(run_dir).write_class_names(parts.data.class_names)
    n_params = sum(p.numel() for p in parts.model.parameters())
    log.info(
        f"{cfg.model.name}: {n_params:,} parameters, {len(parts.data.train):,} training examples, device {runtime.device}"
    )
    log.info(parts.stopper.describe(cfg.trainer.epochs))
    if notice := epochs_notice(cfg, overrides):
        log.info(notice)
    diagnostics = TrainingDiagnostics(parts.model, cfg.trainer.batch_size) if cfg.trainer.diagnostics else None
    return Run(cfg, run_dir, runtime, parts, tuple(overrides), started, n_params, diagnostics=diagnostics)


def resume(run: Run, hparams: dict, run_name: str = "") -> Progress:
    """Continue from checkpoints/last.pt (trainer.resume=auto), then wrap the model and build
    the step: both after restoring, which brings the optimizer settings of the run that saved it."""
    p, trainer = run.parts, run.cfg.trainer
    resumed = ResumePoint()
    if trainer.resume == "auto":
        resumed = restore(run.run_dir, p.model, p.optimizer, p.scheduler, p.stopper, p.order)
    if p.stopper.divergence_factor and p.stopper.initial_loss is None:  # a resumed run keeps its checkpoint's
        p.stopper.initial_loss = initial_training_loss(
            p.model, p.task, p.data.train, p.loss_fn, trainer.eval_batch_size
        )
    run.run_log = run.runtime.log_writer(lambda: RunLog(run.run_dir, hparams, resumed.rows, run_name))
    run.trained = run.runtime.wrap(p.model)  # DDP under torchrun (gradients averaged over ranks)
    run.step = make_step(run.trained, p.task, p.loss_fn, p.optimizer, p.hooks, trainer, run.runtime.device, run.runtime)
    return Progress(resumed, resumed.rows[-1] if resumed.rows else None, resumed.best_state, resumed.best_row)


def train(run: Run, progress: Progress) -> None:
    """The epochs, until the last or a stop. Ctrl-C or a preemption signal stops gracefully:
    checkpoints/last.pt holds the last whole epoch (trainer.resume=auto continues from it), and
    `finish` tests the best weights and writes results.json. A second Ctrl-C quits at once."""
    try:
        with run.runtime.stop_signals():  # SIGTERM/SIGUSR1/SIGUSR2 stop the run after the current step
            for epoch in range(progress.resumed.epoch + 1, run.cfg.trainer.epochs + 1):
                stop_reason = one_epoch(run, progress, epoch)
                if stop_reason:
                    progress.stop_reason = stop_reason
                    break
    except KeyboardInterrupt:
        progress.stop_reason = "interrupted"
        log.warning(
            "interrupted: testing the best weights so far and writing results.json (Ctrl-C again quits at once)"
        )
    except Preempted as preempted:  # SLURM's notice of a time limit or preemption; runtime.finish requeues
        progress.stop_reason = "preempted"
        log.warning(
            f"preempted ({preempted}): testing the best weights so far and writing results.json; trainer.resume=auto continues"
        )


def one_epoch(run: Run, progress: Progress, epoch: int) -> Optional[str]:
    """Train, evaluate, log, checkpoint; the reason to stop after this epoch, or None to go on."""
    p, trainer = run.parts, run.cfg.trainer
    tick = time.perf_counter()
    progress.mid_epoch = True
    if run.diagnostics:  # the weights before the first step, for the update ratio
        run.diagnostics.epoch_starts()
    try:
        train_metrics = train_epoch(
            run.trained, run.step, p.task, p.data.train, p.loss_fn, trainer, p.order, f"epoch {epoch}",
            stopper=p.stopper, runtime=run.runtime,
        )  # fmt: skip
    except Diverged as diverged:  # keep best.pt and the best epoch's weights; a sweep goes on with its other points
        progress.diverged_at = {"epoch": epoch, "step": diverged.step}
        log.warning(f"{diverged} at epoch {epoch}, step {diverged.step}: stopping (diverged)")
        return "diverged"
    seconds = time.perf_counter() - tick
    steps, windows = train_metrics.pop(STEP_LOSSES, (0, []))
    step_losses = [((epoch - 1) * steps + step, loss) for step, loss in windows]  # steps counted from the first epoch
    row = {
        EPOCH: epoch,
        **prefixed("train", train_metrics),
        **prefixed("val", run.evaluate(p.data.val)),
        **(prefixed("test", run.evaluate(p.data.test)) if trainer.test_every_epoch else {}),
        LR: p.optimizer.param_groups[0]["lr"],
        **p.scheduler.columns(),  # a momentum schedule's momentum (scheduler.momentum), next to the lr
        SECONDS: round(seconds, 4),
        **(run.diagnostics.columns() if run.diagnostics else {}),  # per-layer norms after the last step
    }
    progress.row, progress.mid_epoch = row, False
    improved = p.stopper.update(epoch, row)
    if improved:
        progress.best_state = {k: v.detach().clone() for k, v in p.model.state_dict().items()}
        progress.best_row = row
    run.run_log.epoch(row, trainer.epochs, improved, p.task.images(p.model, p.data.val), step_losses)
    if run.diagnostics and run.runtime.is_main:
        run.run_log.diagnostics(epoch, run.diagnostics.histograms(p.data.val), run.diagnostics.images())
    if trainer.sample_every and epoch % trainer.sample_every == 0 and run.runtime.is_main:
        text, heading = drawn_text(run, epoch)
        run.run_log.sample(text, epoch, heading)
    schedule_done = p.scheduler.step(row)
    if trainer.checkpoints and run.runtime.is_main:
        elapsed = progress.resumed.elapsed_s + time.perf_counter() - run.started
        save_checkpoint(
            run.run_dir, p.model, p.optimizer, p.scheduler, p.stopper, p.order, epoch, best=improved, elapsed_s=elapsed
        )
    run.runtime.check_signals_together()  # under DDP: all ranks stop here if any got a signal
    if run.pruning and run.pruning.prunes_after(epoch, row, epochs_left=epoch < trainer.epochs):
        return PRUNED  # after the checkpoint: a pruned trial keeps best.pt, metrics.csv and results.json
    if epoch < trainer.epochs and run.runtime.agree(p.stopper.should_stop):  # rank 0's clock decides a time limit
        log.info(f"{p.stopper.explanation()}: stopping")
        return p.stopper.stop_reason  # "early_stopping" or "time_limit"
    if epoch < trainer.epochs and schedule_done:
        log.info("the learning-rate schedule has ended: stopping")
        return "schedule_done"
    return None


def finish(run: Run, progress: Progress) -> dict:
    """Test the tested weights (the best epoch's with early_stopping.restore_best), write the
    test predictions and results.json; after a preemption the runtime requeues the job."""
    p, trainer = run.parts, run.cfg.trainer
    restored_best = progress.best_state is not None and run.cfg.early_stopping.restore_best
    if restored_best:
        p.model.load_state_dict(progress.best_state)
    test_metrics = run.evaluate(p.data.test)
    predictions = p.task.predictions(p.model, p.data.test, trainer.eval_batch_size) if run.runtime.is_main else None
    if predictions is not None:  # a classifier's: label, predicted per test example
        RunFolder(run.run_dir).write_test_predictions(*predictions)
    # train/val/test in results.json all describe the weights that were tested (README, results.json)
    row = progress.row
    if restored_best:
        tested_epoch, tested_row = p.stopper.best_epoch, progress.best_row
    elif row and not progress.mid_epoch:
        tested_epoch, tested_row = row[EPOCH], row
    else:  # stopped inside an epoch: no whole-epoch training loss for these weights; validate them now
        tested_epoch, tested_row = None, prefixed("val", run.evaluate(p.data.val))
    which = f"epoch {tested_epoch} weights" if tested_epoch else "weights from inside the last epoch"
    log.info(f"test {format_metrics(test_metrics)} ({which})")
    results = Results(  # results.json (runner/record/results.py says what each entry means)
        status=status_of(progress.stop_reason),
        stop_reason=progress.stop_reason,
        task=p.task.name,
        epochs_run=row[EPOCH] if row else 0,
        diverged_at=progress.diverged_at,
        best_epoch=p.stopper.best_epoch,
        monitor=p.stopper.cfg.monitor,
        tested_weights="best" if restored_best else "last",
        tested_epoch=tested_epoch,
        train=split_entry(tested_row, "train"),
        val=split_entry(tested_row, "val"),
        test=test_metrics,
        wall_time_s=round(progress.resumed.elapsed_s + time.perf_counter() - run.started, 3),
        resumed_after_epoch=progress.resumed.epoch or None,
        params=run.n_params,
        device=str(run.runtime.device),
        world_size=run.runtime.world_size,
        seed=run.cfg.seed,
        threads=torch.get_num_threads(),
        overrides=list(run.overrides),
        versions=versions(),
        machine=machine(run.runtime.device),
        git_commit=git_commit(),
    )
    run.run_log.finish(results)
    run.runtime.finish(preempted=progress.stop_reason == "preempted")  # if preempted: requeue (SLURM) and exit
    return results.as_json()


def drawn_text(run: Run, epoch: int):
    """(text, heading): a language model's text after `epoch` (the preflight allowed sample_every only for token data)."""
    sample, data = run.cfg.sample, run.parts.data
    seed = run.cfg.seed if sample.seed is None else sample.seed
    text = sample_text(run.parts.model, data.vocabulary, data.train.tokens, sample, seed, run.cfg.data.context)
    return text, f"epoch {epoch} (temperature {sample.temperature:g}, top_k {sample.top_k}, seed {seed})"


def make_step(model, task, loss_fn, optimizer, hooks, trainer, device: torch.device, runtime=None) -> Callable:
    """The training step, built once per run: `step(split, idx)` trains on the examples `idx`
    of `split` and returns the task's record of the batch, a tensor (nothing waits for the
    device). By default the plain eager step; trainer.compile/precision/cuda_graphs change
    how it runs (the runtime: runner/fit/runtime.py). Call it after restoring a checkpoint,
    which brings the optimizer settings of the run that saved it."""
    runtime = runtime or Runtime(trainer, device)
    runtime.prepare_optimizer(optimizer)
    forward = runtime.forward(model)  # `model` itself by default
    optimizer_step = stepper(optimizer)

    def step(split: Split, idx: torch.Tensor) -> torch.Tensor:
        x, y = split.inputs(idx), split.y.index_select(0, idx)  # uint8 images: converted here, per batch
        for transform in hooks.batch_transforms:
            x = transform(x)
        target = task.target(x, y)
        first = []  # the record of the first (pre-step) evaluation: L-BFGS evaluates the closure several times

        def closure():
            optimizer.zero_grad(set_to_none=True)
            out = forward(x)
            loss = loss_fn(out, target)
            total = hooks.backward(loss)
            if not first:
                first.append(task.record(out, loss, len(idx)))
            return total

        optimizer_step(closure)
        for hook in hooks.after_step:
            hook()
        return first[0]

    return runtime.prepare_step(step, optimizer)


def stepper(optimizer) -> Callable:
    """`optimizer_step(closure)`: the one place that knows how an optimizer steps. One that
    re-evaluates the loss itself (L-BFGS, `needs_closure`: runner/build/optim.py) gets the
    closure; the others step once after one evaluation (forward, backward) of it."""
    if getattr(optimizer, "needs_closure", False):
        return optimizer.step

    def evaluate_then_step(closure: Callable) -> None:
        closure()
        optimizer.step()

    return evaluate_then_step


def train_epoch(
    model,
    step: Callable,
    task,
    split: Split,
    loss_fn,
    trainer,
    order: torch.Generator,
    desc: str,
    stopper=None,
    runtime: Process = PROCESS,
) -> dict:
    """One pass over the training set, in a fresh random order (or in order with
    trainer.shuffle=false), one `step` (make_step) per batch. Nothing here waits for the
    device: per-step records stay tensors and the epoch's metrics are computed once at the end.
    Raises Diverged for a NaN/inf loss, or one past the `stopper`'s explosion rule; Preempted
    between two steps when a stop signal arrived (runner/fit/runtime.py)."""
    model.train()
    n = len(split)
    perm = torch.randperm(n, generator=order) if trainer.shuffle else torch.arange(n)
    # This rank's share of the epoch (all of it in one process); non_blocking: no wait for the copy.
    perm = runtime.shard(perm).to(split.x.device, non_blocking=True)
    show = trainer.progress and sys.stderr.isatty() and runtime.is_main
    steps = batches(len(perm), trainer.batch_size, perm)
    if show:  # wrapped only when shown: even a disabled bar costs a generator hop per step
        steps = tqdm(steps, total=math.ceil(len(perm) / trainer.batch_size), desc=desc, leave=False)
    records = []
    between_steps = runtime.between_steps()  # under DDP nothing: the ranks stop together at the epoch's end
    for idx in steps:
        records.append(step(split, idx))
        between_steps()  # a preemption signal stops the run here, between two steps
    every = trainer.log_every_n_steps  # TensorBoard's loss/train_by_step, read with the epoch's metrics
    metrics = task.summarise(records, split, perm, loss_fn, every, trainer.batch_size)
    windows = metrics.pop("windows", [])
    metrics = runtime.reduce(metrics, len(perm))
    loss = metrics["loss"]
    if not math.isfinite(loss):
        raise Diverged(
            f"training loss became {loss}",
            loss,
            next((i + 1 for i, r in enumerate(records) if not torch.isfinite(r).all()), None),
        )
    if stopper is not None and stopper.exploded(loss):
        limit = stopper.explosion_limit()
        losses = task.batch_losses(records, split, perm, loss_fn, trainer.batch_size)
        first_over = next((i + 1 for i, batch_loss in enumerate(losses) if not batch_loss <= limit), None)
        raise Diverged(
            f"training loss {loss:.4g} is over {limit:.4g} (trainer.divergence_factor {stopper.divergence_factor:g} "
            f"x {stopper.initial_loss:.4g}, the loss before the first step), first over it",
            loss,
            first_over,
        )
    if windows:  # (steps in the epoch, [(step, loss)]): each window's loss at its last step
        ends = [min(start + every, len(records)) for start in range(0, len(records), every)]
        metrics[STEP_LOSSES] = (len(records), list(zip(ends, windows)))
    return metrics


STEP_LOSSES = "step_losses"  # train_epoch's per-step points, taken out before the metrics become a row


class Diverged(Exception):
    """The training loss became NaN or infinite, or exploded (step: the first batch, 1-based, that showed it)."""

    def __init__(self, what: str, loss: float, step):
        super().__init__(what)
        self.loss, self.step = loss, step


@torch.inference_mode()
def initial_training_loss(model, task, split: Split, loss_fn, n: int) -> float:
    """The training loss before the first step, on the first n training examples: the explosion
    rule's yardstick (runner/build/early_stopping.py, `exploded`). A few milliseconds for an MLP on 1000."""
    return evaluate(model, task, split.take(slice(0, n)), loss_fn, n)["loss"]


def epochs_notice(cfg: RunConfig, overrides) -> str:
    """One line when trainer.epochs was chosen (command line or experiment file) while the default
    early stopping may end the run sooner (a 20-epoch recipe once stopped silently at epoch 14)."""
    stopping, keys = cfg.early_stopping, {override_key(o) for o in overrides}
    chose_stopping = any(k.split(".")[0] == "early_stopping" for k in keys) or stopping != EarlyStoppingConfig(
        **default_member("early_stopping")
    )
    if stopping.policy == "none" or chose_stopping or cfg.trainer.epochs <= stopping.patience:
        return ""  # (with no more epochs than the patience, the rule cannot end the run early)
    if "trainer.epochs" not in keys and cfg.trainer.epochs == default_member("trainer").get("epochs"):
        return ""
    return (
        f"notice: trainer.epochs={cfg.trainer.epochs}, but the default early stopping ends the run after "
        f"{max(stopping.patience, 1)} epochs without improvement of {stopping.monitor}; early_stopping=none trains all {cfg.trainer.epochs}"
    )


@torch.inference_mode()
def evaluate(model, task, split: Split, loss_fn, batch_size: int, runtime: Process = PROCESS) -> dict:
    """Metrics over a split (runner/build/evaluation.py). Under DDP each rank evaluates its
    1/N of the split and the sums are all-reduced."""
    split = runtime.part(split)
    return runtime.reduce(split_metrics(model, task, split, loss_fn, batch_size), len(split))


def prefixed(prefix: str, metrics: dict) -> dict:
    return {metric_name(prefix, k): v for k, v in metrics.items()}


def format_metrics(metrics: dict) -> str:
    text = f"loss {metrics['loss']:.4f}"
    if metrics.get("accuracy") is not None:
        text += f" accuracy {100 * metrics['accuracy']:.2f}%"
    for name in (BITS_PER_CHARACTER, PERPLEXITY):  # a language model's
        if metrics.get(name) is not None:
            text += f" {name.replace('_', ' ')} {metrics[name]:.4g}"
    return text


def override_key(override: str) -> str:
    """'++trainer.epochs=20' -> 'trainer.epochs'; '+experiment=x' -> 'experiment'."""
    return override.split("=", 1)[0].lstrip("+~")


def default_member(group: str) -> dict:
    """The values of the `group` member that conf/config.yaml picks by default."""
    defaults = yaml.safe_load((CONF_DIR / "config.yaml").read_text())["defaults"]
    member = next(d[group] for d in defaults if isinstance(d, dict) and group in d)
    return yaml.safe_load((CONF_DIR / group / f"{member}.yaml").read_text()) or {}
