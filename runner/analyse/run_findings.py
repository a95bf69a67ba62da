"""What a finished run's curves show, measured from metrics.csv and results.json alone
(`runner diagnose RUN_DIR`, runner/analyse/diagnose_run.py prints them).

Each finding is a measured fact with its numbers: the train/validation gap and its trend
(over-fitting), how far the training loss got below the loss of a model that knows nothing
(under-fitting), a flat validation metric (plateau), epochs whose training loss jumped
(instability), where validation stopped improving, and what ended the run. Thresholds are
the module's constants, documented in docs/diagnose.md ("After training").
"""

import math
from dataclasses import asdict, dataclass
from typing import List, Optional

import numpy as np

from runner.config.metric_names import (
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    VAL_ACCURACY,
    VAL_LOSS,
    higher_is_better,
)

LAST_K = 5  # the epochs a trend, a plateau and "still falling" are measured over
ACCURACY_GAP = 0.05  # train - val accuracy above this is a gap (5 points)
LOSS_GAP = 0.10  # val - train loss above this fraction of the val loss is a gap
ACCURACY_TREND = 0.02  # the gap moved by more than 2 points over the last epochs: growing / shrinking
LOSS_TREND = 0.02  # ... by more than 2% of the val loss
PLATEAU_ACCURACY = 0.01  # val accuracy within 1 point over the last epochs: a plateau
PLATEAU_LOSS = 0.01  # val loss within 1% of its mean over the last epochs: a plateau
POOR_FRACTION = 0.5  # the final train loss above half the reference loss: under-fitting
FALLING_FAST = 0.02  # the train loss still dropping by more than 2% an epoch at the end
VAL_LOSS_RISE = 0.10  # the last val loss over 10% above its minimum: validation got worse (with a gap: over-fitting)
CONVERGED = 0.05  # a train loss below 5% of the reference is fitted, however fast it still falls
SPIKE_FACTOR = 1.5  # an epoch whose train loss is above 1.5 x the epoch before: a spike


@dataclass
class Finding:
    check: str  # fit, training, plateau, stability, best epoch, ending
    verdict: str  # a few words: "over-fitting", "plateau", "stable", ...
    facts: str  # the numbers behind the verdict
    means: str = ""  # what it implies, when something does

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Curves:
    """metrics.csv as columns (NaN where an epoch has no value), and what the run is."""

    epochs: List[int]
    train_loss: List[float]
    val_loss: List[float]
    train_accuracy: Optional[List[float]]  # None for models that do not classify
    val_accuracy: Optional[List[float]]
    reference_loss: Optional[float]  # ln C: a model that knows nothing (None: no such value)
    reference_name: str  # how the reference was found: "ln 4 (4 classes)", "epoch 1's"
    bits_per_character: bool = False  # a character language model: its loss also shown / ln 2

    @classmethod
    def of(cls, rows: List[dict], reference_loss: Optional[float], reference_name: str, bpc=False) -> "Curves":
        def column(name):
            values = [_float(row.get(name)) for row in rows]
            return values if any(math.isfinite(v) for v in values) else None

        return cls(
            epochs=[int(row["epoch"]) for row in rows],
            train_loss=column(TRAIN_LOSS) or [math.nan] * len(rows),
            val_loss=column(VAL_LOSS) or [math.nan] * len(rows),
            train_accuracy=column(TRAIN_ACCURACY),
            val_accuracy=column(VAL_ACCURACY),
            reference_loss=reference_loss,
            reference_name=reference_name,
            bits_per_character=bpc,
        )

    @property
    def classifies(self) -> bool:
        return self.train_accuracy is not None and self.val_accuracy is not None


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def findings(curves: Curves, results: dict) -> List[Finding]:
    if not curves.epochs:
        nothing = f"metrics.csv has no epoch (stop_reason {results.get('stop_reason')})"
        return [Finding("curves", "no epochs", nothing), ending(curves, results)]
    return [
        fit(curves, results),
        training(curves),
        plateau(curves),
        stability(curves),
        best_epoch(curves, results),
        ending(curves, results),
    ]


# ---------------------------------------------------------------- over-fitting


def gap_series(curves: Curves) -> List[float]:
    """The generalisation gap per epoch: train - val accuracy, or (val - train loss) / val loss."""
    if curves.classifies:
        return [t - v for t, v in zip(curves.train_accuracy, curves.val_accuracy)]
    return [(v - t) / v if v else math.nan for t, v in zip(curves.train_loss, curves.val_loss)]


def fit(curves: Curves, results: dict) -> Finding:
    gaps = gap_series(curves)
    unit, threshold, trend_tolerance = _gap_units(curves)
    best_index = _index_of(curves, results.get("best_epoch"))
    last, at_best = gaps[-1], gaps[best_index]
    change = _trend(gaps)
    trend = "unknown" if change is None else _direction(change, trend_tolerance)
    facts = (
        f"gap {_fmt_gap(at_best, unit)} at the best epoch {curves.epochs[best_index]}, "
        f"{_fmt_gap(last, unit)} at the last epoch {curves.epochs[-1]}"
        + ("" if change is None else f"; over the last {_window(gaps)} epochs it changed by {_fmt_gap(change, unit)}")
        + f" ({trend})"
    )
    rise, rise_facts = _val_loss_rise(curves)
    facts += rise_facts
    if not math.isfinite(last):
        return Finding("fit", "not measured", facts)
    if _poor(curves):
        return Finding("fit", "no over-fitting", facts + "; the training loss itself is poor (see training)")
    if last <= threshold:
        return Finding("fit", "no over-fitting", facts + f"; a gap is above {_fmt_gap(threshold, unit)}")
    if trend == "growing" or last > at_best + trend_tolerance or rise > VAL_LOSS_RISE:
        means = "the model memorises the training set: more data, regularisation, or the best epoch's weights"
        return Finding("fit", "over-fitting", facts, means)
    return Finding("fit", "generalisation gap", facts, "a gap, not widening at the end")


def _val_loss_rise(curves: Curves):
    """How far the last val loss is above its minimum (a fraction of it), and the words for it."""
    losses = np.array(curves.val_loss, dtype=float)
    if not np.isfinite(losses).any() or not math.isfinite(losses[-1]):
        return 0.0, ""
    low = int(np.nanargmin(losses))
    if losses[low] <= 0:
        return 0.0, ""
    rise = float(losses[-1] / losses[low] - 1)
    return rise, (
        f"; val loss {_num(losses[-1])} at the last epoch, {100 * rise:.0f}% above its minimum "
        f"{_num(losses[low])} at epoch {curves.epochs[low]}"
    )


def _gap_units(curves: Curves):
    if curves.classifies:
        return "accuracy", ACCURACY_GAP, ACCURACY_TREND
    return "loss", LOSS_GAP, LOSS_TREND


def _fmt_gap(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if unit == "accuracy":
        return f"{100 * value:+.1f} points"
    return f"{100 * value:+.1f}% of val loss"


def _window(values: List[float]) -> int:
    return min(LAST_K, len(values))


def _trend(values: List[float]) -> Optional[float]:
    """How much `values` moved over the last epochs: a line's rise across the window (robust to one noisy epoch)."""
    window = np.array(values[-_window(values) :], dtype=float)
    if len(window) < 2 or not np.isfinite(window).all():
        return None
    slope = np.polyfit(np.arange(len(window)), window, 1)[0]
    return float(slope * (len(window) - 1))


def _direction(change: float, tolerance: float) -> str:
    return "growing" if change > tolerance else "shrinking" if change < -tolerance else "stable"


def _index_of(curves: Curves, epoch) -> int:
    return curves.epochs.index(epoch) if epoch in curves.epochs else len(curves.epochs) - 1


# ---------------------------------------------------------------- under-fitting


def training(curves: Curves) -> Finding:
    """The training loss at the end against the reference (ln C, or epoch 1's), and its last drop."""
    losses = curves.train_loss
    last = losses[-1]
    reference = _reference(curves)
    facts = f"train loss {_num(last)}, {_ratio(last / reference)} x {curves.reference_name} = {_num(reference)}"
    if curves.classifies:
        facts += f", train accuracy {100 * curves.train_accuracy[-1]:.1f}%"
    if curves.bits_per_character:
        facts += f" ({_num(last / math.log(2))} bits per character)"
    drop = _drop_per_epoch(losses)
    if drop is not None:
        facts += f"; over the last {_window(losses)} epochs it fell {100 * drop:.1f}% an epoch"
    if not math.isfinite(last):
        return Finding("training", "not measured", facts)
    if _poor(curves):
        means = "the model does not fit even its training data: check the learning rate (runner lr-find), a bigger model, longer"
        return Finding("training", "under-fitting", facts + f" (poor: above {POOR_FRACTION} x)", means)
    if drop is not None and drop > FALLING_FAST and last > CONVERGED * reference:
        return Finding("training", "still learning", facts, "the training loss was still falling fast: train longer")
    return Finding("training", "fits the training data", facts)


def _reference(curves: Curves) -> float:
    return curves.reference_loss if curves.reference_loss else curves.train_loss[0]


def _poor(curves: Curves) -> bool:
    """The last train loss above POOR_FRACTION x the reference: the model fits not even its training data."""
    return curves.train_loss[-1] > POOR_FRACTION * _reference(curves)


def _drop_per_epoch(losses: List[float]) -> Optional[float]:
    window = losses[-_window(losses) :]
    first, last = window[0], window[-1]
    if len(window) < 2 or not (math.isfinite(first) and math.isfinite(last)) or first <= 0:
        return None
    return (1 - (last / first) ** (1 / (len(window) - 1))) if last > 0 else 1.0


# ---------------------------------------------------------------- plateau


def monitored(curves: Curves):
    """The validation metric the verdicts watch: val/accuracy for classifiers, else val/loss."""
    if curves.classifies:
        return VAL_ACCURACY, curves.val_accuracy
    return VAL_LOSS, curves.val_loss


def plateau(curves: Curves) -> Finding:
    name, values = monitored(curves)
    if len(values) < LAST_K:
        return Finding("plateau", "not measured", f"{len(values)} epochs; a plateau is measured over {LAST_K}")
    window = np.array(values[-LAST_K:], dtype=float)
    if not np.isfinite(window).all():
        return Finding("plateau", "not measured", f"{name} is not finite in the last {LAST_K} epochs")
    spread = float(window.max() - window.min())
    if name == VAL_ACCURACY:
        tolerance, shown = PLATEAU_ACCURACY, f"{100 * spread:.2f} points (tolerance {100 * PLATEAU_ACCURACY:.0f})"
    else:
        tolerance = PLATEAU_LOSS * float(abs(window.mean()))
        shown = f"{_num(spread)} ({100 * spread / abs(window.mean()):.2f}% of its mean; tolerance {100 * PLATEAU_LOSS:.0f}%)"
    facts = f"{name} over the last {LAST_K} epochs moved within {shown}"
    if spread <= tolerance and name == VAL_ACCURACY and window[-1] >= 1.0:
        return Finding("plateau", "plateau", facts + ", at 100%", "nothing left to gain on this validation set")
    if spread <= tolerance:
        means = "the validation metric stopped moving: more epochs at these settings will not change it"
        return Finding("plateau", "plateau", facts, means)
    return Finding("plateau", "no plateau", facts)


# ---------------------------------------------------------------- instability


def spikes(losses: List[float], epochs: List[int]) -> List[tuple]:
    """(epoch, factor) of each epoch whose train loss is above SPIKE_FACTOR x the epoch before's."""
    found = []
    for before, now, epoch in zip(losses, losses[1:], epochs[1:]):
        if math.isfinite(before) and before > 0 and (not math.isfinite(now) or now > SPIKE_FACTOR * before):
            found.append((epoch, now / before if math.isfinite(now) else math.inf))
    return found


def stability(curves: Curves) -> Finding:
    found = spikes(curves.train_loss, curves.epochs)
    per_step = "per-step losses are not in metrics.csv (TensorBoard's loss/train_by_step)"
    if not found:
        facts = f"no epoch's train loss rose above {SPIKE_FACTOR} x the epoch before; {per_step}"
        return Finding("stability", "stable", facts)
    listed = ", ".join(f"epoch {e} x{f:.2f}" if math.isfinite(f) else f"epoch {e} non-finite" for e, f in found)
    facts = f"{len(found)} spike(s) above {SPIKE_FACTOR} x the epoch before: {listed}"
    means = "the learning rate is too high for parts of training: lower it, warm up, or clip gradients"
    return Finding("stability", "loss spikes", facts, means)


# ---------------------------------------------------------------- where it stopped improving, what ended it


def best_epoch(curves: Curves, results: dict) -> Finding:
    monitor = results.get("monitor") or monitored(curves)[0]
    best = results.get("best_epoch")
    last = curves.epochs[-1]
    if best not in curves.epochs:
        return Finding("best epoch", "not measured", f"results.json's best_epoch {best!r} is not in metrics.csv")
    value = _float(results.get("val", {}).get(monitor.split("/", 1)[-1])) if monitor.startswith("val/") else math.nan
    shown = f" ({monitor} {_metric(monitor, value)})" if math.isfinite(value) else f" ({monitor})"
    since = last - best
    facts = f"validation best at epoch {best}{shown}; last epoch {last}, {since} epoch(s) after it"
    if since == 0:
        return Finding("best epoch", "improving to the end", facts)
    return Finding("best epoch", f"no improvement for {since} epoch(s)", facts)


ENDINGS = {
    "completed": "ran all trainer.epochs",
    "early_stopping": "early stopping: the monitor stopped improving for its patience",
    "schedule_done": "the learning-rate schedule reached its end",
    "time_limit": "the time limit",
    "diverged": "the training loss diverged",
    "interrupted": "interrupted (Ctrl-C): not finished",
    "preempted": "preempted: not finished",
    "pruned": "a search's pruner stopped this trial (a shorter run, finished)",
}


def ending(curves: Curves, results: dict) -> Finding:
    reason = str(results.get("stop_reason"))
    epochs = results.get("epochs_run")
    facts = f"stop_reason {reason}: {ENDINGS.get(reason, 'not a stop reason runner writes')}, after {epochs} epoch(s)"
    best, last = results.get("best_epoch"), (curves.epochs[-1] if curves.epochs else None)
    improving = best is not None and best == last
    if reason == "diverged":
        where = results.get("diverged_at") or {}
        facts += f" (at epoch {where.get('epoch')}, step {where.get('step')})"
        return Finding("ending", reason, facts, "lower optimizer.lr, add warm-up or gradient clipping")
    if reason in ("interrupted", "preempted"):
        return Finding("ending", reason, facts, "continue it with trainer.resume=auto")
    if reason in ("completed", "time_limit", "schedule_done") and improving:
        return Finding("ending", reason, facts, "validation was still improving at the end: train longer")
    if reason == "completed" and best is not None and last is not None:
        means = f"validation peaked at epoch {best}: the epochs after it did not help (fewer epochs, or early stopping)"
        return Finding("ending", reason, facts, means)
    if reason == "early_stopping":
        return Finding("ending", reason, facts, f"results.json's test is of the best epoch's weights (epoch {best})")
    return Finding("ending", reason, facts)


def _ratio(value: float) -> str:
    return f"{value:.2f}" if not math.isfinite(value) or value >= 0.01 else f"{value:.1e}"


def _num(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def _metric(name: str, value: float) -> str:
    return f"{100 * value:.2f}%" if higher_is_better(name) else _num(value)
