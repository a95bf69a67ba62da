"""Every data member trained through the real CLI (`runner train`, its own process): seconds per
epoch, the test accuracy reached and the process's peak RSS (GNU time's %M).

MNIST-1D, digits and MNIST are real data (offline). Fashion-MNIST, KMNIST and CIFAR-10 cannot be
downloaded here: their files are written at full size in the official formats (IDX gz; CIFAR-10's
python-version tar.gz, pickled as Python 2 wrote it) with learnable random images
(tests/dataset_files.py: the label is which tenth of the image is bright), so their accuracies
say the pipeline learns, not what the real sets give; their times and memory are the real sizes'.
The user's own data (npz, CSV, image folder) are generated the same way.

    python benchmarks/data_members.py [--epochs 1] [--only cifar10,mnist1d] [--json out.json]
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from dataset_files import cifar_batches, learnable, write_cifar_tar, write_idx  # noqa: E402


def write_own_data(folder: Path) -> dict:
    """An npz (10,000 x 20 features), the same as a CSV, and an image folder of 1,000 32x32 PNGs."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 10000)
    x = rng.normal(size=(10000, 20)).astype(np.float32) + y[:, None] * 0.5
    np.savez(folder / "own.npz", x=x, y=y)
    with open(folder / "own.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([f"f{i}" for i in range(20)] + ["label"])
        out.writerows([*row, label] for row, label in zip(x.round(5).tolist(), y.tolist()))
    images, labels = learnable(1000, (32, 32, 3), seed=3)
    for i, (image, label) in enumerate(zip(images, labels)):
        klass = folder / "images" / f"class{label}"
        klass.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(klass / f"{i}.png")
    return {"npz": folder / "own.npz", "csv": folder / "own.csv", "images": folder / "images"}


def cases(folder: Path) -> dict:
    """{name: overrides}: one run per data member."""
    write_idx(folder / "fashion", train=60000, test=10000)
    write_idx(folder / "kmnist", train=60000, test=10000, seed=5)
    write_cifar_tar(folder / "cifar", cifar_batches(per_batch=10000, python2=True))
    own = write_own_data(folder)
    return {
        "mnist": ["data=mnist", "model=mlp"],
        "fashion_mnist": ["data=fashion_mnist", f"data.root={folder / 'fashion'}", "model=mlp"],
        "kmnist": ["data=kmnist", f"data.root={folder / 'kmnist'}", "model=mlp"],
        "cifar10": ["data=cifar10", f"data.root={folder / 'cifar'}", "model=cnn"],
        "cifar10_augment": [
            "data=cifar10",
            f"data.root={folder / 'cifar'}",
            "model=cnn",
            "regularization=augment_crop_flip",
        ],
        "mnist1d": ["data=mnist1d", "model=cnn", "optimizer.lr=0.01", "trainer.batch_size=100"],
        "digits": ["data=digits", "model=mlp"],
        "arrays": ["data=arrays", f"data.path={own['npz']}", "model=mlp"],
        "csv": ["data=csv", f"data.path={own['csv']}", "data.label=label", "model=mlp"],
        "image_folder": ["data=image_folder", f"data.path={own['images']}", "data.image_size=32", "model=cnn"],
    }


def checked(command: list, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done


def run(name: str, overrides: list, epochs: int, outputs: Path) -> dict:
    """Two runs: the first decodes into the cache (timed separately), the second is measured."""
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs), "RUNNER_CACHE_DIR": str(outputs / "cache")}
    command = [
        "/usr/bin/time", "-f", "peak_rss_kib=%M",
        sys.executable, "-m", "runner", "train", *overrides,
        f"trainer.epochs={epochs}", "early_stopping=none", "trainer.progress=false",
        f"hydra.run.dir={outputs / name}",
    ]  # fmt: skip
    first = time.perf_counter()
    checked([*command[3:-1], f"hydra.run.dir={outputs / (name + '_first')}"], env)
    first = time.perf_counter() - first
    done = checked(command, env)
    rss = int(done.stderr.rsplit("peak_rss_kib=", 1)[1].split()[0]) / 1024
    results = json.loads((outputs / name / "results.json").read_text())
    with open(outputs / name / "metrics.csv") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return {
        "member": name,
        "seconds_per_epoch": round(sum(seconds) / len(seconds), 2),
        "test_accuracy": results["test"]["accuracy"],
        "peak_rss_mib": round(rss),
        "first_run_s": round(first, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", help="comma-separated member names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        todo = cases(folder)
        for name in args.only.split(",") if args.only else todo:
            rows.append(run(name, todo[name], args.epochs, folder / "outputs"))
            print(json.dumps(rows[-1]), flush=True)
    print("\n| member | s/epoch | test accuracy | peak RSS MiB | first run (decode + cache) s |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['member']} | {r['seconds_per_epoch']} | {100 * r['test_accuracy']:.2f}% | {r['peak_rss_mib']} | {r['first_run_s']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
