"""On a machine with a CUDA GPU: every model config trains a few steps on the GPU with data
resident there. Deselected by default (`-m gpu`); skipped where there is no CUDA."""

import json
import math

import pytest
import torch

from runner.config.schema import validate
from runner.launch.preflight import check
from runner.paths import CONF_DIR

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

# Image models: the transformer and text_cnn read token ids only (tests/test_transformer.py, test_text_classification.py).
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml") if p.stem not in ("transformer", "text_cnn"))


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_on_cuda(cli, model):
    loss = ["loss=bce"] if "autoencoder" in model else []
    result = cli(
        "train",
        f"model={model}",
        *loss,
        "data=mnist",
        "data.train_size=512",
        "trainer.epochs=2",
        "trainer.device=cuda",
        "trainer.batch_size=64",
    )
    assert result.code == 0, result.err
    results = json.loads((result.run_dir() / "results.json").read_text())
    assert results["device"].startswith("cuda") and results["machine"]["gpu"]


# ---------------------------------------------------------------- speed options (docs/training.md, "Fast runs on a GPU")

# Nielsen's CNN on 2,000 MNIST images: 31 batches of 64 and a last partial one of 16, which a
# CUDA-graph run trains eagerly.
CNN = ["model=cnn", "data=mnist", "data.train_size=2000", "trainer.device=cuda", "trainer.batch_size=64", "trainer.epochs=3",
       "optimizer=sgd", "optimizer.lr=0.1", "early_stopping=none", "seed=0", "trainer.progress=false"]  # fmt: skip
ALL = ["trainer.compile=true", "trainer.precision=bf16", "trainer.channels_last=true", "trainer.cuda_graphs=true"]
# name: (what the eager baseline also uses, the speed options)
SPEED = {
    "compile": ([], ["trainer.compile=true"]),
    "bf16": ([], ["trainer.precision=bf16"]),
    "channels_last": ([], ["trainer.channels_last=true"]),
    "cuda_graphs": ([], ["trainer.cuda_graphs=true"]),
    # Adam's step count lives on the GPU (capturable); the halving learning rate makes the step be captured anew.
    "cuda_graphs_adam_schedule": (["optimizer=adam", "optimizer.lr=0.001", "scheduler=step", "scheduler.step_size=1", "scheduler.gamma=0.5"],
                                  ["trainer.cuda_graphs=true"]),
    "cuda_graphs_regularizers": (["regularization=[dropout,clip,max_norm,augment]"], ["trainer.cuda_graphs=true"]),
    "all": ([], ALL),
}  # fmt: skip


def final_train_loss(folder) -> float:
    lines = (folder / "metrics.csv").read_text().splitlines()
    header, last = lines[0].split(","), lines[-1].split(",")
    return float(last[header.index("train/loss")])


@pytest.mark.parametrize("name", SPEED)
def test_speed_options_train_like_the_eager_loop_on_cuda(cli, outputs, name):
    """Each option trains Nielsen's CNN on the GPU about as the plain eager step does (same data,
    same order, same seed): a graph that replayed stale work, or a forward pass in the wrong
    precision, would show in the loss."""
    base, options = SPEED[name]
    folders = {}
    for side, extra in (("eager", ["trainer.channels_last=false"]), (name, options)):
        result = cli("train", *CNN, *base, *extra, f"hydra.run.dir={outputs / side}")
        assert result.code == 0, result.err
        folders[side] = outputs / side
    results = json.loads((folders[name] / "results.json").read_text())
    assert results["device"].startswith("cuda") and results["test"]["accuracy"] > 0.5
    eager, fast = final_train_loss(folders["eager"]), final_train_loss(folders[name])
    assert abs(fast - eager) <= 0.15 * eager + 0.01, (eager, fast)


def test_channels_last_is_on_for_a_cnn_on_cuda_by_default():
    from runner.build.assemble import assemble

    cfg = validate(check(CNN)[0])
    parts = assemble(cfg, torch.device("cuda"))
    conv = next(m for m in parts.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("options", [[], ["trainer.cuda_graphs=true"], ALL], ids=["eager", "cuda_graphs", "all"])
def test_no_host_sync_inside_an_epoch(monkeypatch, options):
    """Between the first step and the epoch's metrics nothing waits for the GPU: no .item(), no
    blocking copy. The first epoch warms up (compiles, captures: those synchronise); the second
    runs under torch.cuda.set_sync_debug_mode("error"), which raises on any synchronising call."""
    from runner.build.assemble import assemble
    from runner.fit.environment import seed_everything
    from runner.fit.loop import make_step, train_epoch

    cfg = validate(check([*CNN, *options])[0])
    seed_everything(cfg.seed, False)
    device = torch.device("cuda")
    parts = assemble(cfg, device)
    step = make_step(parts.model, parts.task, parts.loss_fn, parts.optimizer, parts.hooks, cfg.trainer, device)

    def epoch():
        return train_epoch(
            parts.model, step, parts.task, parts.data.train, parts.loss_fn, cfg.trainer, parts.order, "epoch"
        )

    epoch()
    summarise = parts.task.summarise

    def summarise_after_the_last_step(*args):
        torch.cuda.set_sync_debug_mode("default")  # the epoch's one wait: its metrics, once, at the end
        return summarise(*args)

    monkeypatch.setattr(parts.task, "summarise", summarise_after_the_last_step)
    torch.cuda.set_sync_debug_mode("error")
    try:
        metrics = epoch()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert math.isfinite(metrics["loss"])
