"""What a model is trained to do, and how its outputs become metrics.

A classifier predicts labels (loss + accuracy); an autoencoder reconstructs its
input (loss only). Models declare theirs with a `task` attribute
("classification" by default). The loop asks the task for the target of a batch
and for the metrics of a whole epoch, so it never branches on the model kind.
"""

import dataclasses
from typing import Dict, List, Optional

import torch


class Classification:
    name = "classification"
    records_batch_loss = False  # the epoch's loss comes from the kept logits

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
    def summarise(records: List[torch.Tensor], split, order, loss_fn) -> Dict[str, Optional[float]]:
        """Metrics of the examples `split` visited in `order` (None: in their own order)."""
        targets = split.y if order is None else split.y[order]
        with torch.no_grad():
            logits = torch.cat(records)
            return {
                "loss": loss_fn(logits, targets).item(),
                "accuracy": (logits.argmax(1) == targets).sum().item() / len(targets),
            }

    @staticmethod
    def batch_losses(records: List[torch.Tensor], split, order, loss_fn, batch_size: int) -> List[float]:
        """The loss of each step's batch, in order (which step an exploding loss first showed in)."""
        targets = split.y[order].split(batch_size)
        with torch.no_grad():
            return [loss_fn(logits, target).item() for logits, target in zip(records, targets)]


class Reconstruction:
    name = "reconstruction"
    records_batch_loss = True

    @staticmethod
    def monitorable(early_stopping):
        """Reconstructions have no accuracy: watch the matching loss instead."""
        if early_stopping.monitor.endswith("accuracy"):
            return dataclasses.replace(early_stopping, monitor=early_stopping.monitor.replace("accuracy", "loss"), mode="auto")
        return early_stopping

    @staticmethod
    def images(model, split) -> Dict[str, torch.Tensor]:
        """Validation inputs (top row) against their reconstructions, for TensorBoard."""
        from runner.build.models.autoencoder import reconstruction_grid

        return {"reconstructions": reconstruction_grid(model, split.x[:8], n=8)}

    @staticmethod
    def target(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def record(out: torch.Tensor, loss: torch.Tensor, n: int):
        # Reconstructions are as big as the data: keep only the batch's summed loss.
        return loss.detach() * n

    @staticmethod
    def summarise(records: List[torch.Tensor], split, order, loss_fn) -> Dict[str, Optional[float]]:
        count = len(split) if order is None else len(order)
        return {"loss": (torch.stack(records).sum() / count).item(), "accuracy": None}

    @staticmethod
    def batch_losses(records: List[torch.Tensor], split, order, loss_fn, batch_size: int) -> List[float]:
        """The loss of each step's batch, in order (each record is a batch's summed loss)."""
        sizes = [len(idx) for idx in order.split(batch_size)]
        return [(summed / n).item() for summed, n in zip(records, sizes)]


TASKS = {"classification": Classification, "reconstruction": Reconstruction}


def task_of(model) -> type:
    return TASKS[getattr(model, "task", "classification")]
