"""A CIFAR-shaped training epoch: runner's loop against the plain PyTorch loop, and what holding
the images as bytes (converted batch by batch, Split.inputs) costs against holding them as float32.

Random uint8 images 3x32x32 with random labels stand in for CIFAR-10 (only shapes and bytes
matter to time and memory). Three sides alternate in one process, after one warm-up epoch each:

    bytes   runner's loop on the images held as uint8, each batch converted to float (byte / 255)
    float   runner's loop on the same images held as float32 (what every split held before #21)
    plain   plain.py's loop on float32 tensors (what a hand-written loop holds)
    nchw    the bytes side with trainer.channels_last=false: the plain loop's memory layout, so
            that bytes / nchw's ratio to plain is the loop's own overhead
    augment the bytes side with regularization=augment_crop_flip (what the augmentation costs)

Each epoch is timed by wall clock and by the CPU time of the training thread (with --threads 1,
all its work; the steadier number on a shared machine, which the ratios use).

"Runner's loop" is what `fit` builds and runs: runner.build.assemble.assemble (data on the device
in the run's dtype and layout: channels_last for a CNN on the CPU in fp32), make_step and
train_epoch, from a config composed by Hydra with the case's overrides (Nielsen's conv net, which
on 3x32x32 inputs has 1,000 conv features, SGD lr 0.1, batch 64). The dataset is handed to
assemble in place of the configured one (runner.build.assemble.load_dataset).

Peak RSS: each storage choice in its own child process (`--rss bytes|float`) that builds a
CIFAR-10-sized dataset (50,000 + 10,000 + 10,000 images) the way a loader does, assembles the
parts and trains one epoch over --rss-train-size of the images, then evaluates val and test;
it reports ru_maxrss, and the RSS before any data (after the imports and a tiny first assembly).

Prints one JSON line.
    python benchmarks/cifar_case.py --train-size 10000 --repeats 2 --threads 1
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import nielsen_convs, plain_optimizer, runner_parts  # noqa: E402
from plain import train_epoch as plain_epoch  # noqa: E402

SHAPE = (3, 32, 32)
CIFAR_SIZES = {"train": 50000, "val": 10000, "test": 10000}
OVERRIDES = ["model=cnn", "optimizer=sgd", "optimizer.lr=0.1", "trainer.batch_size=64", "early_stopping=none", "seed=0"]


def random_bytes(sizes: dict, seed: int = 0) -> dict:
    """{split: (uint8 images (n, 3, 32, 32), int64 labels)}: what the CIFAR-10 cache hands a loader."""
    gen = torch.Generator().manual_seed(seed)
    return {
        name: (
            torch.randint(0, 256, (n, *SHAPE), generator=gen, dtype=torch.uint8),
            torch.randint(10, (n,), generator=gen),
        )
        for name, n in sizes.items()
    }


def dataset(decoded: dict, storage: str):
    """The splits as a loader builds them: bytes through byte_images, or float32 divided up front."""
    from runner.build.data.splits import Dataset, Split, byte_images

    hold = (lambda x, y: byte_images(x, y, 255)) if storage == "bytes" else (lambda x, y: Split(x.float() / 255, y))
    splits = {name: hold(x, y) for name, (x, y) in decoded.items()}
    return Dataset(splits["train"], splits["val"], splits["test"], num_classes=10)


def runner_setup(data, threads: int, extra=()):
    """assemble(cfg) with `data` as the loaded dataset, as `fit` assembles; then its step."""
    return runner_parts([*OVERRIDES, f"trainer.threads={threads}", *extra], data)


def runner_epoch(data, threads: int, extra=()):
    from runner.fit.loop import train_epoch

    cfg, parts, step = runner_setup(data, threads, extra)
    return lambda: train_epoch(
        parts.model, step, parts.task, parts.data.train, parts.loss_fn, cfg.trainer, parts.order, "epoch"
    )


def plain_side(x: torch.Tensor, y: torch.Tensor):
    torch.manual_seed(0)
    model = nn.Sequential(*nielsen_convs(in_channels=3), nn.Linear(1000, 100), nn.ReLU(), nn.Linear(100, 10))
    optimizer = plain_optimizer("sgd", model.parameters(), 0.1)
    generator = torch.Generator().manual_seed(0)
    return lambda: plain_epoch(model, optimizer, x, y, 64, generator)


def time_sides(args) -> dict:
    decoded = random_bytes({"train": args.train_size, "val": 1000, "test": 1000})
    x, y = decoded["train"]
    sides = {
        "bytes": runner_epoch(dataset(decoded, "bytes"), args.threads),
        "float": runner_epoch(dataset(decoded, "float"), args.threads),
        "plain": plain_side(x.float() / 255, y),
        "nchw": runner_epoch(dataset(decoded, "bytes"), args.threads, ["trainer.channels_last=false"]),
        "augment": runner_epoch(dataset(decoded, "bytes"), args.threads, ["regularization=augment_crop_flip"]),
    }
    for side in sides.values():  # warm-up: first-call allocations, lazy imports, oneDNN kernels
        side()
    wall, cpu = {name: [] for name in sides}, {name: [] for name in sides}
    names = list(sides)
    for r in range(args.repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate who goes first
            tick, cpu_tick = time.perf_counter(), time.thread_time()
            sides[name]()
            cpu[name].append(time.thread_time() - cpu_tick)
            wall[name].append(time.perf_counter() - tick)
            say = f"{name:7s} epoch {wall[name][-1]:.3f} s, {cpu[name][-1]:.3f} CPU s"
            print(f"[{time.strftime('%H:%M:%S')}] {say}", file=sys.stderr, flush=True)
    return {"wall": wall, "cpu": cpu}


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(args) -> dict:
    """One storage choice: peak RSS of building a CIFAR-10-sized dataset and training an epoch."""
    from runner.fit.loop import evaluate, train_epoch

    runner_setup(dataset(random_bytes({"train": 64, "val": 64, "test": 64}), args.rss), args.threads)
    before_data = current_rss_mib()  # after the imports and a first assembly (torch._dynamo, Hydra, oneDNN)
    data = dataset(random_bytes(CIFAR_SIZES), args.rss)  # the decoded bytes are dropped once the splits exist
    cfg, parts, step = runner_setup(data, args.threads)
    del data
    train = parts.data.train.take(slice(0, args.rss_train_size))  # held beside the whole split: RSS counts both
    tick = time.perf_counter()
    train_epoch(parts.model, step, parts.task, train, parts.loss_fn, cfg.trainer, parts.order, "epoch")
    seconds = time.perf_counter() - tick
    for split in (parts.data.val, parts.data.test):
        evaluate(parts.model, parts.task, split, parts.loss_fn, cfg.trainer.eval_batch_size)
    held = sum(s.x.nbytes for s in (parts.data.train, parts.data.val, parts.data.test)) / 2**20
    return {"peak_rss_mib": rss_mib(), "rss_before_data_mib": before_data, "held_inputs_mib": held, "epoch_s": seconds}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-size", type=int, default=10000, help="training images of the timed epochs (default 10,000)")
    p.add_argument("--repeats", type=int, default=2, help="timed epochs per side (default 2)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rss", choices=["bytes", "float"], default=None, help="child mode: measure one storage's peak RSS")
    p.add_argument("--rss-train-size", type=int, default=10000, help="images the RSS child trains its epoch on")
    p.add_argument("--no-rss", action="store_true", help="skip the two peak-RSS children")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.rss:
        print(json.dumps(rss_child(args)))
        return
    out = {"train_size": args.train_size, "threads": args.threads, **time_sides(args), "rss": {}}
    if not args.no_rss:
        for storage in ("bytes", "float"):
            cmd = [sys.executable, __file__, "--rss", storage, "--threads", str(args.threads)]
            cmd += ["--rss-train-size", str(args.rss_train_size)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out["rss"][storage] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"[{time.strftime('%H:%M:%S')}] {storage}: {out['rss'][storage]}", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
