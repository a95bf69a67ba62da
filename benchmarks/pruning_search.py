"""What pruning saves in a hyper-parameter search (issue 24): experiments/search_nielsen.yaml
(learning rate x L2 of Nielsen's 784-100-10 network, 20 trials of 10 epochs) run twice through
`runner train -m`, without a pruner and with the median pruner, side by side in one session.

Printed and saved (benchmarks/results/pruning_search.json): per search the trials, epochs
trained, wall time and the best validation accuracy; then the ratios. Target: >= 40% fewer
epochs with pruning, for a best value within 0.2 points of the search without it.

    python benchmarks/pruning_search.py                       # the measurement (~30-60 min on 2 cores)
    python benchmarks/pruning_search.py --trials 4 --epochs 3 --train-size 2000   # a smoke run

Each search has its own sweep folder under --out; launched again, a search continues its study
(runner's sweeper resumes), so a cut-off measurement is finished by the same command."""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRUNERS = ("none", "median")


def run_search(out: Path, pruner: str, args) -> dict:
    sweep = out / f"pruner-{pruner}"
    command = [
        sys.executable, "-m", "runner", "train", "-m", "+experiment=search_nielsen",
        f"hydra.sweeper.pruner.name={pruner}", f"hydra.sweeper.n_trials={args.trials}",
        f"trainer.epochs={args.epochs}", f"hydra.sweep.dir={sweep}", "trainer.progress=false",
        *([f"data.train_size={args.train_size}"] if args.train_size else []),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"search with pruner {pruner} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {"pruner": pruner, "wall_s_this_launch": round(wall, 1), **summary(sweep)}


def summary(sweep: Path) -> dict:
    """From the trials' results.json: epochs trained, train seconds, best validation accuracy."""
    trials = []
    for results_file in sorted(sweep.glob("*/results.json"), key=lambda p: int(p.parent.name)):
        results = json.loads(results_file.read_text())
        trials.append(
            {
                "trial": int(results_file.parent.name),
                "stop_reason": results["stop_reason"],
                "epochs_run": results["epochs_run"],
                "wall_time_s": results["wall_time_s"],
                "val_accuracy": results["val"]["accuracy"],
            }
        )
    return {
        "trials": len(trials),
        "pruned": sum(t["stop_reason"] == "pruned" for t in trials),
        "epochs": sum(t["epochs_run"] for t in trials),
        "train_s": round(sum(t["wall_time_s"] for t in trials), 1),
        "best_val_accuracy": max(t["val_accuracy"] for t in trials),
        "per_trial": trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=0, help="0 = all 50,000 training images")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/pruning_search"))
    args = parser.parse_args()
    searches = {pruner: run_search(args.out, pruner, args) for pruner in PRUNERS}
    plain, pruned = searches["none"], searches["median"]
    ratios = {
        "epochs_saved": round(1 - pruned["epochs"] / plain["epochs"], 3),
        "train_time_saved": round(1 - pruned["train_s"] / plain["train_s"], 3),
        "best_val_gap_points": round(100 * (plain["best_val_accuracy"] - pruned["best_val_accuracy"]), 3),
    }
    print(f"{'pruner':8} {'trials':>6} {'pruned':>6} {'epochs':>6} {'train s':>8} {'best val':>8}")
    for s in searches.values():
        print(
            f"{s['pruner']:8} {s['trials']:6} {s['pruned']:6} {s['epochs']:6} {s['train_s']:8.1f} "
            f"{100 * s['best_val_accuracy']:8.2f}"
        )
    met = ratios["epochs_saved"] >= 0.4 and ratios["best_val_gap_points"] <= 0.2
    print(
        f"epochs saved {100 * ratios['epochs_saved']:.1f}%, train time saved {100 * ratios['train_time_saved']:.1f}%, "
        f"best val {ratios['best_val_gap_points']:+.2f} points behind: target (>= 40%, <= 0.2) {'met' if met else 'NOT met'}"
    )
    record = {"args": {k: str(v) for k, v in vars(args).items()}, "searches": searches, "ratios": ratios, "met": met}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "pruning_search.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
