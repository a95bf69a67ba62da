"""A UTF-8 text file read as a sequence of tokens, cut by position into train/val/test, and the
vocabulary of its training part: what `data=text` (runner/config/data/text.py) knows before any
tensor exists. Pure Python and numpy (the config floor imports no torch); the loader
(runner/build/data/text.py) encodes the tokens with this vocabulary.

Tokens:
    char   every character (newlines and spaces included) is a token
    word   the text lower-cased, then cut by the regular expression  \\w+|[^\\w\\s]  : runs of
           letters/digits/underscore are words, every other non-space character (punctuation)
           is a token of its own, whitespace separates tokens and is dropped
           ("Don't stop!" -> don ' t stop !)

The vocabulary: id 0 is the unknown token UNKNOWN (a token of validation or test text the
training text lacks, or one beyond data.vocab_size); ids 1.. are the training part's tokens,
most frequent first (ties in the order of the tokens themselves), at most data.vocab_size - 1."""

import collections
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from runner.errors import ConfigError

KEY = "data.path"
UNKNOWN = "<unk>"
WORD = re.compile(r"\w+|[^\w\s]")
TOKENISATIONS = ("char", "word")
PARTS = ("train", "val", "test")


def read_text(path: Path) -> str:
    """The file as text, or ConfigError (empty, binary, not UTF-8). A UTF-8 byte-order mark is dropped."""
    data = path.read_bytes()
    if not data:
        raise ConfigError(KEY, f"{path} is empty; give a text file with the corpus to learn")
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise ConfigError(
            KEY, f"{path} holds a NUL byte (offset {at}): a binary file, not text; give a UTF-8 text file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(
            KEY,
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}: {err.reason});"
            " convert it, e.g. iconv -f latin1 -t utf-8",
        ) from None


def tokenise(text: str, tokens: str) -> Sequence:
    """The text's tokens: a numpy array of code points (char: fast at any size), or a list of words."""
    if tokens == "char":
        return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return WORD.findall(text.lower())


def cuts(n: int, train_fraction: float, val_fraction: float) -> Tuple[int, int]:
    """Where train ends and val ends, in tokens: train the first train_fraction, val the next val_fraction, test the rest."""
    train_end = int(n * train_fraction)
    return train_end, train_end + int(n * val_fraction)


@dataclass(frozen=True)
class Corpus:
    """What the config check needs of a text: its size in tokens, each part's, the training counts."""

    n_tokens: int
    part_tokens: Tuple[int, int, int]  # train, val, test
    counts: Tuple[Tuple[str, int], ...]  # the training part's tokens, most frequent first


@functools.lru_cache(maxsize=16)
def corpus(identity: Tuple[str, int, int], tokens: str, train_fraction: float, val_fraction: float) -> Corpus:
    """Read once per process for a file unchanged since (identity: path, size, mtime)."""
    items = tokenise(read_text(Path(identity[0])), tokens)
    n = len(items)
    train_end, val_end = cuts(n, train_fraction, val_fraction)
    if tokens == "char":
        values, numbers = np.unique(items[:train_end], return_counts=True)
        counted = [(chr(int(v)), int(c)) for v, c in zip(values, numbers)]
    else:
        counted = list(collections.Counter(items[:train_end]).items())
    counted.sort(key=lambda pair: (-pair[1], pair[0]))
    return Corpus(n, (train_end, val_end - train_end, n - val_end), tuple(counted))


def vocabulary(counts: Sequence[Tuple[str, int]], vocab_size) -> List[str]:
    """id -> token: UNKNOWN, then the most frequent training tokens (vocab_size - 1 of them; null: all)."""
    keep = len(counts) if vocab_size is None else vocab_size - 1
    return [UNKNOWN] + [token for token, _ in counts[:keep]]


def prompt_ids(prompt: str, itos: Sequence[str], tokens: str, key: str = "sample.prompt") -> List[int]:
    """The prompt as token ids, or ConfigError naming every token the vocabulary lacks."""
    items = list(prompt) if tokens == "char" else WORD.findall(prompt.lower())
    ids = {token: i for i, token in enumerate(itos) if i}  # never the unknown token
    missing = sorted({t for t in items if t not in ids})
    if missing:
        shown = ", ".join(repr(t) for t in missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise ConfigError(
            key,
            f"holds {'characters' if tokens == 'char' else 'words'} outside the run's vocabulary: {shown}; use tokens of the training text",
        )
    return [ids[t] for t in items]


def detokenise(items: Sequence[str], tokens: str) -> str:
    """Tokens back to text: characters joined as they are, words with a space between."""
    return ("" if tokens == "char" else " ").join(items)
