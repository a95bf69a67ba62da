"""What a run leaves behind as it goes: metrics.csv, results.json, TensorBoard events, console lines.

The files are written through RunFolder (runner/record/run_folder.py), atomically, so a
reader (`runner compare`, a user's script) never sees a torn file even while the run is still going.
"""

import functools
import logging
from pathlib import Path

from runner.config.metric_names import (
    BITS_PER_CHARACTER,
    DIAGNOSTICS,
    EPOCH,
    LR,
    MOMENTUM,
    PERPLEXITY,
    SECONDS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    VAL_ACCURACY,
    VAL_LOSS,
    metric_name,
)
from runner.record.results import Results
from runner.record.run_folder import RunFolder

log = logging.getLogger("runner")

METRIC_COLUMNS = (EPOCH, TRAIN_LOSS, TRAIN_ACCURACY, VAL_LOSS, VAL_ACCURACY, LR, SECONDS)
NOT_CURVES = (EPOCH, SECONDS)  # columns TensorBoard gets no curve of
# The training loss of every trainer.log_every_n_steps steps, against the step (the other curves
# have one point an epoch, against the epoch): enough points for TensorBoard's smoothing.
TRAIN_LOSS_BY_STEP = "loss/train_by_step"
# What the tested weights scored: "tested/..." sorts after accuracy, loss and lr in TensorBoard.
TESTED = "tested"


class RunLog:
    def __init__(self, run_dir: Path, hparams: dict, rows=(), name: str = ""):
        """hparams: {key: value} for the HPARAMS tab; name: TensorBoard's name for the run
        (runner/launch/hparams.py: what was overridden), a folder inside the run folder."""
        self.folder = RunFolder(run_dir)
        self.rows = list(rows)  # earlier epochs of a resumed run
        self.hparams = hparams
        self.name = name

    @functools.cached_property
    def writer(self):
        """The TensorBoard writer, made when the first epoch ends: importing TensorBoard
        (protobuf) is not worth delaying the first training step for."""
        from torch.utils.tensorboard import SummaryWriter

        from runner.record.hparams_summary import session_start

        writer = SummaryWriter(log_dir=str(self.folder.tensorboard_dir(self.name)))  # events.out.tfevents.*
        writer.file_writer.add_summary(session_start(self.hparams, self.trial_id()))  # in HPARAMS while it runs
        return writer

    def trial_id(self) -> str:
        """The HPARAMS table's name for the run: its readable name, then where it lies (unique)."""
        where = f"{self.folder.path.parent.name}/{self.folder.path.name}"
        return f"{self.name}  {where}" if self.name else where

    def epoch(self, row: dict, total_epochs: int, improved: bool, images=None, step_losses=()) -> None:
        """step_losses: (global step, training loss) every trainer.log_every_n_steps steps of this epoch."""
        self.rows.append(row)
        self.folder.write_metric_rows(self.rows)
        for key, value in row.items():
            if key not in NOT_CURVES and value is not None:
                self.writer.add_scalar(tensorboard_tag(key), value, row[EPOCH])
        for step, loss in step_losses:
            self.writer.add_scalar(TRAIN_LOSS_BY_STEP, loss, step)
        for tag, image in (images or {}).items():
            self.writer.add_image(tag, image, row[EPOCH])
        self.writer.flush()
        log.info(_summary_line(row, total_epochs, improved))

    def diagnostics(self, epoch: int, histograms: dict, images: dict) -> None:
        """trainer.diagnostics=true: {tag: values} as histograms, {tag: (3, H, W) in [0, 1]} as images
        (runner/fit/diagnostics.py); their scalars came with the epoch's row."""
        for tag, values in histograms.items():
            self.writer.add_histogram(tag, values, epoch)
        for tag, image in images.items():
            self.writer.add_image(tag, image, epoch)
        self.writer.flush()

    def sample(self, text: str, epoch: int, heading: str) -> None:
        """A language model's drawn text: into samples.txt and TensorBoard's TEXT tab ("samples")."""
        self.folder.add_sample(heading, text)
        block = "\n".join("    " + line for line in text.splitlines())  # Markdown's code block: lines kept as drawn
        self.writer.add_text("samples", f"{heading}\n\n{block}", epoch)
        self.writer.flush()

    def finish(self, results: Results) -> None:
        self.folder.write_results(results)
        self._write_hparams(results)
        self.writer.close()

    def _write_hparams(self, results: Results) -> None:
        """The scores of the tested weights (the best epoch's, or the last with
        early_stopping.restore_best=false), as in results.json: scalars (HPARAMS' metric columns),
        and one table in the TEXT tab, easier to read than the scalars' single dots."""
        from runner.record.hparams_summary import session_end

        metrics = {
            f"{TESTED}/val_accuracy": results.val["accuracy"],
            f"{TESTED}/test_accuracy": results.test["accuracy"],
            f"{TESTED}/val_loss": results.val["loss"],
            f"{TESTED}/test_loss": results.test["loss"],
        }
        for name in (BITS_PER_CHARACTER, PERPLEXITY):  # a language model's, in its text's unit
            metrics[f"{TESTED}/val_{name}"] = results.val.get(name)
            metrics[f"{TESTED}/test_{name}"] = results.test.get(name)
        metrics = {tag: value for tag, value in metrics.items() if value is not None}  # autoencoders: no accuracy
        step = results.tested_epoch or results.epochs_run
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, step)
        self.writer.add_text(TESTED, results_table(results, metrics), step)
        self.writer.file_writer.add_summary(session_end(results.status == "finished"))


def tensorboard_tag(name: str) -> str:
    """ "train/loss" -> "loss/train": TensorBoard groups by the first part, so train and val
    curves of the same metric share a section. "diagnostics/grad_norm/layers.0" stays as it is:
    one section for all the diagnostics."""
    if name.startswith(f"{DIAGNOSTICS}/"):
        return name
    split, _, metric = name.partition("/")
    return f"{metric}/{split}" if metric else name


def results_table(results: Results, metrics: dict) -> str:
    """A Markdown table for TensorBoard's TEXT tab: what was tested, and its scores."""
    which = f"epoch {results.tested_epoch}" if results.tested_epoch else "the last weights"
    lines = [
        f"Tested weights: {results.tested_weights} ({which}); {results.status}, stop reason {results.stop_reason}.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {tag.partition('/')[2]} | {value:.4f} |" for tag, value in metrics.items()]
    return "\n".join(lines)


def _summary_line(row: dict, total_epochs: int, improved: bool) -> str:
    def pct(x):
        return "  n/a " if x is None else f"{100 * x:6.2f}%"

    def scores(split: str) -> str:  # a language model's bits per character or perplexity in place of an accuracy
        if metric_name(split, BITS_PER_CHARACTER) in row:
            return f"bpc {row[metric_name(split, BITS_PER_CHARACTER)]:.3f}"
        if metric_name(split, PERPLEXITY) in row:
            return f"ppl {row[metric_name(split, PERPLEXITY)]:.4g}"
        return f"acc {pct(row.get(metric_name(split, 'accuracy')))}"

    return (
        f"epoch {row[EPOCH]:>{len(str(total_epochs))}}/{total_epochs}"
        f"  train loss {row[TRAIN_LOSS]:.4f} {scores('train')}"
        f"  val loss {row[VAL_LOSS]:.4f} {scores('val')}"
        f"  lr {row[LR]:.3g}"
        + (f"  momentum {row[MOMENTUM]:.3g}" if MOMENTUM in row else "")  # with scheduler.momentum only
        + f"  {row[SECONDS]:.1f}s"
        + ("  *best*" if improved else "")
    )
