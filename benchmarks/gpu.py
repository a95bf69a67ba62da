"""GPU measurements (issue 7, part 3): `make bench-gpu`, on a machine with a CUDA device.

1. Epoch time of Nielsen's CNN (the benchmarks' `cnn` case: conv20-pool-conv40-pool-fc100
   ReLU, SGD lr 0.1) at batch 10 and batch 64, the training data resident on the GPU: the
   plain loop (benchmarks/plain.py's train_epoch on the same tensors) beside the project's
   train_epoch with each speed option (docs/training.md, "Fast runs on a GPU"). All sides live
   in this process, each with its own model and optimizer, and alternate; every epoch is timed
   between two torch.cuda.synchronize(). A first epoch per side warms up (cuDNN, compilation,
   graph capture) and is reported on its own.
2. Time to 99% test accuracy with the CNN experiments given (default: the K2 and N10 rows of
   experiments/reproduce/, the ones that reach 99% in the fewest steps: K2 at batch 128 in a
   few epochs, N10 at batch 10), for each variant given: wall time from building the run (data
   to the GPU, model, optimizer) to the end of the first epoch whose test accuracy reaches the
   target, the test set evaluated after every epoch. In this process: no process start, logging
   or checkpoints (what `runner train` adds to each epoch is measured by `make bench`).

    python benchmarks/gpu.py                                   # both parts, ~10-15 min on an H100
    python benchmarks/gpu.py --part epochs --batches 10 --repeats 5
    python benchmarks/gpu.py --part target --configs reproduce/k2 --variants eager,all
    python benchmarks/gpu.py --quick --json gpu.json           # 10,000 training images, 2 repeats
    python benchmarks/gpu.py --device cpu --quick --batches 64 --part epochs  # a smoke test of the script itself

Prints a Markdown table headed by the GPU's name; exits with status 2 and says so when there is
no CUDA device.
"""

import argparse
import dataclasses
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # runner importable without installing it
from common import (  # noqa: E402
    TRAIN_CASES,
    code_fingerprint,
    load_split,
    markdown_table,
    mnist_cache,
    plain_model,
    plain_optimizer,
    project_overrides,
)

QUICK_SIZE = 10_000
NCHW = "trainer.channels_last=false"  # the plain eager step as on the CPU (auto would turn channels_last on for a CNN on CUDA)
VARIANTS = {
    "eager": [NCHW],
    "channels_last": ["trainer.channels_last=true"],
    "bf16": [NCHW, "trainer.precision=bf16"],
    "compile": [NCHW, "trainer.compile=true"],
    "cuda_graphs": [NCHW, "trainer.cuda_graphs=true"],
    "graphs+bf16+cl": ["trainer.cuda_graphs=true", "trainer.precision=bf16", "trainer.channels_last=true"],
    "all": ["trainer.compile=true", "trainer.cuda_graphs=true", "trainer.precision=bf16", "trainer.channels_last=true"],
}
TARGET_CONFIGS = "reproduce/k2,reproduce/n10"


def say(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def timed(fn, device) -> float:
    """Seconds of fn(), the GPU's queued work included."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    tick = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - tick


# ---------------------------------------------------------------- 1. epoch time against the plain loop


def epoch_sides(batch: int, variants, args, device) -> dict:
    """{side: one-epoch function}: the plain loop, then the project with each variant."""
    import torch
    from inprocess import project_side
    from plain import train_epoch as plain_epoch

    case = dataclasses.replace(TRAIN_CASES["cnn_b64"], name=f"cnn_b{batch}", batch_size=batch)
    x, y = load_split(mnist_cache(), "train", args.train_size)
    x, y = x.to(device), y.to(device)
    torch.manual_seed(0)
    model = plain_model(case.model).to(device)
    optimizer = plain_optimizer(case.optimizer, model.parameters(), case.lr)
    order = torch.Generator().manual_seed(0)
    sides = {"plain": lambda: plain_epoch(model, optimizer, x, y, batch, order)}
    for name in variants:
        extra = [f"trainer.device={device}", *VARIANTS[name]]
        sides[name], _ = project_side(project_overrides(case, 0, args.train_size, extra))
    return sides


def bench_epochs(batch: int, variants, args, device) -> dict:
    import torch

    torch._dynamo.reset()  # compiled code of other batch sizes does not count against this one's recompile limit
    sides = epoch_sides(batch, variants, args, device)
    first = {}
    for name, epoch in sides.items():
        first[name] = timed(epoch, device)
        say(f"batch {batch} {name:15s} first epoch {first[name]:.3f} s (warm-up: cuDNN, compilation, capture)")
    times = {name: [] for name in sides}
    for r in range(args.repeats):
        for name in list(sides) if r % 2 == 0 else list(sides)[::-1]:
            times[name].append(timed(sides[name], device))
            say(f"batch {batch} {name:15s} #{r + 1} epoch {times[name][-1]:.3f} s")
    return {"batch": batch, "first": first, "epochs": times}


def epoch_rows(result: dict, images: int) -> list:
    plain = min(result["epochs"]["plain"])
    rows = []
    for name, times in result["epochs"].items():
        best = min(times)
        rows.append([
            str(result["batch"]), name, f"{result['first'][name]:.2f}", f"{best:.3f} / {statistics.median(times):.3f}",
            f"{best / plain:.2f}", f"{images / best:,.0f}", f"{images / result['batch'] / best:,.0f}",
        ])  # fmt: skip
    return rows


# ---------------------------------------------------------------- 2. time to a test accuracy


def time_to_target(config: str, variant: str, args, device) -> dict:
    """Build the run as `fit` does, then train epoch by epoch, testing after each, until the test
    accuracy reaches args.target, the config's epochs run out, or args.max_minutes pass."""
    import torch

    from runner.build.assemble import assemble
    from runner.config.schema import validate
    from runner.fit.environment import seed_everything
    from runner.fit.loop import evaluate, make_step, train_epoch
    from runner.launch.preflight import check

    torch._dynamo.reset()
    overrides = [
        f"+experiment={config}",
        f"trainer.device={device}",
        "trainer.progress=false",
        *VARIANTS[variant],
        *args.overrides,
    ]
    cfg = validate(check(overrides)[0])
    trainer = cfg.trainer
    seed_everything(cfg.seed, trainer.deterministic)
    start = time.perf_counter()
    data, model, task, optimizer, _, hooks, loss_fn, _, order = assemble(cfg, device)
    step = make_step(model, task, loss_fn, optimizer, hooks, trainer, device)
    training, accuracy = 0.0, 0.0
    for epoch in range(1, trainer.epochs + 1):
        training += timed(lambda: train_epoch(model, step, task, data.train, loss_fn, trainer, order, "epoch"), device)
        accuracy = evaluate(model, task, data.test, loss_fn, trainer.eval_batch_size)[
            "accuracy"
        ]  # .item(): waits for the GPU
        elapsed = time.perf_counter() - start
        say(f"{config} {variant}: epoch {epoch} test accuracy {100 * accuracy:.2f}% at {elapsed:.1f} s")
        if accuracy >= args.target or elapsed > 60 * args.max_minutes:
            break
    reached = accuracy >= args.target
    return {"config": config, "variant": variant, "reached": reached, "epochs": epoch, "seconds": elapsed, "training_seconds": training,
            "test_accuracy": accuracy, "batch_size": trainer.batch_size, "steps_per_epoch": -(-len(data.train) // trainer.batch_size)}  # fmt: skip


def target_rows(results: list, target: float) -> list:
    rows = []
    for r in sorted(results, key=lambda r: (not r["reached"], r["seconds"])):
        when = f"{r['seconds']:.1f}" if r["reached"] else f"not reached in {r['seconds']:.0f} s"
        rows.append(
            [
                r["config"],
                r["variant"],
                str(r["batch_size"]),
                when,
                f"{r['training_seconds']:.1f}",
                str(r["epochs"]),
                f"{100 * r['test_accuracy']:.2f}",
            ]
        )
    return rows


# ---------------------------------------------------------------- main


def names(text: str, known, what: str) -> list:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise SystemExit(f"benchmarks/gpu.py: unknown {what} {', '.join(unknown)}; choose from: {', '.join(known)}")
    return chosen


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["all", "epochs", "target"], default="all")
    p.add_argument("--batches", default="10,64", help="batch sizes of the epoch part (default 10,64)")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"project variants, from: {', '.join(VARIANTS)} (default all of them)",
    )
    p.add_argument(
        "--target-variants",
        default="eager,graphs+bf16+cl,all",
        help="variants of the target part (default eager,graphs+bf16+cl,all)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per side after the warm-up one (default 3)")
    p.add_argument(
        "--quick", action="store_true", help=f"epoch part on the first {QUICK_SIZE:,} training images, 2 repeats"
    )
    p.add_argument(
        "--configs", default=TARGET_CONFIGS, help=f"experiments for the target part (default {TARGET_CONFIGS})"
    )
    p.add_argument("--target", type=float, default=0.99, help="test accuracy to reach (default 0.99)")
    p.add_argument(
        "--overrides", nargs="*", default=[], help="more `runner train` overrides for the target part (e.g. seed=1)"
    )
    p.add_argument(
        "--max-minutes", type=float, default=4.0, help="give up on a config and variant after this long (default 4)"
    )
    p.add_argument(
        "--device", default="cuda", help="cuda (default) or cuda:N; cpu only to smoke-test this script (no cuda_graphs)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write every measurement to this JSON file")
    args = p.parse_args(argv)

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device on this machine (torch.cuda.is_available() is False); "
              "run it where there is a GPU: make bench-gpu", file=sys.stderr)  # fmt: skip
        return 2
    device = torch.device(args.device)
    variants = names(args.variants, VARIANTS, "variant(s)")
    target_variants = names(args.target_variants, VARIANTS, "variant(s)")
    if device.type != "cuda":  # CUDA graphs are refused on the CPU, by design
        variants = [v for v in variants if "cuda_graphs=true" not in " ".join(VARIANTS[v])]
        target_variants = [v for v in target_variants if "cuda_graphs=true" not in " ".join(VARIANTS[v])]
    args.train_size = QUICK_SIZE if args.quick else None
    args.repeats = 2 if args.quick and args.repeats == 3 else args.repeats
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (smoke test of the script)"
    started = datetime.now()
    record = {
        "device": gpu,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "code": code_fingerprint(),
        "args": vars(args) | {"json": str(args.json)},
    }

    epochs, targets = [], []
    if args.part in ("all", "epochs"):
        for batch in [int(b) for b in args.batches.split(",") if b.strip()]:
            epochs.append(bench_epochs(batch, variants, args, device))
    if args.part in ("all", "target"):
        from runner.launch.preflight import PreflightError

        for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
            for variant in target_variants:
                try:
                    targets.append(time_to_target(config, variant, args, device))
                except PreflightError as err:
                    print(f"benchmarks/gpu.py: {config} with {variant}: {err}", file=sys.stderr)
                    return 2
    if args.json:
        args.json.write_text(json.dumps(record | {"epochs": epochs, "target": targets}, indent=1))

    images = args.train_size or 50_000
    print(f"# GPU benchmarks: {gpu}, {started:%Y-%m-%d %H:%M}")
    print()
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}; code {record['code']}")
    if epochs:
        print()
        print(f"Nielsen's CNN (conv20-pool-conv40-pool-fc100 ReLU, SGD lr 0.1), one epoch of {images:,} images, data resident on {device};"
              f" {args.repeats} timed epochs per side after a warm-up one, alternating.")  # fmt: skip
        print()
        header = ["batch", "side", "first epoch s", "epoch s (min / median)", "vs plain (min)", "images/s", "steps/s"]
        print(markdown_table(header, [row for result in epochs for row in epoch_rows(result, images)]))
    if targets:
        print()
        print(
            f"Time to {100 * args.target:g}% test accuracy (test set evaluated after every epoch; wall time from building the run)."
        )
        print()
        header = ["config", "variant", "batch", "seconds to target", "training s", "epochs", "test acc %"]
        print(markdown_table(header, target_rows(targets, args.target)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
