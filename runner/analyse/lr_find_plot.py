"""The PNG of `runner lr-find`: loss vs learning rate on a log axis (matplotlib, Agg)."""

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, works on headless machines
import matplotlib.pyplot as plt  # noqa: E402


def plot_sweep(
    path: Path,
    lrs: Sequence[float],
    losses: Sequence[float],
    smoothed: Sequence[float],
    steepest: float,
    min_over_10: float,
    configured: float,
    suggested: float,
) -> None:
    """Raw and smoothed loss against lr, with the two read-off values (the suggested one named) and the configured lr marked."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    finite = [(lr, loss) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
    ax.plot([p[0] for p in finite], [p[1] for p in finite], color="0.75", lw=0.8, label="mini-batch loss")
    ax.plot(lrs, smoothed, color="C0", lw=1.8, label="smoothed loss (beta 0.98)")
    mark = lambda lr: " (suggested)" if lr == suggested else ""  # noqa: E731
    ax.axvline(steepest, color="C3", ls="--", label=f"steepest descent {steepest:.2e}{mark(steepest)}")
    ax.axvline(min_over_10, color="C2", ls=":", label=f"minimum / 10 {min_over_10:.2e}{mark(min_over_10)}")
    if lrs[0] <= configured <= lrs[-1]:
        ax.axvline(configured, color="0.3", ls="-.", lw=0.8, label=f"configured {configured:.2e}")
    ax.set_xscale("log")
    top = max(s for s in smoothed if math.isfinite(s)) if any(math.isfinite(s) for s in smoothed) else 1.0
    low = min(p[1] for p in finite) if finite else 0.0
    ax.set_ylim(
        low - 0.05 * abs(top - low), top + 0.1 * abs(top - low) + 1e-12
    )  # raw spikes past the smoothed top clipped
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate range test (Smith 2017)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
