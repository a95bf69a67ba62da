"""The training loop: build everything from a validated config, fit, test the best epoch.

Read `fit` top to bottom: it is the whole life of a run.
"""

import logging
import math
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from runner.checkpoint import save_checkpoint
from runner.config import RunConfig
from runner.data import Split, batches, load_dataset
from runner.early_stopping import EarlyStopping
from runner.environment import git_commit, machine, resolve_device, seed_everything, versions
from runner.losses import build_loss
from runner.models import build_model
from runner.optim import build_optimizer
from runner.regularization import param_groups
from runner.run_log import RunLog

log = logging.getLogger("runner")


def fit(cfg: RunConfig, run_dir: Path, hparams: dict, overrides=()) -> dict:
    started = time.perf_counter()
    trainer = cfg.trainer
    device = resolve_device(trainer.device)
    if trainer.threads:
        torch.set_num_threads(trainer.threads)
    seed_everything(cfg.seed, trainer.deterministic)

    data = load_dataset(cfg.data).to(device)
    model = build_model(cfg.model, cfg.regularization, data.input_shape, data.num_classes).to(device)
    optimizer = build_optimizer(cfg.optimizer, param_groups(model, cfg.regularization))
    loss_fn = build_loss(cfg.loss)
    stopper = EarlyStopping(cfg.early_stopping)
    order = torch.Generator().manual_seed(cfg.seed)  # the data order has its own stream
    run_log = RunLog(run_dir, hparams)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(f"{cfg.model.name}: {n_params:,} parameters, {len(data.train):,} training examples, device {device}")

    best_state, best_row, stop_reason = None, None, "completed"
    for epoch in range(1, trainer.epochs + 1):
        tick = time.perf_counter()
        train_metrics = train_epoch(model, data.train, loss_fn, optimizer, trainer, order, f"epoch {epoch}")
        seconds = time.perf_counter() - tick
        val_metrics = evaluate(model, data.val, loss_fn, trainer.eval_batch_size)
        row = {
            "epoch": epoch,
            **{f"train/{k}": v for k, v in train_metrics.items()},
            **{f"val/{k}": v for k, v in val_metrics.items()},
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 4),
        }
        if not math.isfinite(row["train/loss"]):
            run_log.epoch(row, trainer.epochs, improved=False)
            stop_reason = "diverged"
            log.warning(f"training loss is {row['train/loss']} at epoch {epoch}: stopping (diverged)")
            break
        improved = stopper.update(epoch, row)
        if improved:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_row = row
        run_log.epoch(row, trainer.epochs, improved)
        if trainer.checkpoints:
            save_checkpoint(run_dir, model, optimizer, stopper, order, epoch, best=improved)
        if stopper.should_stop and epoch < trainer.epochs:
            stop_reason = "early_stopping"
            log.info(f"no improvement of {stopper.cfg.monitor} for {stopper.bad_epochs} epochs: stopping")
            break

    if best_state is not None and cfg.early_stopping.restore_best:
        model.load_state_dict(best_state)
    test_metrics = evaluate(model, data.test, loss_fn, trainer.eval_batch_size)
    log.info(f"test loss {test_metrics['loss']:.4f} accuracy {100 * test_metrics['accuracy']:.2f}% (epoch {stopper.best_epoch} weights)")

    best_row = best_row or row
    results = {
        "status": "finished",
        "stop_reason": stop_reason,
        "epochs_run": row["epoch"],
        "best_epoch": stopper.best_epoch,
        "monitor": cfg.early_stopping.monitor,
        "tested_weights": "best" if best_state is not None and cfg.early_stopping.restore_best else "last",
        "train": {"loss": best_row["train/loss"], "accuracy": best_row["train/accuracy"]},
        "val": {"loss": best_row["val/loss"], "accuracy": best_row["val/accuracy"]},
        "test": test_metrics,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "params": n_params,
        "device": str(device),
        "seed": cfg.seed,
        "overrides": list(overrides),
        "versions": versions(),
        "machine": machine(device),
        "git_commit": git_commit(),
    }
    run_log.finish(results)
    return results


def train_epoch(model, split: Split, loss_fn, optimizer, trainer, order: torch.Generator, desc: str) -> dict:
    """One pass over the training set. Per-step outputs are kept as tensors (no
    host sync per step); the epoch's loss and accuracy are computed once at the end."""
    model.train()
    n = len(split)
    perm = torch.randperm(n, generator=order) if trainer.shuffle else torch.arange(n)
    perm = perm.to(split.x.device)
    steps = batches(n, trainer.batch_size, perm)
    show = trainer.progress and sys.stderr.isatty()
    outputs = []
    for idx in tqdm(steps, total=math.ceil(n / trainer.batch_size), desc=desc, leave=False, disable=not show):
        out = model(split.x[idx])
        loss = loss_fn(out, split.y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        outputs.append(out.detach())
    with torch.no_grad():
        logits = torch.cat(outputs)
        targets = split.y[perm]
        return {
            "loss": loss_fn(logits, targets).item(),
            "accuracy": (logits.argmax(1) == targets).float().mean().item(),
        }


@torch.inference_mode()
def evaluate(model, split: Split, loss_fn, batch_size: int) -> dict:
    """Loss and accuracy over a split, in chunks (one giant batch is slower on CPU)."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device, dtype=torch.long)
    for start in range(0, len(split), batch_size):
        x, y = split.x[start : start + batch_size], split.y[start : start + batch_size]
        out = model(x)
        loss_sum += loss_fn(out, y) * len(y)
        correct += (out.argmax(1) == y).sum()
    model.train(was_training)
    n = len(split)
    return {"loss": loss_sum.item() / n, "accuracy": correct.item() / n}
