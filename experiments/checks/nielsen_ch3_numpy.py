"""Cross-check of rows N6a/N6b with a second, independent implementation: the chapter-3
algorithm written directly in NumPy float64 from its description (shared
MNIST_RESULTS.md), with none of the runner's code on the training path.

N6b (L2) lands 0.3 points above the book's single run in every seed the runner
trained. If this implementation lands where the runner does, the runner computes
what the algorithm computes, and the gap is between the algorithm and the book's
one run, not in the runner.

The algorithm: 784-30-10 sigmoid network, weights and biases N(0, 1); per-output
cross-entropy on the sigmoid outputs (output error a - y); SGD, mini-batches of 10
in a fresh random order each epoch, lr 0.5; L2 as weight decay on the weights only,
w <- (1 - lr*lambda/n) w - (lr/m) sum grad, n = 1,000 training images; test accuracy
on the 10,000 test images after every epoch, peak over 400 epochs.

    python experiments/checks/nielsen_ch3_numpy.py --seeds 0-9 --l2 0.1   # N6b
    python experiments/checks/nielsen_ch3_numpy.py --seeds 0-9 --l2 0     # N6a

The data are the runner's MNIST cache (the same first 1,000 training images).
"""

import argparse
import statistics
import sys
import time

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def mnist_arrays():
    from runner.build.data.mnist import MnistConfig, load_mnist

    data = load_mnist(MnistConfig(train_size=1000))
    as_np = lambda split: (split.x.reshape(len(split.x), -1).double().numpy(), split.y.numpy())  # noqa: E731
    return as_np(data.train), as_np(data.test)


def peak_test_accuracy(seed: int, l2: float, epochs: int, train, test, lr=0.5, batch=10, hidden=30) -> float:
    rng = np.random.default_rng(seed)
    (x, y), (x_test, y_test) = train, test
    n = len(x)
    w1, b1 = rng.standard_normal((784, hidden)), rng.standard_normal(hidden)
    w2, b2 = rng.standard_normal((hidden, 10)), rng.standard_normal(10)
    targets = np.eye(10)[y]
    decay = 1.0 - lr * l2 / n
    best = 0.0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            xb, tb, m = x[idx], targets[idx], len(idx)
            h = sigmoid(xb @ w1 + b1)
            out = sigmoid(h @ w2 + b2)
            d2 = out - tb  # per-output cross-entropy on sigmoids: the output error is a - y
            d1 = (d2 @ w2.T) * h * (1.0 - h)
            w2 = decay * w2 - (lr / m) * (h.T @ d2)
            b2 = b2 - (lr / m) * d2.sum(0)
            w1 = decay * w1 - (lr / m) * (xb.T @ d1)
            b1 = b1 - (lr / m) * d1.sum(0)
        predicted = (sigmoid(sigmoid(x_test @ w1 + b1) @ w2 + b2)).argmax(1)
        best = max(best, float((predicted == y_test).mean()))
    return 100 * best


def seed_list(text: str):
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0-9", help="a seed or a range, e.g. 0-9")
    p.add_argument("--l2", type=float, default=0.1, help="lambda (0.1: N6b, 0: N6a)")
    p.add_argument("--epochs", type=int, default=400)
    args = p.parse_args(argv)
    train, test = mnist_arrays()
    peaks = []
    for seed in seed_list(args.seeds):
        tick = time.perf_counter()
        peaks.append(peak_test_accuracy(seed, args.l2, args.epochs, train, test))
        print(
            f"seed {seed}: peak test accuracy {peaks[-1]:.2f}% ({time.perf_counter() - tick:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    spread = f" ± {statistics.stdev(peaks):.2f}" if len(peaks) > 1 else ""
    print(
        f"NumPy float64, lambda {args.l2}, {args.epochs} epochs, seeds {args.seeds}: "
        f"{', '.join(f'{p:.2f}' for p in peaks)}; mean {statistics.mean(peaks):.2f}{spread}, min {min(peaks):.2f}, max {max(peaks):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
