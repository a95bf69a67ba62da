"""The one place a config is wired into parts: data -> model -> task -> loss, then what trains
them (optimizer, schedule, regularization hooks, stopper, data order).

    assemble(cfg, device)          everything `fit` trains with (runner/fit/loop.py, benchmarks)
    assemble_tested(cfg, device)   what `runner evaluate` tests with: data, model, task, loss
    model_and_task(cfg, ...)       the model as built from its config, and its task (gradcheck)
    check_parts(cfg, shape, ...)   the preflight's check: no data loaded, the model built once on the meta device

Each builds its pieces the same way and in the same order, so that the same config gives the
same model, data layout and loss wherever it is assembled."""

import dataclasses
from typing import Callable, NamedTuple, Optional

import torch

from runner.build import layout
from runner.build.data import Dataset, load_dataset
from runner.build.data.text import streams
from runner.build.early_stopping import EarlyStopping
from runner.build.losses import LOSSES, build_loss, check_loss
from runner.build.models import build_model, check_model
from runner.build.momentum import steps_per_epoch
from runner.build.optim import build_optimizer
from runner.build.regularization import StepHooks, build_hooks, check_augmentation, check_max_norm, param_groups
from runner.build.schedulers import build_scheduler
from runner.build.tasks import task_of
from runner.config.data.text import reads_tokens
from runner.config.data.text_classification import classifies_tokens
from runner.config.data.text_corpus import prompt_ids, vocabulary
from runner.config.momentum import check_momentum_optimizer
from runner.errors import ConfigError


class Parts(NamedTuple):
    """What a run trains with, built from its config before the first epoch."""

    data: Dataset
    model: torch.nn.Module
    task: type
    optimizer: torch.optim.Optimizer
    scheduler: object
    hooks: StepHooks
    loss_fn: Callable
    stopper: EarlyStopping
    order: torch.Generator


class TestedParts(NamedTuple):
    """What a model is tested with."""

    data: Dataset
    model: torch.nn.Module
    task: type
    loss_fn: Callable


def assemble(cfg, device: torch.device, world_size: int = 1) -> Parts:
    """Data (resident on `device`), model, optimizer, schedule, regularizers, loss and stopper:
    everything `fit` trains with. Seed first. world_size: processes training together (DDP),
    whose batches together make the global batch that weight decay is scaled by."""
    data, model, task = _data_model_task(cfg, device)
    if getattr(cfg.model, "stateful", False):  # row j of each batch continues row j of the batch before
        data = dataclasses.replace(data, train=streams(data.train, cfg.trainer.batch_size))
    batch = cfg.trainer.batch_size * world_size  # trainer.batch_size is per rank under DDP
    optimizer = build_optimizer(cfg.optimizer, param_groups(model, cfg.regularization, len(data.train), batch))
    steps = steps_per_epoch(len(data.train), cfg.trainer.batch_size, world_size)  # where a per-step momentum is
    scheduler = build_scheduler(cfg.scheduler, optimizer, cfg.optimizer.name, steps)
    hooks = build_hooks(cfg.regularization, model)
    loss_fn = task.adapt_loss(build_loss(cfg.loss, cfg.regularization))
    stopper = EarlyStopping(task.monitorable(cfg.early_stopping), cfg.trainer.divergence_factor)
    order = torch.Generator().manual_seed(cfg.seed)  # the data order has its own random stream
    return Parts(data, model, task, optimizer, scheduler, hooks, loss_fn, stopper, order)


def assemble_tested(cfg, device: torch.device, load_weights: Callable[[torch.nn.Module], None]) -> TestedParts:
    """The data, the model with the weights `load_weights` puts into it (before it moves to
    `device`), its task and the run's loss: fit's test step, set up again."""
    data, model, task = _data_model_task(cfg, device, load_weights)
    return TestedParts(data, model, task, task.adapt_loss(build_loss(cfg.loss, cfg.regularization)))


def _data_model_task(cfg, device: torch.device, load_weights: Optional[Callable] = None):
    """The data on `device` in the default dtype, the model on `device`, both in the layout
    training uses (trainer.channels_last), and the model's task."""
    trainer = cfg.trainer
    data = load_dataset(cfg.data).to(device, torch.get_default_dtype())
    model, task = model_and_task(cfg, data.input_shape, data.num_classes, vocabulary=data.vocabulary)
    if load_weights is not None:
        load_weights(model)
    model = model.to(device)
    if layout.wants_channels_last(trainer.channels_last, model, device, trainer.precision):
        data = layout.to_channels_last(model, data)  # the layout fit tested in (faster, and the same numbers)
    return data, model, task


def model_and_task(cfg, input_shape, num_classes: int, regularization=None, vocabulary=None):
    """The model its config describes (on the CPU, freshly initialised), and its task.
    regularization: another one than cfg's (gradcheck switches dropout off). vocabulary: the
    data's (Dataset.vocabulary), whose size a classifier of texts embeds (data=text_classification)."""
    size = len(vocabulary) if vocabulary is not None and classifies_tokens(cfg.data) else None
    model = build_model(
        cfg.model, regularization or cfg.regularization, input_shape, num_classes, reads_tokens(cfg.data), size
    )
    return model, task_of(model)


def check_parts(cfg, input_shape, num_classes: int) -> None:
    """Before any data is loaded: the model fits the data's shape (built once, on the meta
    device, by check_model), the loss exists and fits the model's task, augmentation has images. Raises ConfigError."""
    check_augmentation(cfg.regularization, input_shape)
    # A classifier of texts embeds the training split's vocabulary, not known before the split: any size fits the check.
    size = (cfg.data.vocab_size or 3) if classifies_tokens(cfg.data) else None
    model = check_model(cfg.model, cfg.regularization, input_shape, num_classes, reads_tokens(cfg.data), size)
    check_loss(cfg.loss, cfg.regularization)
    check_loss_fits_task(cfg.loss, cfg.model.name, task_of(model))
    check_schedule_monitor(cfg.scheduler, task_of(model))
    check_momentum_optimizer(cfg.scheduler.momentum, cfg.optimizer.name, cfg.trainer.cuda_graphs)
    check_max_norm(cfg.regularization, model)  # a list of bounds, one per layer of this model
    check_stateful(cfg)
    check_token_inputs(cfg)


def check_token_inputs(cfg) -> None:
    """Token ids (data=text) are indices: noise or dropout on them has no meaning (drop units with
    regularization.dropout). Text is drawn from language models only, from a prompt in their vocabulary."""
    if not reads_tokens(cfg.data) or classifies_tokens(cfg.data):
        if cfg.trainer.sample_every:
            raise ConfigError(
                "trainer.sample_every", "draws text from a language model, which needs data=text; set it to 0"
            )
        if not reads_tokens(cfg.data):
            return
    elif cfg.trainer.sample_every and cfg.sample.prompt:
        prompt_ids(cfg.sample.prompt, vocabulary(cfg.data.corpus().counts, cfg.data.vocab_size), cfg.data.tokens)
    for key in ("input_noise", "input_dropout"):
        if getattr(cfg.regularization, key, 0):
            raise ConfigError(
                f"regularization.{key}",
                "acts on input values, and data=text's inputs are token ids; set it to 0 (regularization.dropout drops the embedding's units)",
            )


def check_schedule_monitor(scheduler, task) -> None:
    """A schedule watching an accuracy (scheduler=halving) of a model that has none (an autoencoder, a
    language model): refused now, not at the end of the first epoch."""
    monitor = getattr(scheduler, "monitor", None)
    if monitor and monitor.endswith("accuracy") and task.name != "classification":
        raise ConfigError(
            "scheduler.monitor",
            f"{monitor}: a {task.name.replace('_', ' ')} model logs no accuracy; monitor a loss, e.g. scheduler.monitor=val/loss",
        )


def check_stateful(cfg) -> None:
    """model.stateful reads the training windows in the order streams() gives them: never shuffled,
    never shared out between processes, and with the model's state kept between Python calls."""
    if not getattr(cfg.model, "stateful", False):
        return
    trainer = cfg.trainer
    for bad, what in (
        (
            trainer.shuffle,
            "trainer.shuffle=true (a shuffled window does not continue the one before it); set trainer.shuffle=false",
        ),
        (
            trainer.strategy == "ddp",
            "trainer.strategy=ddp (each process would read other streams); use strategy=single",
        ),
        (
            trainer.cuda_graphs,
            "trainer.cuda_graphs (a replayed graph cannot carry the state); set trainer.cuda_graphs=false",
        ),
    ):
        if bad:
            raise ConfigError(
                "model.stateful", f"carries the hidden state across batches, which does not work with {what}"
            )


def check_loss_fits_task(loss: str, model_name: str, task) -> None:
    """A loss that cannot train this kind of model (the task names them: unfit_losses)."""
    if loss in task.unfit_losses:
        fit = [name for name in LOSSES.names() if name not in task.unfit_losses]
        raise ConfigError(
            "loss", f"'{loss}' does not fit model {model_name}, which {task.outputs}; use one of: {', '.join(fit)}"
        )
