"""Where a case's training epoch spends its time, line by line: runs `runner train` for
one benchmark case under py-spy (pip install py-spy) and prints, for the samples
taken inside runner.fit.loop.train_epoch, the share of each line of the project's
code (the innermost runner/ frame of each sample). Lines that the plain loop
also has (forward, backward, optimizer step, batch slicing) are expected; the
rest is what the project adds.

    python benchmarks/profile_case.py mlp_b64            # full epoch
    python benchmarks/profile_case.py mlp_b10 --quick --rate 200
"""

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import QUICK_TRAIN_SIZE, ROOT, TRAIN_CASES, project_overrides, runner_cmd, runner_env, scratch_dir  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=list(TRAIN_CASES))
    p.add_argument("--quick", action="store_true", help=f"first {QUICK_TRAIN_SIZE:,} training images only")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args(argv)

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return 2
    work = scratch_dir("runner-profile-")
    raw = work / "profile.raw"
    overrides = project_overrides(TRAIN_CASES[args.case], args.threads, QUICK_TRAIN_SIZE if args.quick else None)
    cmd = [
        py_spy,
        "record",
        "-r",
        str(args.rate),
        "-f",
        "raw",
        "-o",
        str(raw),
        "--",
        *runner_cmd(),
        "train",
        *overrides,
        f"hydra.run.dir={work / 'run'}",
    ]
    subprocess.run(
        cmd, check=True, cwd=ROOT, env=runner_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    in_epoch, lines, total = 0, Counter(), 0
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames, count = stack.split(";"), int(count)
        total += count
        if not any("train_epoch (runner/fit/loop.py" in f for f in frames):
            continue
        in_epoch += count
        ours = [f for f in frames if "runner/" in f]
        lines[ours[-1]] += count
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.case}: {total} samples in the process, {in_epoch} inside train_epoch ({in_epoch / args.rate:.2f} s at {args.rate}/s)"
    )
    print(f"{'share':>6}  innermost project frame (function (file:line))")
    for frame, count in lines.most_common(args.top):
        print(f"{100 * count / max(in_epoch, 1):5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
