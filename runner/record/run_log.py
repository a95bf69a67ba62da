"""What a run leaves behind as it goes: metrics.csv, results.json, TensorBoard events, console lines.

The files are written through RunFolder (runner/record/run_folder.py), atomically, so a
reader (`runner compare`, a user's script) never sees a torn file even while the run is still going.
"""

import functools
import logging
from pathlib import Path

from runner.config.metric_names import EPOCH, LR, SECONDS, TRAIN_ACCURACY, TRAIN_LOSS, VAL_ACCURACY, VAL_LOSS
from runner.record.results import Results
from runner.record.run_folder import RunFolder

log = logging.getLogger("runner")

METRIC_COLUMNS = (EPOCH, TRAIN_LOSS, TRAIN_ACCURACY, VAL_LOSS, VAL_ACCURACY, LR, SECONDS)
NOT_CURVES = (EPOCH, SECONDS)  # columns TensorBoard gets no curve of


class RunLog:
    def __init__(self, run_dir: Path, hparams: dict, rows=()):
        self.folder = RunFolder(run_dir)
        self.rows = list(rows)  # earlier epochs of a resumed run
        self.hparams = hparams

    @functools.cached_property
    def writer(self):
        """The TensorBoard writer, made when the first epoch ends: importing TensorBoard
        (protobuf) is not worth delaying the first training step for."""
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(self.folder.path))  # its events.out.tfevents.* files

    def epoch(self, row: dict, total_epochs: int, improved: bool, images=None) -> None:
        self.rows.append(row)
        self.folder.write_metric_rows(self.rows)
        for key, value in row.items():
            if key not in NOT_CURVES and value is not None:
                self.writer.add_scalar(tensorboard_tag(key), value, row[EPOCH])
        for tag, image in (images or {}).items():
            self.writer.add_image(tag, image, row[EPOCH])
        self.writer.flush()
        log.info(_summary_line(row, total_epochs, improved))

    def finish(self, results: Results) -> None:
        self.folder.write_results(results)
        self._write_hparams(results)
        self.writer.close()

    def _write_hparams(self, results: Results) -> None:
        """Run hyper-parameters + final metrics for TensorBoard's HPARAMS tab: those of the tested
        weights (the best epoch's, or the last with early_stopping.restore_best=false), as in results.json."""
        from torch.utils.tensorboard.summary import hparams

        metrics = {
            "tested/val_accuracy": results.val["accuracy"],
            "tested/test_accuracy": results.test["accuracy"],
            "tested/val_loss": results.val["loss"],
        }
        metrics = {tag: value for tag, value in metrics.items() if value is not None}  # autoencoders: no accuracy
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, results.tested_epoch or results.epochs_run)
        for summary in hparams(self.hparams, metrics):
            self.writer.file_writer.add_summary(summary)


def tensorboard_tag(name: str) -> str:
    """ "train/loss" -> "loss/train": TensorBoard groups by the first part, so train and val
    curves of the same metric share a section."""
    split, _, metric = name.partition("/")
    return f"{metric}/{split}" if metric else name


def _summary_line(row: dict, total_epochs: int, improved: bool) -> str:
    def pct(x):
        return "  n/a " if x is None else f"{100 * x:6.2f}%"

    return (
        f"epoch {row[EPOCH]:>{len(str(total_epochs))}}/{total_epochs}"
        f"  train loss {row[TRAIN_LOSS]:.4f} acc {pct(row[TRAIN_ACCURACY])}"
        f"  val loss {row[VAL_LOSS]:.4f} acc {pct(row[VAL_ACCURACY])}"
        f"  lr {row[LR]:.3g}  {row[SECONDS]:.1f}s" + ("  *best*" if improved else "")
    )
