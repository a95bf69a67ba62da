"""`data=text_classification`: a table of texts and labels as token ids, one row an example
(runner/config/data/text_classification.py reads and checks the table).

Split as data=csv splits (runner/build/data/own_split.py: seeded, stratified by class). The texts
are cut into tokens as data=text cuts them (text_corpus.tokenise) and the vocabulary is built as
data=text builds it (text_corpus.vocabulary: id 0 the unknown token, then the training split's
tokens, most frequent first), with the padding token PADDING put at id 1: a token of a
validation or test text the training texts lack is 0. Each text is its first data.max_length
token ids, followed by PAD_ID up to max_length. x (N, max_length) int64, y (N,) int64 classes.

Encoded once a process per table identity and settings (the preflight's pass is the run's):
no disk cache, because reading is fast: 100,000 rows of 6-21 words (7.8 MB) read and checked in
0.13 s, split, tokenised and encoded in 1.2 s (characters: 1.5 s) on the loaded 2-core VM
(2026-12-07); a disk cache would still rebuild the vocabulary, the larger part of that."""

import collections
import dataclasses
import logging
from typing import List, Sequence

import numpy as np
import torch

from runner.build.data.own_split import carve, log_sizes
from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split
from runner.config.data.own_files import identity, regular_file
from runner.config.data.text_classification import PAD_ID, PADDING, TextClassificationConfig
from runner.config.data.text_corpus import tokenise, vocabulary

log = logging.getLogger("runner")

SPLITS = ("train", "val", "test")


def text_tokens(text: str, tokens: str) -> List[str]:
    """One text's tokens as strings (text_corpus.tokenise gives characters as code points)."""
    items = tokenise(text, tokens)
    return [chr(c) for c in items.tolist()] if tokens == "char" else items


def training_vocabulary(token_lists: Sequence[List[str]], vocab_size) -> List[str]:
    """id -> token: unknown, padding, then the training texts' tokens, most frequent first
    (ties in the order of the tokens), vocab_size in all (null: every one)."""
    counts = collections.Counter(t for tokens in token_lists for t in tokens)
    ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    itos = vocabulary(ordered, None if vocab_size is None else vocab_size - 1)
    return itos[:1] + [PADDING] + itos[1:]


def encode(token_lists: Sequence[List[str]], itos: List[str], length: int) -> np.ndarray:
    """(N, length) int64: each text's first `length` ids (unknown: 0), then PAD_ID."""
    ids = {token: i for i, token in enumerate(itos) if i != PAD_ID}
    x = np.full((len(token_lists), length), PAD_ID, dtype=np.int64)
    for row, tokens in enumerate(token_lists):
        cut = tokens[:length]
        x[row, : len(cut)] = [ids.get(t, 0) for t in cut]
    return x


_memo: dict = {}  # (settings, file identity) -> what _encoded returned; a few tables a process


def _encoded(cfg: TextClassificationConfig):
    texts, _ = cfg.table()
    names, classes = cfg.classes()
    y = np.asarray(classes, dtype=np.int64)
    rows = carve(y, {"val": cfg.val_fraction, "test": cfg.test_fraction}, cfg.split_seed, str(cfg.path))
    token_lists = [text_tokens(t, cfg.tokens) for t in texts]
    itos = training_vocabulary([token_lists[i] for i in rows["train"]], cfg.vocab_size)
    x = encode(token_lists, itos, cfg.max_length)
    cut = sum(len(t) > cfg.max_length for t in token_lists)
    return {name: (x[r], y[r]) for name, r in rows.items()}, itos, names, cut


def encoded_splits(cfg: TextClassificationConfig):
    """({split: (x, y)}, vocabulary, label names or None, texts cut), checked by shape() first."""
    cfg.shape()  # the checks (one class, labels out of range) again: the file may have changed
    key = (dataclasses.astuple(cfg), identity(regular_file(cfg.path)))
    if key not in _memo:
        if len(_memo) >= 4:
            _memo.clear()
        _memo[key] = _encoded(cfg)
    return _memo[key]


def prepare_text_classification(cfg) -> None:
    """For the preflight: the table read, checked and encoded before any run folder exists."""
    if isinstance(cfg, TextClassificationConfig):
        encoded_splits(cfg)


@DATASETS.register("text_classification")
def load_text_classification(cfg: TextClassificationConfig) -> Dataset:
    splits, itos, names, cut = encoded_splits(cfg)
    _, num_classes = cfg.shape()
    made = {
        s: Split(torch.from_numpy(x.copy()), torch.from_numpy(y.copy()), tokens=cfg.tokens)
        for s, (x, y) in splits.items()
    }
    log_sizes(str(cfg.path), {s: len(made[s]) for s in SPLITS}, ["val", "test"])
    log.info(
        f"text classification {cfg.path}: {len(itos):,} {cfg.tokens} tokens in the vocabulary (padding id {PAD_ID});"
        f" {cut} of {sum(len(s) for s in made.values())} texts cut to data.max_length={cfg.max_length}"
    )
    return Dataset(
        made["train"], made["val"], made["test"], num_classes=num_classes, vocabulary=itos, class_names=names
    )
