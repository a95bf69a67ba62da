"""`data=text`: a UTF-8 text file as token ids for language modelling (runner/config/data/text.py
and text_corpus.py: tokenisation, split by position, vocabulary of the training part).

Each split is its part of the text cut into consecutive non-overlapping windows of data.context
tokens, in the text's order: x (N, context) int64 token ids, y (N, context) the same windows
shifted by one token (y[i, t] is the token after x[i, t]); the last tokens that fill no whole
window (and the one after it) are left out. The encoded splits are cached
(runner/build/data/cache.py) under a key made of the file's path, size and modification time and
the tokenisation keys; the vocabulary comes from the config check's count (memoised per file).

`streams` orders training windows for a stateful model (model.stateful): batch k's row j is
followed in batch k + 1 by the window that comes after it in the text."""

import hashlib
import logging

import numpy as np
import torch

from runner.build.data.cache import cached_splits
from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split, cache_dir
from runner.config.data.own_files import identity, regular_file
from runner.config.data.text import TextConfig
from runner.config.data.text_corpus import PARTS, cuts, read_text, tokenise, vocabulary

log = logging.getLogger("runner")


def encode(items, itos, tokens: str) -> np.ndarray:
    """Token ids (int64) of the tokens `items`; a token outside the vocabulary is 0 (unknown)."""
    if tokens == "char":  # code points -> ids by one sorted lookup, fast at any size
        known = np.array([ord(t) for t in itos[1:]], dtype=np.uint32)
        order = np.argsort(known)
        place = np.searchsorted(known[order], items).clip(0, max(len(known) - 1, 0))
        found = known[order][place] == items
        return np.where(found, order[place] + 1, 0).astype(np.int64)
    ids = {token: i for i, token in enumerate(itos)}
    return np.fromiter((ids.get(t, 0) for t in items), dtype=np.int64, count=len(items))


def windows(ids: torch.Tensor, context: int):
    """(x, y): consecutive non-overlapping windows of `context` tokens, and each shifted by one."""
    n = (len(ids) - 1) // context
    return ids[: n * context].view(n, context), ids[1 : n * context + 1].view(n, context)


def _encoded(cfg: TextConfig, itos) -> dict:
    path = regular_file(cfg.path, what="text file")
    items = tokenise(read_text(path), cfg.tokens)
    ids = torch.from_numpy(encode(items, itos, cfg.tokens))
    train_end, val_end = cuts(len(ids), cfg.train_fraction, cfg.val_fraction)
    parts = dict(zip(PARTS, (ids[:train_end], ids[train_end:val_end], ids[val_end:])))
    return {name: windows(part.clone(), cfg.context) for name, part in parts.items()}


def _cache_file(cfg: TextConfig):
    keys = (
        identity(regular_file(cfg.path)),
        cfg.tokens,
        cfg.vocab_size,
        cfg.context,
        cfg.train_fraction,
        cfg.val_fraction,
    )
    return cache_dir() / f"text-{hashlib.sha256(repr(keys).encode()).hexdigest()[:20]}.pt"


def encoded_splits(cfg: TextConfig):
    """({split: (x, y)}, vocabulary), from the cache or encoded now (then cached)."""
    cfg.shape()  # the checks (too short, vocab_size), again: the file may have changed since the preflight
    itos = vocabulary(cfg.corpus().counts, cfg.vocab_size)
    splits = cached_splits(
        _cache_file(cfg), (cfg.context,), lambda: _encoded(cfg, itos), f"text {cfg.path}", torch.int64, (cfg.context,)
    )
    return splits, itos


def prepare_text(cfg) -> None:
    """For the preflight: the text read, checked and encoded into the cache before any run folder."""
    if isinstance(cfg, TextConfig):
        encoded_splits(cfg)


@DATASETS.register("text")
def load_text(cfg: TextConfig) -> Dataset:
    splits, itos = encoded_splits(cfg)
    made = {name: Split(x, y, tokens=cfg.tokens) for name, (x, y) in splits.items()}
    sizes = ", ".join(f"{name} {len(s):,}" for name, s in made.items())
    log.info(f"text {cfg.path}: {len(itos):,} {cfg.tokens} tokens in the vocabulary; windows of {cfg.context}: {sizes}")
    return Dataset(made["train"], made["val"], made["test"], num_classes=len(itos), vocabulary=itos)


def stream_order(n: int, streams: int) -> torch.Tensor:
    """Window indices for `streams` parallel streams: the windows split into `streams` runs of
    L = n // streams consecutive windows; batch k takes window k of every run (the last n % streams
    windows are left out), so row j of batch k + 1 continues row j of batch k."""
    length = n // streams
    return torch.arange(streams * length).view(streams, length).t().reshape(-1)


def streams(split: Split, batch_size: int) -> Split:
    """The training windows in stream order for a stateful model (read in order, batch_size a batch)."""
    width = min(batch_size, len(split))
    order = stream_order(len(split), width)
    if len(order) < len(split):
        log.info(
            f"model.stateful: {len(split) - len(order)} training windows left out so that {width} streams of"
            f" {len(order) // width} windows fill every batch"
        )
    return split.take(order.to(split.x.device))
