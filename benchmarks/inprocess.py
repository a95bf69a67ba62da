"""The project's training epoch against the plain loop inside ONE process, alternating,
timed by wall clock and by the CPU time of the training thread: a steadier view
of the per-epoch overhead than run.py's separate processes when the machine is
shared (CPU time does not count the time other processes hold the core).

The project side is the project's own `runner.fit.loop.train_epoch` (the function
metrics.csv's `seconds` times) on objects built by the project's builders from
a config composed by Hydra from conf/ with the case's overrides, as `fit` builds
them; the plain side is plain.py's loop on the same tensors. Needs 1 thread
(the default) for the CPU-time column to cover all the work.

    python benchmarks/inprocess.py --cases mlp_b10,mlp_b64 --repeats 7
    python benchmarks/inprocess.py --quick
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    QUICK_TRAIN_SIZE,
    TRAIN_CASES,
    load_average,
    markdown_table,
    plain_model,
    plain_optimizer,
    project_overrides,
    runner_parts,
)
from plain import train_epoch as plain_epoch  # noqa: E402


def project_side(overrides):
    """What `fit` builds before its epoch loop (runner.build.assemble.assemble and runner.fit.loop.make_step), from the composed config."""
    from runner.fit.loop import train_epoch

    cfg, parts, step = runner_parts(overrides)
    trainer = cfg.trainer

    def epoch():
        train_epoch(parts.model, step, parts.task, parts.data.train, parts.loss_fn, trainer, parts.order, "epoch")

    return epoch, parts.data.train


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(TRAIN_CASES), help=f"comma-separated, from: {', '.join(TRAIN_CASES)}")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help=f"first {QUICK_TRAIN_SIZE:,} training images only")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_size = QUICK_TRAIN_SIZE if args.quick else None
    load_before = load_average()
    rows = []
    for name in [c.strip() for c in args.cases.split(",") if c.strip()]:
        case = TRAIN_CASES[name]
        project, split = project_side(project_overrides(case, args.threads, train_size))
        model = plain_model(case.model, case.hidden)
        optimizer = plain_optimizer(case.optimizer, model.parameters(), case.lr)
        generator = torch.Generator().manual_seed(0)
        x = split.inputs()  # float inputs up front, as a hand-written loop holds them

        def plain():
            plain_epoch(model, optimizer, x, split.y, case.batch_size, generator)

        sides = {"project": project, "plain": plain}
        wall = {k: [] for k in sides}
        cpu = {k: [] for k in sides}
        for side in sides.values():  # warm-up: first-call allocations and lazy imports
            side()
        for r in range(args.repeats):
            for k in list(sides) if r % 2 == 0 else list(sides)[::-1]:
                w, c = time.perf_counter(), time.thread_time()
                sides[k]()
                cpu[k].append(time.thread_time() - c)
                wall[k].append(time.perf_counter() - w)
        med = statistics.median
        rows.append([
            name,
            f"{min(wall['project']):.3f} / {min(wall['plain']):.3f}",
            f"{min(wall['project']) / min(wall['plain']):.3f}",
            f"{med(wall['project']) / med(wall['plain']):.3f}",
            f"{min(cpu['project']):.3f} / {min(cpu['plain']):.3f}",
            f"{min(cpu['project']) / min(cpu['plain']):.3f}",
            f"{med(cpu['project']) / med(cpu['plain']):.3f}",
        ])  # fmt: skip
        print(
            f"[{time.strftime('%H:%M:%S')} load {load_average()}] " + " | ".join(rows[-1]), file=sys.stderr, flush=True
        )
    print(
        f"in-process, {args.repeats} alternating repeats, {args.threads} thread(s), {'quick' if args.quick else 'full data'}; load before {load_before}, after {load_average()}"
    )
    print()
    header = [
        "case",
        "wall s min (project / plain)",
        "wall ratio (min)",
        "wall ratio (median)",
        "CPU s min (project / plain)",
        "CPU ratio (min)",
        "CPU ratio (median)",
    ]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
