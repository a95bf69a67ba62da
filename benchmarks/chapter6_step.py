"""Where a batch-10 training step of Nielsen's chapter-6 networks goes on this CPU:
forward, backward and optimizer time per step, and the memory traffic of the
fully connected weights, for the rows N11 (FC100), N11-FC300, N11-FC1000 and
N13 (FC1000, FC1000, dropout). It explains the reproduction's epoch times (25,000
steps an epoch on the 250,000-image set): at batch 10 a 1000-wide layer does 10
multiply-adds per weight it reads, so its time follows memory bandwidth, not FLOPs.

Plain PyTorch modules shaped like the rows (channels_last, as the runner trains
CNNs on the CPU), random data, 1 thread by default; nothing is downloaded.

    python benchmarks/chapter6_step.py              # all four rows, 300 steps each
    python benchmarks/chapter6_step.py --steps 100 --threads 2
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import nielsen_convs  # noqa: E402

ROWS = {"N11": [100], "N11-FC300": [300], "N11-FC1000": [1000], "N13": [1000, 1000]}
DROPOUT = {"N13": 0.5}


def network(widths, dropout):
    layers = nielsen_convs()
    inputs = 640
    for width in widths + [10]:
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    return nn.Sequential(*layers[:-1]).to(memory_format=torch.channels_last)  # no ReLU on the logits


def time_step(model, steps: int, batch: int):
    """Seconds per step spent in forward (with the loss), backward and optimizer.step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03)
    x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    spent = [0.0, 0.0, 0.0]
    for i in range(steps + 20):  # 20 warm-up steps
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if i >= 20:
            for k, dt in enumerate((t1 - t0, t2 - t1, t3 - t2)):
                spent[k] += dt
    return [s / steps for s in spent]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, {args.threads} thread(s), {args.steps} steps, torch {torch.__version__}\n")
    print(
        "| row | FC weights | forward ms | backward ms | optimizer ms | step ms | epoch of 250k images s | FC weight traffic GB/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row, widths in ROWS.items():
        torch.manual_seed(0)
        model = network(widths, DROPOUT.get(row, 0.0))
        fc_weights = sum(m.weight.numel() for m in model if isinstance(m, nn.Linear))
        forward, backward, optimize = time_step(model, args.steps, args.batch)
        step = forward + backward + optimize
        # Per step each FC weight is read in forward and for the input gradient, its gradient
        # written and read, the weight read and written by SGD: about 6 passes of 4 bytes.
        traffic = 6 * 4 * fc_weights / step / 1e9
        print(
            f"| {row} | {fc_weights:,} | {1e3 * forward:.2f} | {1e3 * backward:.2f} | {1e3 * optimize:.2f} | {1e3 * step:.2f} "
            f"| {step * 250_000 / args.batch:.0f} | {traffic:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
