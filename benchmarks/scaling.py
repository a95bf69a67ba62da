"""Where the CPU saturates: one MLP epoch (784-h-10 sigmoid, SGD) as the hidden width
grows (100, 1000, 4000 at batch 64) and as the batch grows (10 ... 1024 at width 100).

Each point runs `runner train` (epoch seconds from its metrics.csv) and the plain
loop (benchmarks/plain.py), alternating, each in its own process, and reports
examples per second and the arithmetic rate the plain loop reaches:
6 * (784*h + h*10) floating-point operations per example (multiply-adds of the
forward pass, twice that for the backward pass). Small batches are bound by
per-step overhead (Python, dispatch, optimizer), large widths and batches by the
matrix products; where GFLOP/s stops rising, more batch or width only costs time.

    python benchmarks/scaling.py                          # full epochs, 1 thread
    python benchmarks/scaling.py --quick --threads 1,2    # 5,000 images, 1 and 2 threads
    python benchmarks/scaling.py --inprocess --quick --repeats 5

With --inprocess both sides run in this one process (the project's own
runner.fit.loop.train_epoch on objects its builders made, as benchmarks/inprocess.py
does) and are timed by the CPU time of the training thread: on a shared machine
that measures the work, not the share of the CPU this process was given
(1 thread only).
"""

import argparse
import dataclasses
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    QUICK_TRAIN_SIZE,
    TRAIN_CASES,
    load_average,
    machine_description,
    markdown_table,
    mnist_cache,
    project_overrides,
    run_plain,
    run_project,
    scratch_dir,
    stats,
)


def ints(text: str):
    return [int(v) for v in text.split(",") if v.strip()]


def inprocess_times(case, sides, threads, train_size, repeats) -> dict:
    """Epoch CPU seconds of each side, alternating in this process, after one warm-up epoch each."""
    import torch
    from common import plain_model, plain_optimizer
    from inprocess import project_side
    from plain import train_epoch as plain_epoch

    torch.set_num_threads(threads)
    project, split = project_side(project_overrides(case, threads, train_size))
    model = plain_model(case.model, case.hidden)
    optimizer = plain_optimizer(case.optimizer, model.parameters(), case.lr)
    generator = torch.Generator().manual_seed(0)
    x = split.inputs()  # float inputs up front, as a hand-written loop holds them
    fns = {
        "project": project,
        "plain": lambda: plain_epoch(model, optimizer, x, split.y, case.batch_size, generator),
    }
    times = {side: [] for side in sides}
    for side in sides:
        fns[side]()
    for r in range(repeats):
        for side in sides if r % 2 == 0 else sides[::-1]:
            tick = time.thread_time()
            fns[side]()
            times[side].append(time.thread_time() - tick)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--widths", type=ints, default=[100, 1000, 4000], help="hidden widths at --width-batch (default 100,1000,4000)"
    )
    p.add_argument("--width-batch", type=int, default=64)
    p.add_argument("--batches", type=ints, default=[10, 32, 64, 128, 256, 512, 1024], help="batch sizes at width 100")
    p.add_argument("--threads", type=ints, default=[1], help="comma-separated thread counts (default 1)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--quick", action="store_true", help=f"train on the first {QUICK_TRAIN_SIZE:,} images only")
    p.add_argument("--sides", default="project,plain", help="project, plain or both (default both)")
    p.add_argument(
        "--inprocess", action="store_true", help="time both sides in this process by thread CPU time (1 thread)"
    )
    args = p.parse_args(argv)
    if args.inprocess and args.threads != [1]:
        p.error("--inprocess measures the CPU time of one thread: use --threads 1")
    sides = [s for s in args.sides.split(",") if s]
    train_size = QUICK_TRAIN_SIZE if args.quick else None
    n = train_size or 50000

    points = [(w, args.width_batch) for w in args.widths]
    points += [(100, b) for b in args.batches if (100, b) not in points]
    cache = mnist_cache()
    work = scratch_dir("runner-scaling-")
    load_before, started = load_average(), datetime.now()
    rows = []
    for threads in args.threads:
        for hidden, batch in points:
            case = dataclasses.replace(TRAIN_CASES["mlp_b64"], batch_size=batch, hidden=hidden)
            times = {side: [] for side in sides}
            if args.inprocess:
                times = inprocess_times(case, sides, threads, train_size, args.repeats)
            for r in range(0 if args.inprocess else args.repeats):
                for side in sides if r % 2 == 0 else sides[::-1]:
                    if side == "project":
                        res = run_project(
                            project_overrides(case, threads, train_size), work, f"w{hidden}-b{batch}-t{threads}-{r}"
                        )
                    else:
                        res = run_plain(case, threads, train_size, cache)
                    times[side].append(res["epoch"])
            proj = stats(times["project"])["min"] if "project" in sides else None
            plain = stats(times["plain"])["min"] if "plain" in sides else None
            ref = plain or proj
            gflops = 6 * (784 * hidden + hidden * 10) * n / ref / 1e9
            row = [threads, hidden, batch, -(-n // batch)]
            row += [
                f"{proj:.3f}" if proj else "",
                f"{plain:.3f}" if plain else "",
                f"{proj / plain:.2f}" if proj and plain else "",
            ]
            row += [f"{n / ref:,.0f}", f"{gflops:.1f}"]
            rows.append(row)
            print(
                f"[{datetime.now():%H:%M:%S} load {load_average()}] " + " ".join(map(str, row)),
                file=sys.stderr,
                flush=True,
            )

    shutil.rmtree(work, ignore_errors=True)
    machine = machine_description()
    print(f"# MLP scaling, {started:%Y-%m-%d %H:%M} - {datetime.now():%H:%M}")
    print()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; torch {machine['torch']}")
    clock = (
        "CPU time of the training thread, both sides in one process"
        if args.inprocess
        else "wall time, each side in its own process"
    )
    print(
        f"{n:,} training images per epoch; min over {args.repeats} repeat(s); {clock}; load average before {load_before}, after {load_average()}"
    )
    print()
    header = [
        "threads",
        "hidden",
        "batch",
        "steps",
        "project epoch s",
        "plain epoch s",
        "ratio",
        "examples/s (plain)",
        "GFLOP/s (plain)",
    ]
    print(markdown_table(header, [[str(c) for c in r] for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
