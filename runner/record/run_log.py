"""What a run leaves behind: metrics.csv, results.json, TensorBoard events, console lines.

Every file is rewritten atomically, so a reader (`runner compare`, a user's
script) never sees a torn file even while the run is still going.
"""

import csv
import functools
import io
import logging
from pathlib import Path

from runner.io import atomic_write_json, atomic_write_text

log = logging.getLogger("runner")

METRIC_COLUMNS = ("epoch", "train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr", "seconds")


class RunLog:
    def __init__(self, run_dir: Path, hparams: dict, rows=()):
        self.run_dir = Path(run_dir)
        self.rows = list(rows)  # earlier epochs of a resumed run
        self.hparams = hparams

    @functools.cached_property
    def writer(self):
        """The TensorBoard writer, made when the first epoch ends: importing TensorBoard
        (protobuf) is not worth delaying the first training step for."""
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(self.run_dir))

    def epoch(self, row: dict, total_epochs: int, improved: bool, images=None) -> None:
        self.rows.append(row)
        atomic_write_text(self.run_dir / "metrics.csv", _to_csv(self.rows))
        for key, value in row.items():
            if key not in ("epoch", "seconds") and value is not None:
                # "train/loss" -> "loss/train": TensorBoard groups by the first part, so
                # train and val curves of the same metric share a section.
                split, _, metric = key.partition("/")
                self.writer.add_scalar(f"{metric}/{split}" if metric else key, value, row["epoch"])
        for tag, image in (images or {}).items():
            self.writer.add_image(tag, image, row["epoch"])
        self.writer.flush()
        log.info(_summary_line(row, total_epochs, improved))

    def finish(self, results: dict) -> None:
        atomic_write_json(self.run_dir / "results.json", results)
        self._write_hparams(results)
        self.writer.close()

    def _write_hparams(self, results: dict) -> None:
        """Run hyper-parameters + final metrics for TensorBoard's HPARAMS tab: those of the tested
        weights (the best epoch's, or the last with early_stopping.restore_best=false), as in results.json."""
        from torch.utils.tensorboard.summary import hparams

        metrics = {
            "tested/val_accuracy": results["val"]["accuracy"],
            "tested/test_accuracy": results["test"]["accuracy"],
            "tested/val_loss": results["val"]["loss"],
        }
        metrics = {tag: value for tag, value in metrics.items() if value is not None}  # autoencoders: no accuracy
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, results.get("tested_epoch") or results["epochs_run"])
        for summary in hparams(self.hparams, metrics):
            self.writer.file_writer.add_summary(summary)


def _to_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _summary_line(row: dict, total_epochs: int, improved: bool) -> str:
    def pct(x):
        return "  n/a " if x is None else f"{100 * x:6.2f}%"

    return (
        f"epoch {row['epoch']:>{len(str(total_epochs))}}/{total_epochs}"
        f"  train loss {row['train/loss']:.4f} acc {pct(row['train/accuracy'])}"
        f"  val loss {row['val/loss']:.4f} acc {pct(row['val/accuracy'])}"
        f"  lr {row['lr']:.3g}  {row['seconds']:.1f}s" + ("  *best*" if improved else "")
    )
