"""Nielsen's "speed of learning" (NNDL ch. 5, fig/generate_gradient.py): the norm of the
average bias gradient dC/db of each hidden layer, over the first 1,000 training images.

The networks are runner's own (model=mlp, activation=sigmoid, init=nielsen_fan_in: weights
N(0, 1/n_in), biases N(0, 1), network2.py's default) and the cost is runner's
loss=sigmoid_cross_entropy (network2.py's CrossEntropyCost: output error a - y), whose batch
mean makes bias.grad the average of the per-image gradients generate_gradient.py sums.
Training follows generate_gradient.py: the norms are recorded, then one epoch of
network2's SGD with a single mini-batch of all 1,000 images (full-batch gradient descent),
eta 0.1, lambda 5.0 as weight decay w <- (1 - eta*lambda/n) w with n = 1,000 (weights only).
Computed in float64, as network2.py's numpy does.

    python -m runner.analyse.speed_of_learning [--seeds 10] [--epochs 500]

writes experiments/results/speed_of_learning/speed_of_learning.json and .png, which
`runner reproduce --report` shows in experiments/REPRODUCTION.md (section "Chapter 5").
"""

import argparse
import json
import statistics
from pathlib import Path
from typing import Dict, List, Sequence

import torch
from torch import nn

from runner.analyse.reproduce_status import metric_rows
from runner.analyse.reproduction_report import seed_dirs
from runner.build.data.mnist import MnistConfig, load_mnist
from runner.build.losses import SigmoidCrossEntropyLoss
from runner.build.models import build_model
from runner.config.metric_names import VAL_ACCURACY
from runner.config.models.mlp import MLPConfig
from runner.config.regularization import RegularizationConfig
from runner.paths import EXPERIMENTS_DIR

OUT_DIR = EXPERIMENTS_DIR / "results" / "speed_of_learning"
# The book's printed values (ch. 5, "The vanishing gradient problem"), first hidden layer first.
BOOK_NORMS = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}
# Last hidden layer's norm / first's at epochs 0 and 499 of the book's own run, computed from the
# curves its repository keeps (fig/norms_during_training_{2,3,4}_layers.json); the text says
# "about 100 times" for 4 hidden layers.
BOOK_RATIOS = {2: (4.7, 2.8), 3: (23.9, 14.7), 4: (95.8, 112.6)}
LR, L2 = 0.1, 5.0


def build_net(hidden: Sequence[int], seed: int) -> nn.Module:
    """784-hidden-10 sigmoid MLP with network2's default init, from runner's builder, in float64."""
    torch.manual_seed(seed)
    cfg = MLPConfig(hidden_sizes=list(hidden), activation="sigmoid", init="nielsen_fan_in")
    return build_model(cfg, RegularizationConfig(), (1, 28, 28), 10).double()


def first_images(n: int = 1000):
    """The first n training images (pixels in [0, 1]) and labels, as network2's td[:1000]."""
    train = load_mnist(MnistConfig(train_size=n)).train
    return train.x.double(), train.y


def hidden_linears(net: nn.Module) -> List[nn.Linear]:
    """The Linear layers feeding each hidden layer (the output layer left out, as the script does)."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)][:-1]


def hidden_bias_norms(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> List[float]:
    """||dC/db^l|| per hidden layer, C the mean cross-entropy over the batch (= the average gradient)."""
    net.zero_grad()
    SigmoidCrossEntropyLoss()(net(x), y).backward()
    return [float(layer.bias.grad.norm()) for layer in hidden_linears(net)]


def train_norms(net: nn.Module, x, y, epochs: int) -> List[List[float]]:
    """generate_gradient.py's training(): record the norms, then one full-batch step; `epochs` times."""
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in net.named_parameters() if name.endswith("bias")]
    step = torch.optim.SGD([{"params": weights, "weight_decay": L2 / len(x)}, {"params": biases}], lr=LR)
    norms = []
    for _ in range(epochs):
        norms.append(hidden_bias_norms(net, x, y))  # leaves the gradient of this very batch in .grad
        step.step()
    return norms


def measure(seeds: int, epochs: int, curve_seeds: int) -> Dict:
    """Initial norms for `seeds` seeds; the training curves (the costly part) for the first `curve_seeds`."""
    x, y = first_images()
    out = {
        "seeds": seeds,
        "curve_seeds": curve_seeds,
        "epochs": epochs,
        "lr": LR,
        "l2": L2,
        "images": len(x),
        "nets": {},
    }
    for layers, book in BOOK_NORMS.items():
        initial, curves = [], []
        for seed in range(seeds):
            net = build_net([30] * layers, seed)
            initial.append(hidden_bias_norms(net, x, y))
            if epochs and seed < curve_seeds:
                curves.append(train_norms(net, x, y, epochs))
                print(f"{layers} hidden layers, seed {seed}: {epochs} epochs done", flush=True)
        out["nets"][str(layers)] = {"book": book, "initial": initial, "curves": curves}
    return out


def spread(values: Sequence[float]) -> tuple:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def ratio(norms: Sequence[float]) -> float:
    """How much faster the last hidden layer learns than the first."""
    return norms[-1] / norms[0]


def plot(result: Dict, path: Path, seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = result["nets"]
    fig, axes = plt.subplots(1, len(nets), figsize=(5 * len(nets), 4), sharey=True)
    for ax, (layers, net) in zip(axes, nets.items()):
        curve = net["curves"][seed]
        for j in range(int(layers)):
            ax.plot(range(len(curve)), [n[j] for n in curve], label=f"hidden layer {j + 1}")
        ax.set_yscale("log")
        ax.grid(True)
        ax.set_xlabel("epochs of full-batch gradient descent")
        ax.set_title(f"speed of learning: {layers} hidden layers (seed {seed})")
        ax.legend(loc="upper right")
    axes[0].set_ylabel("||dC/db|| of the layer")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


ACCURACY_ROWS = {"Ch5-1h": 96.48, "Ch5-2h": 96.90, "Ch5-3h": 96.57, "Ch5-4h": 96.53}


def accuracy_lines(results_dir: Path) -> List[str]:
    """Peak and final validation accuracy of rows Ch5-*h per finished seed: the book prints one
    number per net without saying which; the rows' verdicts use the peak (best_val)."""
    out = ["| row | book | peak val % per seed | final val % (epoch 30) per seed |", "|---|---|---|---|"]
    for row, book in ACCURACY_ROWS.items():
        curves = [metric_rows(d) for d in seed_dirs(results_dir, row) if (d / "results.json").exists()]
        curves = [[100 * r[VAL_ACCURACY] for r in c] for c in curves if c]
        peak = ", ".join(f"{max(c):.2f}" for c in curves) or "-"
        final = ", ".join(f"{c[-1]:.2f}" for c in curves) or "-"
        out.append(f"| {row} | {book} | {peak} | {final} |")
    return out


def report_section(folder: Path = OUT_DIR) -> str:
    """The markdown section of experiments/REPRODUCTION.md; empty until the measurement ran."""
    path = folder / "speed_of_learning.json"
    if not path.exists():
        return ""
    result = json.loads(path.read_text())
    out = [
        "## Chapter 5: deeper sigmoid nets and the speed of learning (vanishing gradient)",
        "",
        "Accuracy rows (their verdicts above use the peak):",
        "",
        *accuracy_lines(folder.parent),
        "",
        f"The norm ||dC/db|| of each hidden layer, averaged over the first {result['images']} training images, at initialisation; "
        f"mean ± std over {result['seeds']} seeds (the book fixes none); `python -m runner.analyse.speed_of_learning` "
        "(runner/analyse/speed_of_learning.py). Inside = the book's value within the seeds' min-max range.",
        "",
        "| net | layer | book | obtained (mean ± std) | min - max | inside |",
        "|---|---|---|---|---|---|",
    ]
    for layers, net in result["nets"].items():
        for j, book in enumerate(net["book"]):
            values = [norms[j] for norms in net["initial"]]
            mean, std = spread(values)
            inside = "yes" if min(values) <= book <= max(values) else "no"
            out.append(
                f"| {layers} hidden | {j + 1} | {book} | {mean:.3g} ± {std:.2g} | {min(values):.3g} - {max(values):.3g} | {inside} |"
            )
    if result["epochs"]:
        out += [
            "",
            f"Training: {result['epochs']} epochs of full-batch gradient descent on those images (eta {result['lr']}, "
            f"lambda {result['l2']} with n = {result['images']}), last hidden layer's norm / first's, mean ± std over "
            f"seeds 0-{len(next(iter(result['nets'].values()))['curves']) - 1}; the figure shows seed 0:",
            "",
            f"| net | ratio at epoch 0 | ratio at epoch {result['epochs'] - 1} | book (its run's curves): epoch 0, 499 |",
            "|---|---|---|---|",
        ]
        for layers, net in result["nets"].items():
            first = spread([ratio(c[0]) for c in net["curves"]])
            last = spread([ratio(c[-1]) for c in net["curves"]])
            book = BOOK_RATIOS[int(layers)]
            out.append(
                f"| {layers} hidden | {first[0]:.1f} ± {first[1]:.1f} | {last[0]:.1f} ± {last[1]:.1f} | {book[0]}, {book[1]} |"
            )
    if (folder / "speed_of_learning.png").exists():
        out += ["", f"![speed of learning](results/{folder.name}/speed_of_learning.png)"]
    return "\n".join(out) + "\n"


def rounded(value, digits: int = 4):
    """Numbers to `digits` significant digits (the committed JSON stays small), lists and dicts walked."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runner.analyse.speed_of_learning", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--curve-seeds", type=int, default=3, help="seeds trained for the curves (default 3)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = measure(args.seeds, args.epochs, args.curve_seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed_of_learning.json").write_text(json.dumps(rounded(result)) + "\n")
    if args.epochs:
        plot(result, args.out / "speed_of_learning.png")
    print(report_section(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
