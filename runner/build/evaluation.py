"""A model's metrics over a split, and its predicted labels: what fit validates and tests with
each epoch and `runner evaluate` tests with again, so that both give the same numbers."""

from typing import List

import torch


@torch.inference_mode()
def split_metrics(model, task, split, loss_fn, batch_size: int) -> dict:
    """The task's metrics over `split`, in chunks (one giant batch is slower on CPU), in one
    process (runner/fit/loop.py's `evaluate` shares a split out under DDP)."""
    was_training = model.training
    model.eval()
    records = []
    for start in range(0, len(split), batch_size):
        x, y = split.inputs(slice(start, start + batch_size)), split.y[start : start + batch_size]
        out = model(x)
        loss = loss_fn(out, task.target(x, y)) if task.records_batch_loss else None
        records.append(task.record(out, loss, len(y)))
    model.train(was_training)
    return task.summarise(records, split, None, loss_fn)


@torch.inference_mode()
def predicted_labels(model, split, batch_size: int) -> torch.Tensor:
    """The class a classifier predicts for each example of `split` (leaves the model in eval mode)."""
    model.eval()
    return torch.cat(
        [model(split.inputs(slice(s, s + batch_size))).argmax(1) for s in range(0, len(split), batch_size)]
    )


def confusion_counts(labels: torch.Tensor, predicted: torch.Tensor, num_classes: int) -> List[List[int]]:
    """[true class][predicted class] -> count."""
    counts = torch.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes).tolist()
