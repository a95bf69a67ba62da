"""What a model is trained to do, and how its outputs become metrics.

A classifier predicts labels (loss + accuracy); an autoencoder reconstructs its
input (loss only). Models declare theirs with a `task` attribute
("classification" by default). The loop asks the task for the target of a batch,
the metrics of a whole epoch and the test predictions it writes (classifiers); the preflight asks
which losses and output shape fit it; `runner evaluate` asks for its confusion matrix.
Nothing else branches on the model kind: a new kind (language modelling) is one new
task object here.
"""

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

import torch

from runner.build.evaluation import confusion_counts, predicted_labels
from runner.config.losses import LOSS_NAMES
from runner.config.metric_names import BITS_PER_CHARACTER, PERPLEXITY


class Classification:
    name = "classification"

    @staticmethod
    def adapt_loss(loss_fn):
        """The loss as the loop calls it, loss_fn(outputs, target): the configured loss itself."""
        return loss_fn

    records_batch_loss = False  # the epoch's loss comes from the kept logits
    # Its outputs are logits: bce needs probabilities in [0, 1].
    unfit_losses = ("bce",)
    outputs = "outputs class scores (logits, not probabilities in [0, 1])"

    @staticmethod
    def output_shape(input_shape: Tuple[int, ...], num_classes: int) -> Tuple[int, ...]:
        return (num_classes,)

    @staticmethod
    def monitorable(early_stopping):
        return early_stopping

    @staticmethod
    def images(model, split) -> Dict[str, torch.Tensor]:
        return {}

    @staticmethod
    def target(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    @staticmethod
    def record(out: torch.Tensor, loss: torch.Tensor, n: int):
        # Keep the logits (no host sync per step); loss and accuracy are computed once per epoch.
        return out.detach()

    @staticmethod
    def summarise(records: List[torch.Tensor], split, order, loss_fn, every: int = 0, batch_size: int = 0) -> dict:
        """Metrics of the examples `split` visited in `order` (None: in their own order). every > 0
        (training, batches of batch_size): also "windows", the loss over each `every` steps' batches in
        turn; the epoch's loss is then their mean weighted by examples (every loss is a mean over
        examples: runner/build/losses.py), so the curve costs no second pass."""
        targets = split.y if order is None else split.y[order]
        with torch.no_grad():
            logits = torch.cat(records)
            accuracy = (logits.argmax(1) == targets).sum().item() / len(targets)
            if not every:
                return {"loss": loss_fn(logits, targets).item(), "accuracy": accuracy}
            width, n = every * batch_size, len(targets)
            starts = range(0, n, width)
            windows = torch.stack([loss_fn(logits[i : i + width], targets[i : i + width]) for i in starts]).tolist()
            loss = sum(w * min(width, n - i) for w, i in zip(windows, starts)) / n
            return {"loss": loss, "accuracy": accuracy, "windows": windows}

    @staticmethod
    def batch_losses(records: List[torch.Tensor], split, order, loss_fn, batch_size: int) -> List[float]:
        """The loss of each step's batch, in order (which step an exploding loss first showed in)."""
        targets = split.y[order].split(batch_size)
        with torch.no_grad():
            return [loss_fn(logits, target).item() for logits, target in zip(records, targets)]

    @staticmethod
    def predictions(model, split, batch_size: int) -> Optional[Tuple[List[int], List[int]]]:
        """(labels, predicted labels) of the examples: what ensembles vote with and confusion matrices count."""
        return split.y.tolist(), predicted_labels(model, split, batch_size).tolist()

    @staticmethod
    def confusion(model, split, num_classes: int, batch_size: int) -> List[List[int]]:
        return confusion_counts(split.y, predicted_labels(model, split, batch_size), num_classes)


class Reconstruction:
    name = "reconstruction"
    adapt_loss = Classification.adapt_loss
    records_batch_loss = True
    # Its target is its input image, not a class: cross_entropy over one channel is always 0, hinge needs labels.
    unfit_losses = ("cross_entropy", "hinge")
    outputs = "reconstructs its input"

    @staticmethod
    def output_shape(input_shape: Tuple[int, ...], num_classes: int) -> Tuple[int, ...]:
        return tuple(input_shape)

    @staticmethod
    def monitorable(early_stopping):
        """Reconstructions have no accuracy: watch the matching loss instead."""
        if early_stopping.monitor.endswith("accuracy"):
            return dataclasses.replace(
                early_stopping, monitor=early_stopping.monitor.replace("accuracy", "loss"), mode="auto"
            )
        return early_stopping

    @staticmethod
    def images(model, split) -> Dict[str, torch.Tensor]:
        """Validation inputs (the row named "input") over their reconstructions ("output"), for TensorBoard."""
        from runner.build.models.autoencoder import reconstruction_grid

        return {"reconstructions/input_above_output": reconstruction_grid(model, split.inputs(slice(0, 8)), n=8)}

    @staticmethod
    def target(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def record(out: torch.Tensor, loss: torch.Tensor, n: int):
        # Reconstructions are as big as the data: keep only the batch's summed loss.
        return loss.detach() * n

    @staticmethod
    def summarise(records: List[torch.Tensor], split, order, loss_fn, every: int = 0, batch_size: int = 0) -> dict:
        """As Classification.summarise; each record is a batch's summed loss."""
        count = len(split) if order is None else len(order)
        if not every:
            return {"loss": (torch.stack(records).sum() / count).item(), "accuracy": None}
        sums = [window.sum() for window in torch.stack(records).split(every)]
        summed = torch.stack(sums).tolist()
        sizes = [min(every * batch_size, count - i) for i in range(0, count, every * batch_size)]
        return {"loss": sum(summed) / count, "accuracy": None, "windows": [s / n for s, n in zip(summed, sizes)]}

    @staticmethod
    def batch_losses(records: List[torch.Tensor], split, order, loss_fn, batch_size: int) -> List[float]:
        """The loss of each step's batch, in order (each record is a batch's summed loss)."""
        sizes = [len(idx) for idx in order.split(batch_size)]
        return [(summed / n).item() for summed, n in zip(records, sizes)]

    @staticmethod
    def predictions(model, split, batch_size: int) -> Optional[Tuple[List[int], List[int]]]:
        return None  # a reconstruction predicts no label

    @staticmethod
    def confusion(model, split, num_classes: int, batch_size: int) -> List[List[int]]:
        return []  # no classes to confuse


class LanguageModel(Reconstruction):
    """Next-token prediction over token windows (data=text): the model maps (B, T) token ids to
    (B, T, V) logits; the loss is cross-entropy over all B * T positions (nats per token, the mean
    over every position of every window); the metrics add bits per character (char tokens:
    loss / ln 2) or perplexity (word tokens: e^loss). No accuracy (None, as a reconstruction's): early
    stopping that watches an accuracy watches the matching loss instead (Reconstruction.monitorable),
    which orders epochs as bits per character and perplexity do."""

    name = "language_model"
    records_batch_loss = True  # a window's logits are T x V values: keep each batch's summed loss only
    unfit_losses = tuple(name for name in LOSS_NAMES if name != "cross_entropy")
    outputs = "predicts the next token at every position (logits over the vocabulary)"

    @staticmethod
    def output_shape(input_shape: Tuple[int, ...], num_classes: int) -> Tuple[int, ...]:
        return (*input_shape, num_classes)

    @staticmethod
    def adapt_loss(loss_fn):
        """loss_fn over (B * T, V) logits and (B * T,) targets: the mean over every position."""

        def per_token(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return loss_fn(out.reshape(-1, out.shape[-1]), target.reshape(-1))

        return per_token

    @staticmethod
    def images(model, split) -> Dict[str, torch.Tensor]:
        return {}

    @staticmethod
    def target(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    @staticmethod
    def summarise(records: List[torch.Tensor], split, order, loss_fn, every: int = 0, batch_size: int = 0) -> dict:
        """Reconstruction's (each record a batch's summed loss; every window has T tokens, so the mean
        over windows is the mean per token), and the loss in the text's own unit."""
        metrics = Reconstruction.summarise(records, split, order, loss_fn, every, batch_size)  # accuracy None
        return {**metrics, **per_unit(metrics["loss"], split.tokens)}


def per_unit(loss: float, tokens: str) -> dict:
    """bits_per_character for characters, perplexity for words (a loss in nats per token)."""
    if tokens == "char":
        return {BITS_PER_CHARACTER: loss / math.log(2)}
    return {PERPLEXITY: math.exp(min(loss, 700.0))}  # e^700 is near float's largest: a diverged loss stays finite


TASKS = {"classification": Classification, "reconstruction": Reconstruction, "language_model": LanguageModel}


def task_of(model) -> type:
    return TASKS[getattr(model, "task", "classification")]
