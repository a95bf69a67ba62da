"""The names of the metrics a run records, one place for all of them.

A name is `<split>/<metric>`: metrics.csv's column, the monitor that early stopping
and schedules watch, TensorBoard's tag (as `<metric>/<split>`), a curve in `runner
compare`. Here, at the config floor, because configs name them (`early_stopping.monitor`,
`scheduler.monitor`) and every floor above reads them.
"""

EPOCH = "epoch"
LR = "lr"
MOMENTUM = "momentum"  # only with a momentum schedule (scheduler.momentum): the epoch's (last step's) momentum or beta1
SECONDS = "seconds"  # the epoch's training and evaluation time
# trainer.diagnostics=true: columns "diagnostics/<quantity>/<layer>" (runner/fit/diagnostics.py), TensorBoard tags as named
DIAGNOSTICS = "diagnostics"

TRAIN_LOSS = "train/loss"
TRAIN_ACCURACY = "train/accuracy"
VAL_LOSS = "val/loss"
VAL_ACCURACY = "val/accuracy"
TEST_LOSS = "test/loss"  # only with trainer.test_every_epoch=true
TEST_ACCURACY = "test/accuracy"

# Language models (data=text): the loss (nats per token) in the text's unit, lower is better.
BITS_PER_CHARACTER = "bits_per_character"  # char tokens: loss / ln 2
PERPLEXITY = "perplexity"  # word tokens: e^loss
VAL_BITS_PER_CHARACTER = "val/bits_per_character"
VAL_PERPLEXITY = "val/perplexity"

# What early stopping and the plateau schedules may monitor.
MONITORS = (VAL_ACCURACY, VAL_LOSS, TRAIN_LOSS, TRAIN_ACCURACY)  # (language models: val/loss orders as they do)


def metric_name(split: str, metric: str) -> str:
    """("train", "loss") -> "train/loss"."""
    return f"{split}/{metric}"


def higher_is_better(name: str) -> bool:
    """Accuracies grow as a model improves; losses shrink."""
    return name.endswith("accuracy")
