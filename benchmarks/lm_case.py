"""Character-level language models: runner's loop against a plain PyTorch loop (nanoGPT's
train.py is the model of it), on the same random token windows, side by side in one process.

Cases (vocabulary 65, Adam lr 1e-3, one thread; --context, --batch-size, --steps):
    lm_lstm         Embedding -> LSTM 2 x 256 -> Linear: model=lstm on data=text
    lm_transformer  4 blocks x 128 wide, 4 heads, block_size = context: model=transformer

Random token ids stand in for a text (only shapes matter to time): N = steps x batch windows of
`context` ids, each window's targets its next ids. Runner's side is what `fit` builds and runs:
runner.build.assemble.assemble (from a config composed by Hydra with data=text; the windows
handed to assemble in place of the file's, runner.build.assemble.load_dataset), make_step and
train_epoch (the language_model task: the loss over all B x T positions, one summed loss kept
per batch). The plain side trains a deep copy of the model runner built (the same module and
initial weights: the ratio is the loop's, not the model code's) with the loop nanoGPT's
train.py runs: a random batch of windows, logits, cross-entropy over B x T, zero_grad,
backward, step, no other work. Each side runs one warm-up epoch, then the sides alternate
(who goes first rotates), timed by wall clock and by the training thread's CPU time (the
ratios use it: other processes on a shared machine do not count in it).

Prints one JSON line.
    python benchmarks/lm_case.py --cases lm_lstm,lm_transformer --steps 100 --repeats 3
"""

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import runner_parts  # noqa: E402

VOCABULARY = 65  # Shakespeare's characters, nanoGPT's shakespeare_char
CASES = {
    "lm_lstm": ["model=lstm", "model.hidden_size=256", "model.num_layers=2"],
    "lm_transformer": ["model=transformer", "model.n_layer=4", "model.n_head=4", "model.n_embd=128"],
}


def random_windows(n: int, context: int, seed: int = 0):
    """(x, y): n windows of token ids and their next ids, int64 (n, context), as data=text's splits."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCABULARY, (n, context + 1), generator=gen)
    return ids[:, :-1].contiguous(), ids[:, 1:].contiguous()


def token_dataset(n_train: int, context: int):
    from runner.build.data.splits import Dataset, Split

    splits = [Split(*random_windows(n, context, seed), tokens="char") for seed, n in enumerate((n_train, 64, 64))]
    return Dataset(*splits, num_classes=VOCABULARY, vocabulary=[f"c{i}" for i in range(VOCABULARY)])


def runner_side(case: str, data, args, corpus: Path):
    """assemble(cfg) with `data` as the loaded dataset, as `fit` assembles; its step; one epoch."""
    from runner.fit.loop import train_epoch

    overrides = [
        "data=text", f"data.path={corpus}", f"data.context={args.context}", *CASES[case],
        "optimizer=adam", "optimizer.lr=0.001", f"trainer.batch_size={args.batch_size}",
        f"trainer.threads={args.threads}", "early_stopping=none", "seed=0",
    ]  # fmt: skip
    if case == "lm_transformer":
        overrides.append(f"model.block_size={args.context}")
    cfg, parts, step = runner_parts(overrides, data)
    plain_model = copy.deepcopy(parts.model)  # no step taken yet: the same initial weights

    def epoch():
        train_epoch(parts.model, step, parts.task, parts.data.train, parts.loss_fn, cfg.trainer, parts.order, "epoch")

    return epoch, plain_model, parts.data.train


def plain_side(model, x: torch.Tensor, y: torch.Tensor, batch_size: int):
    """nanoGPT's loop over the windows, a fresh random order each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def epoch():
        model.train()
        perm = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            idx = perm[start : start + batch_size]
            logits = model(x[idx])
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y[idx].view(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return loss.item()

    return epoch


def time_case(case: str, args, corpus: Path) -> dict:
    data = token_dataset(args.steps * args.batch_size, args.context)
    runner_epoch, model, train = runner_side(case, data, args, corpus)
    sides = {"runner": runner_epoch, "plain": plain_side(model, train.x, train.y, args.batch_size)}
    for side in sides.values():  # warm-up: first-call allocations, lazy imports, oneDNN kernels
        side()
    wall, cpu = {name: [] for name in sides}, {name: [] for name in sides}
    names = list(sides)
    for r in range(args.repeats):
        for name in names[r % 2 :] + names[: r % 2]:  # rotate who goes first
            tick, cpu_tick = time.perf_counter(), time.thread_time()
            sides[name]()
            cpu[name].append(time.thread_time() - cpu_tick)
            wall[name].append(time.perf_counter() - tick)
            say = f"{case} {name:6s} epoch {wall[name][-1]:.3f} s, {cpu[name][-1]:.3f} CPU s"
            print(f"[{time.strftime('%H:%M:%S')}] {say}", file=sys.stderr, flush=True)
    tokens = args.steps * args.batch_size * args.context
    params = sum(p.numel() for p in model.parameters())
    return {"wall": wall, "cpu": cpu, "tokens_per_epoch": tokens, "params": params}


def summary(result: dict) -> dict:
    """Ratios of CPU seconds (min/min, median/median, median of back-to-back pairs), tokens/s (median)."""
    cpu, wall, tokens = result["cpu"], result["wall"], result["tokens_per_epoch"]
    r, p = cpu["runner"], cpu["plain"]
    return {
        "ratio_min": min(r) / min(p),
        "ratio_median": statistics.median(r) / statistics.median(p),
        "ratio_pairs": statistics.median(a / b for a, b in zip(r, p)),
        "runner_tokens_per_s": tokens / statistics.median(wall["runner"]),
        "plain_tokens_per_s": tokens / statistics.median(wall["plain"]),
        "runner_tokens_per_cpu_s": tokens / statistics.median(r),
        "plain_tokens_per_cpu_s": tokens / statistics.median(p),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    p.add_argument("--steps", type=int, default=100, help="steps of each timed epoch (default 100)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", type=int, default=64, help="tokens per window (default 64)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per side (default 3)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from: {', '.join(CASES)}")
    out = {"steps": args.steps, "batch_size": args.batch_size, "context": args.context, "threads": args.threads}
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus.txt"  # data=text's config names a file; the windows come from random_windows
        corpus.write_text("".join(chr(ord("!") + i % 64) for i in range(4 * args.context)))
        for case in cases:
            result = time_case(case, args, corpus)
            out[case] = {**result, "summary": summary(result)}
            print(f"[{time.strftime('%H:%M:%S')}] {case}: {out[case]['summary']}", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
