"""The training loop: build everything from a validated config, fit, test the best epoch.

Read `fit` top to bottom: it is the whole life of a run. What varies between
experiments (model, loss, optimizer, schedule, regularizers, stopping rule) is
built from the registries before the loop starts; the loop itself has no
per-model branches.
"""

import logging
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import yaml
from tqdm import tqdm

from runner.build.assemble import assemble
from runner.build.data import Split, batches
from runner.build.device import resolve_device
from runner.build.early_stopping import EarlyStoppingConfig
from runner.build.evaluation import split_metrics
from runner.build.layout import default_dtype
from runner.config.metric_names import EPOCH, LR, SECONDS, metric_name
from runner.config.schema import RunConfig
from runner.fit import cpu_threads, distributed, signals, speed
from runner.fit.environment import git_commit, machine, seed_everything, versions
from runner.fit.resume import ResumePoint, restore
from runner.paths import CONF_DIR
from runner.record.checkpoint import save_checkpoint
from runner.record.results import Results, split_entry, status_of
from runner.record.run_folder import RunFolder
from runner.record.run_log import RunLog

log = logging.getLogger("runner")


def fit(cfg: RunConfig, run_dir: Path, hparams: dict, overrides=()) -> dict:
    with default_dtype(cfg.trainer.precision):  # fp64: parameters, data and every new tensor
        return _fit(cfg, run_dir, hparams, overrides)


def _fit(cfg: RunConfig, run_dir: Path, hparams: dict, overrides=()) -> dict:
    started = time.perf_counter()
    trainer = cfg.trainer
    finished = RunFolder(run_dir).finished_results() if trainer.resume == "auto" else None
    if finished:
        log.info(f"{run_dir} has already finished: skipping (trainer.resume=auto)")
        return finished
    device = distributed.local_device(resolve_device(trainer.device))  # under DDP: this rank's GPU
    speed.check_device(trainer, device)
    cpu_threads.set_threads(trainer.threads, device)
    seed_everything(cfg.seed, trainer.deterministic)

    data, model, task, optimizer, scheduler, hooks, loss_fn, stopper, order = assemble(
        cfg, device, distributed.world_size()
    )  # runner/build/assemble.py
    n_params = sum(p.numel() for p in model.parameters())
    log.info(f"{cfg.model.name}: {n_params:,} parameters, {len(data.train):,} training examples, device {device}")
    log.info(stopper.describe(trainer.epochs))
    if notice := epochs_notice(cfg, overrides):
        log.info(notice)
    resumed = (
        restore(run_dir, model, optimizer, scheduler, stopper, order) if trainer.resume == "auto" else ResumePoint()
    )
    if stopper.divergence_factor and stopper.initial_loss is None:  # a resumed run keeps the one its checkpoint holds
        stopper.initial_loss = initial_training_loss(model, task, data.train, loss_fn, trainer.eval_batch_size)
    run_log = RunLog(run_dir, hparams, rows=resumed.rows) if distributed.is_main() else distributed.Silent()
    trained = distributed.wrap(
        model, device
    )  # DDP under torchrun (gradients averaged over ranks); `model` itself otherwise
    step = make_step(trained, task, loss_fn, optimizer, hooks, trainer, device)  # after restore (see make_step)

    best_state, best_row, stop_reason, diverged_at = resumed.best_state, resumed.best_row, "completed", None
    row = resumed.rows[-1] if resumed.rows else None
    mid_epoch = False  # True while the weights have moved on from those of `row`
    signals.install()  # SIGTERM/SIGUSR1/SIGUSR2 now stop the run after the current step (runner/fit/signals.py)
    try:
        for epoch in range(resumed.epoch + 1, trainer.epochs + 1):
            tick = time.perf_counter()
            mid_epoch = True
            try:
                train_metrics = train_epoch(
                    trained, step, task, data.train, loss_fn, trainer, order, f"epoch {epoch}", stopper=stopper
                )
            except Diverged as diverged:
                # Keep best.pt and the weights of the best epoch so far; a sweep goes on with its other points.
                stop_reason, diverged_at = "diverged", {"epoch": epoch, "step": diverged.step}
                log.warning(f"{diverged} at epoch {epoch}, step {diverged.step}: stopping (diverged)")
                break
            seconds = time.perf_counter() - tick
            row = {
                EPOCH: epoch,
                **prefixed("train", train_metrics),
                **prefixed("val", evaluate(model, task, data.val, loss_fn, trainer.eval_batch_size)),
                **(
                    prefixed("test", evaluate(model, task, data.test, loss_fn, trainer.eval_batch_size))
                    if trainer.test_every_epoch
                    else {}
                ),
                LR: optimizer.param_groups[0]["lr"],
                SECONDS: round(seconds, 4),
            }
            mid_epoch = False
            improved = stopper.update(epoch, row)
            if improved:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best_row = row
            run_log.epoch(row, trainer.epochs, improved, images=task.images(model, data.val))
            schedule_done = scheduler.step(row)
            if trainer.checkpoints and distributed.is_main():
                elapsed = resumed.elapsed_s + time.perf_counter() - started
                save_checkpoint(
                    run_dir, model, optimizer, scheduler, stopper, order, epoch, best=improved, elapsed_s=elapsed
                )
            if distributed.active():
                signals.check_across_ranks(distributed.max_over_ranks)
            if epoch < trainer.epochs and distributed.agree(stopper.should_stop):  # rank 0's clock decides a time limit
                stop_reason = stopper.stop_reason  # "early_stopping" or "time_limit"
                log.info(f"{stopper.explanation()}: stopping")
                break
            if epoch < trainer.epochs and schedule_done:
                stop_reason = "schedule_done"
                log.info("the learning-rate schedule has ended: stopping")
                break
    except KeyboardInterrupt:
        # Graceful: checkpoints/last.pt holds the last whole epoch (trainer.resume=auto continues
        # from it); test the best weights and write results.json. A second Ctrl-C quits at once.
        stop_reason = "interrupted"
        log.warning(
            "interrupted: testing the best weights so far and writing results.json (Ctrl-C again quits at once)"
        )
    except signals.Preempted as preempted:
        # SLURM's notice of a time limit or preemption: the same graceful stop; signals.finish requeues.
        stop_reason = "preempted"
        log.warning(
            f"preempted ({preempted}): testing the best weights so far and writing results.json; trainer.resume=auto continues"
        )
    finally:
        signals.restore()  # the usual handlers again: a second signal quits at once, like a second Ctrl-C

    restored_best = best_state is not None and cfg.early_stopping.restore_best
    if restored_best:
        model.load_state_dict(best_state)
    test_metrics = evaluate(model, task, data.test, loss_fn, trainer.eval_batch_size)
    predictions = task.predictions(model, data.test, trainer.eval_batch_size) if distributed.is_main() else None
    if predictions is not None:  # a classifier's: label, predicted per test example
        RunFolder(run_dir).write_test_predictions(*predictions)
    # train/val/test in results.json all describe the weights that were tested (README, results.json)
    if restored_best:
        tested_epoch, tested_row = stopper.best_epoch, best_row
    elif row and not mid_epoch:
        tested_epoch, tested_row = row[EPOCH], row
    else:  # stopped inside an epoch: no whole-epoch training loss for these weights; validate them now
        tested_epoch, tested_row = (
            None,
            prefixed("val", evaluate(model, task, data.val, loss_fn, trainer.eval_batch_size)),
        )
    which = f"epoch {tested_epoch} weights" if tested_epoch else "weights from inside the last epoch"
    log.info(f"test {format_metrics(test_metrics)} ({which})")

    results = Results(  # results.json (runner/record/results.py says what each entry means)
        status=status_of(stop_reason),
        stop_reason=stop_reason,
        task=task.name,
        epochs_run=row[EPOCH] if row else 0,
        diverged_at=diverged_at,
        best_epoch=stopper.best_epoch,
        monitor=stopper.cfg.monitor,
        tested_weights="best" if restored_best else "last",
        tested_epoch=tested_epoch,
        train=split_entry(tested_row, "train"),
        val=split_entry(tested_row, "val"),
        test=test_metrics,
        wall_time_s=round(resumed.elapsed_s + time.perf_counter() - started, 3),
        resumed_after_epoch=resumed.epoch or None,
        params=n_params,
        device=str(device),
        world_size=distributed.world_size(),
        seed=cfg.seed,
        threads=torch.get_num_threads(),
        overrides=list(overrides),
        versions=versions(),
        machine=machine(device),
        git_commit=git_commit(),
    )
    run_log.finish(results)
    signals.finish(preempted=stop_reason == "preempted")  # if preempted: requeue (SLURM) and exit
    return results.as_json()


def make_step(model, task, loss_fn, optimizer, hooks, trainer, device: torch.device) -> Callable:
    """The training step, built once per run: `step(split, idx)` trains on the examples `idx`
    of `split` and returns the task's record of the batch, a tensor (nothing waits for the
    device). By default the plain eager step; trainer.compile/precision/cuda_graphs change
    how it runs (runner/fit/speed.py). Call it after restoring a checkpoint, which brings the
    optimizer settings of the run that saved it."""
    speed.set_capturable(optimizer, trainer.cuda_graphs)
    forward = speed.training_forward(model, trainer, device)  # `model` itself by default
    needs_closure = getattr(optimizer, "needs_closure", False)  # L-BFGS re-evaluates the loss itself

    def step(split: Split, idx: torch.Tensor) -> torch.Tensor:
        # index_select, not x[idx]: the same rows, without advanced indexing's general path
        # (on CPU about 13 -> 6 us for a batch of 10 MNIST images, ~4% of an MLP step)
        x, y = split.x.index_select(0, idx), split.y.index_select(0, idx)
        for transform in hooks.batch_transforms:
            x = transform(x)
        target = task.target(x, y)
        first = []  # L-BFGS evaluates the closure several times; record the first (pre-step) one

        def closure():
            optimizer.zero_grad(set_to_none=True)
            out = forward(x)
            loss = loss_fn(out, target)
            total = loss
            for penalty in hooks.penalties:
                total = total + penalty()
            total.backward()
            for hook in hooks.after_backward:
                hook()
            if not first:
                first.append(task.record(out, loss, len(idx)))
            return total

        if needs_closure:
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        for hook in hooks.after_step:
            hook()
        return first[0]

    return speed.CudaGraphStep(step, optimizer, trainer.batch_size) if trainer.cuda_graphs else step


def train_epoch(
    model, step: Callable, task, split: Split, loss_fn, trainer, order: torch.Generator, desc: str, stopper=None
) -> dict:
    """One pass over the training set, in a fresh random order (or in order with
    trainer.shuffle=false), one `step` (make_step) per batch. Nothing here waits for the
    device: per-step records stay tensors and the epoch's metrics are computed once at the end.
    Raises Diverged for a NaN/inf loss, or one past the `stopper`'s explosion rule."""
    model.train()
    n = len(split)
    perm = torch.randperm(n, generator=order) if trainer.shuffle else torch.arange(n)
    # This rank's share of the epoch (all of it in one process); non_blocking: no wait for the copy.
    perm = distributed.shard(perm).to(split.x.device, non_blocking=True)
    show = trainer.progress and sys.stderr.isatty() and distributed.is_main()
    steps = batches(len(perm), trainer.batch_size, perm)
    if show:  # wrapped only when shown: even a disabled bar costs a generator hop per step
        steps = tqdm(steps, total=math.ceil(len(perm) / trainer.batch_size), desc=desc, leave=False)
    records = []
    # Under DDP a lone rank must not stop mid-epoch: fit checks across ranks at the epoch's end.
    step_check = signals.check if not distributed.active() else (lambda: None)
    for idx in steps:
        records.append(step(split, idx))
        step_check()  # a preemption signal stops the run here, between two steps
    metrics = distributed.reduce_metrics(task.summarise(records, split, perm, loss_fn), len(perm))
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
    return metrics


class Diverged(Exception):
    """The training loss became NaN or infinite, or exploded (step: the first batch, 1-based, that showed it)."""

    def __init__(self, what: str, loss: float, step):
        super().__init__(what)
        self.loss, self.step = loss, step


@torch.inference_mode()
def initial_training_loss(model, task, split: Split, loss_fn, n: int) -> float:
    """The training loss before the first step, on the first n training examples: the explosion
    rule's yardstick (runner/build/early_stopping.py, `exploded`). A few milliseconds for an MLP on 1000."""
    return evaluate(model, task, Split(split.x[:n], split.y[:n]), loss_fn, n)["loss"]


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
def evaluate(model, task, split: Split, loss_fn, batch_size: int) -> dict:
    """Metrics over a split (runner/build/evaluation.py). Under DDP each rank evaluates its
    1/N of the split and the sums are all-reduced."""
    split = distributed.part(split)
    return distributed.reduce_metrics(split_metrics(model, task, split, loss_fn, batch_size), len(split))


def prefixed(prefix: str, metrics: dict) -> dict:
    return {metric_name(prefix, k): v for k, v in metrics.items()}


def format_metrics(metrics: dict) -> str:
    text = f"loss {metrics['loss']:.4f}"
    if metrics.get("accuracy") is not None:
        text += f" accuracy {100 * metrics['accuracy']:.2f}%"
    return text


def override_key(override: str) -> str:
    """'++trainer.epochs=20' -> 'trainer.epochs'; '+experiment=x' -> 'experiment'."""
    return override.split("=", 1)[0].lstrip("+~")


def default_member(group: str) -> dict:
    """The values of the `group` member that conf/config.yaml picks by default."""
    defaults = yaml.safe_load((CONF_DIR / "config.yaml").read_text())["defaults"]
    member = next(d[group] for d in defaults if isinstance(d, dict) and group in d)
    return yaml.safe_load((CONF_DIR / group / f"{member}.yaml").read_text()) or {}
