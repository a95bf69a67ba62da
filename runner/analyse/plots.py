"""PNG figures for `runner compare` and `runner evaluate` (matplotlib, Agg: no display needed).

Curves show, per group, the mean over seeds with a min–max band. Runs of
different lengths (early stopping) are averaged over the runs that reached each
epoch, so a group's line continues while at least one of its runs does; it is
dashed from where some runs had stopped, since those points average fewer runs.
Test accuracy per run shows each group's mean with its 95% confidence interval, on
an axis that holds every interval (see points_range).
"""

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, works on headless machines and in workers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def epoch_envelope(
    runs: Sequence[Sequence[dict]], column: str
) -> Tuple[List[int], List[float], List[float], List[float], List[int]]:
    """Per epoch over the runs that reached it: (epochs, mean, min, max, number of runs); non-finite values are skipped."""
    by_epoch: Dict[int, List[float]] = {}
    for rows in runs:
        for row in rows:
            value = row.get(column, math.nan)
            if isinstance(value, float) and math.isfinite(value):
                by_epoch.setdefault(int(row["epoch"]), []).append(value)
    epochs = sorted(by_epoch)
    values = [by_epoch[e] for e in epochs]
    return (
        epochs,
        [sum(v) / len(v) for v in values],
        [min(v) for v in values],
        [max(v) for v in values],
        [len(v) for v in values],
    )


def fewer_runs_from(runs: Sequence[Sequence[dict]], column: str) -> Optional[int]:
    """The epoch from which a group's line averages fewer than all its runs (some had stopped),
    or None when every run has a value at every epoch shown: where its line turns dashed."""
    epochs, _, _, _, count = epoch_envelope(runs, column)
    full = [i for i, c in enumerate(count) if c == len(runs)]
    last_full = full[-1] if full else 0
    return epochs[last_full] if last_full + 1 < len(epochs) else None


def plot_curves(
    groups: Dict[str, Sequence[Sequence[dict]]], column: str, ylabel: str, path: Path, percent: bool = False
) -> bool:
    """One line per group, dashed where some of its runs had already stopped;
    returns False (and writes nothing) if no group has this column."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = dashed = False
    scale = 100 if percent else 1
    for label, runs in groups.items():
        epochs, mean, low, high, _ = epoch_envelope(runs, column)
        if not epochs:
            continue
        drawn = True
        mean = [scale * v for v in mean]
        fewer_from = fewer_runs_from(runs, column)
        solid = len(epochs) if fewer_from is None else epochs.index(fewer_from) + 1
        (line,) = ax.plot(epochs[:solid], mean[:solid], marker="o", markersize=3, label=f"{label} (n={len(runs)})")
        if fewer_from is not None:
            dashed = True
            ax.plot(
                epochs[solid - 1 :], mean[solid - 1 :], marker="o", markersize=3, linestyle="--", color=line.get_color()
            )
        ax.fill_between(
            epochs, [scale * v for v in low], [scale * v for v in high], color=line.get_color(), alpha=0.2, linewidth=0
        )
    if drawn:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_title(curves_title(ylabel, dashed), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return drawn


def curves_title(ylabel: str, dashed: bool) -> str:
    """The legend of the dashes only where a line has some: said of runs that all went on, it misleads."""
    return f"{ylabel}: mean over seeds, band = min–max" + ("\n(dashed: some runs had stopped)" if dashed else "")


def plot_points(
    groups: Dict[str, Sequence[Tuple[object, float]]],
    ylabel: str,
    path: Path,
    intervals: Dict[str, Tuple[float, float]],
) -> None:
    """One column per group, one point per run (labelled with its seed), the group mean as a bar
    and its 95% confidence interval as an error bar (intervals: {group: (low, high)}, nan if none)."""
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(groups) + 2), 4.5))
    shown: List[float] = []  # every value the y axis must hold
    for x, (label, points) in enumerate(groups.items()):
        values = [100 * v for _, v in points]
        if not values:
            continue
        # Spread the points sideways a little so equal scores stay visible.
        offsets = [0.0] if len(values) == 1 else [-0.15 + 0.3 * i / (len(values) - 1) for i in range(len(values))]
        ax.scatter([x + o for o in offsets], values, zorder=3)
        for o, v, (seed, _) in zip(offsets, values, points):
            ax.annotate(str(seed), (x + o, v), textcoords="offset points", xytext=(3, 3), fontsize=7)
        mean = sum(values) / len(values)
        ax.hlines(mean, x - 0.3, x + 0.3, colors="black", linewidth=1.5, zorder=2)
        low, high = (100 * v for v in intervals.get(label, (math.nan, math.nan)))
        if math.isfinite(low) and math.isfinite(high):
            ax.errorbar(x + 0.32, mean, yerr=[[mean - low], [high - mean]], color="black", capsize=4, linewidth=1)
            shown += [low, high]
        shown += values
    ax.set_ylim(*points_range(shown))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(list(groups), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(
        f"{ylabel} per run (labels: seed)\nline: group mean; error bar: its 95% confidence interval", fontsize=10
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


MIN_POINTS_SPAN = 1.0  # percentage points: the least height of the per-run axis


def points_range(values: Sequence[float]) -> Tuple[float, float]:
    """The y range of the per-run plot: every run and every group's confidence interval, plus a
    margin. Fitted to the points alone, matplotlib stretched a 0.13-point gap between two means
    over the whole axis and it looked large; with the intervals on the axis, a gap is seen
    against how far each mean is uncertain. At least MIN_POINTS_SPAN tall, so that runs that
    scored (almost) alike, with no interval to show, are not magnified into a difference."""
    low, high = min(values), max(values)
    centre, half = (low + high) / 2, max(high - low, MIN_POINTS_SPAN) / 2
    return centre - 1.1 * half, centre + 1.1 * half


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, title: str) -> None:
    """Rows: true class, columns: predicted class; each cell's count is written on it."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * n, 0.8 + 0.6 * n))
    image = ax.imshow(matrix, cmap="Blues")
    peak = max((max(row) for row in matrix), default=0)
    for i in range(n):
        for j in range(n):
            count = matrix[i][j]
            ax.text(
                j, i, str(count), ha="center", va="center", fontsize=7, color="white" if count > peak / 2 else "black"
            )
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


VERDICT_COLOURS = {"reproduced": "tab:green", "better than documented": "tab:blue", "gap": "tab:red"}


def plot_against_reference(
    entries: Sequence[Tuple[str, Sequence[float], float, str]], path: Path, limit: float = 5.0
) -> None:
    """The reproduction at a glance: one line per documented result, its seeds as
    dots and the best of them as a diamond, placed at (obtained - documented) /
    tolerance, signed so that right is better; the shaded band is "reproduced".
    Points beyond +-limit (a stalled seed) sit on the edge as a triangle with their value.
    entries: (label, per-seed offsets, best offset, verdict)."""
    fig, ax = plt.subplots(figsize=(8, 0.75 + 0.32 * max(len(entries), 1)))
    ax.axvspan(-1, 1, color="tab:green", alpha=0.12, linewidth=0)
    ax.axvline(0, color="black", linewidth=0.8)
    for y, (label, seeds, best, verdict) in enumerate(reversed(entries)):
        colour = VERDICT_COLOURS.get(verdict, "tab:gray")
        inside = [x for x in seeds if abs(x) <= limit]
        ax.scatter(inside, [y] * len(inside), s=14, color=colour, alpha=0.55, zorder=3)
        for side in (-1, 1):
            off_scale = [x for x in seeds if side * x > limit]
            if off_scale:
                ax.scatter([side * limit], [y], s=24, marker="<" if side < 0 else ">", color=colour, zorder=3)
                ax.annotate(
                    ", ".join(f"{x:.0f}" for x in sorted(off_scale)),
                    (side * limit, y),
                    textcoords="offset points",
                    xytext=(-6 * side, 4),
                    ha="left" if side < 0 else "right",
                    fontsize=7,
                )
        ax.scatter(
            [max(-limit, min(limit, best))],
            [y],
            s=46,
            marker="D",
            color=colour,
            edgecolor="black",
            linewidth=0.5,
            zorder=4,
        )
    ax.set_yticks(range(len(entries)), [label for label, *_ in reversed(entries)], fontsize=8)
    ax.set_ylim(-0.7, len(entries) - 0.3)
    ax.set_xlim(-limit - 0.3, limit + 0.3)
    ax.set_xlabel("(obtained − documented) / tolerance   (right = better; band = within tolerance)", fontsize=8)
    ax.set_title(
        "Documented vs obtained: dots = seeds, diamond = best of seeds\n"
        "green reproduced · blue better than documented · red gap · grey incomplete",
        fontsize=9,
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
