"""What trainer.diagnostics=true costs per epoch: the project's training epoch with and without
the diagnostics' per-epoch work, alternating in ONE process on the same model.

off: `runner.fit.loop.train_epoch` alone (what one_epoch runs when trainer.diagnostics=false:
the diagnostics object is None and no step is touched). on: the same epoch plus what one_epoch
adds with diagnostics (runner/fit/diagnostics.py): the weights copied before the first step,
the per-layer norms after the last, the parameter and activation histograms (one validation
batch of trainer.batch_size examples) and the filter image, written to TensorBoard through RunLog.

    python benchmarks/diagnostics_cost.py --cases mlp_b64,cnn_b64 --repeats 5 --quick
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import QUICK_TRAIN_SIZE, TRAIN_CASES, load_average, markdown_table, project_overrides, runner_parts  # noqa: E402


def sides(overrides, log_dir: Path):
    """{"off": epoch, "on": epoch + diagnostics} on the objects `fit` builds from the composed config."""
    from runner.fit.diagnostics import TrainingDiagnostics
    from runner.fit.loop import train_epoch
    from runner.record.run_log import RunLog

    cfg, parts, step = runner_parts(overrides)
    trainer = cfg.trainer
    diagnostics = TrainingDiagnostics(parts.model, trainer.batch_size)
    run_log = RunLog(log_dir, {})
    epochs = iter(range(1, 10**6))
    extra = []  # the diagnostics' own seconds in each `on` epoch: steadier than on - off on a busy machine

    def off():
        train_epoch(parts.model, step, parts.task, parts.data.train, parts.loss_fn, trainer, parts.order, "epoch")

    def on():
        start = time.perf_counter()
        diagnostics.epoch_starts()
        copied = time.perf_counter()
        off()
        trained, epoch = time.perf_counter(), next(epochs)
        for tag, value in diagnostics.columns().items():  # RunLog.epoch writes them as the row's scalars
            run_log.writer.add_scalar(tag, value, epoch)
        run_log.diagnostics(epoch, diagnostics.histograms(parts.data.val), diagnostics.images())
        extra.append(copied - start + time.perf_counter() - trained)

    return {"off": off, "on": on}, extra


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="mlp_b64,cnn_b64")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help=f"first {QUICK_TRAIN_SIZE:,} training images only")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_size = QUICK_TRAIN_SIZE if args.quick else None
    load_before, rows = load_average(), []
    with tempfile.TemporaryDirectory() as log_dir:
        for name in [c.strip() for c in args.cases.split(",") if c.strip()]:
            timed, extra = sides(project_overrides(TRAIN_CASES[name], args.threads, train_size), Path(log_dir) / name)
            wall = {k: [] for k in timed}
            for side in timed.values():  # warm-up: lazy imports (TensorBoard), first allocations
                side()
            for r in range(args.repeats):
                for k in list(timed) if r % 2 == 0 else list(timed)[::-1]:
                    start = time.perf_counter()
                    timed[k]()
                    wall[k].append(time.perf_counter() - start)
            off, on, own = statistics.median(wall["off"]), statistics.median(wall["on"]), statistics.median(extra[1:])
            rows.append([
                name, f"{off:.3f}", f"{on:.3f}", f"{min(wall['on']) - min(wall['off']):+.3f}",
                f"{own:.3f}", f"{100 * own / off:.1f}%",
            ])  # fmt: skip
            print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] " + " | ".join(rows[-1]), file=sys.stderr)
    print(
        f"in-process, {args.repeats} alternating repeats, {args.threads} thread(s), {'quick' if args.quick else 'full data'}; load before {load_before}, after {load_average()}"
    )
    print()
    header = [
        "case", "epoch off s (median)", "epoch on s (median)", "min on - min off s",
        "diagnostics' own s (median)", "own / epoch off",
    ]  # fmt: skip
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
