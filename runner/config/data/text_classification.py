"""Schema of `data=text_classification`: a CSV or TSV table with a header line, a text column
(data.text_column) and a label column (data.label_column), one example a row. Each text becomes
data.max_length token ids (tokens as data=text reads them: runner/config/data/text_corpus.py),
truncated or padded with the padding id; its label a class 0..C-1. Split as data=csv splits
(seeded, stratified: runner/build/data/own_split.py); the vocabulary is the training split's.
The loader is runner/build/data/text_classification.py.

Labels: integers are the classes themselves (0..C-1, C = the largest + 1 or data.num_classes);
any other label makes every label a name, and the names in sorted order are classes 0..C-1 (the
run folder keeps them: labels.json).

shape() is ((max_length,), C): the config check reads the table once (the csv module; memoised
per file identity) and refuses here, before any run folder, a file that is not UTF-8, a missing
column (naming the columns it has), a row without a text or a label, and a single class."""

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from runner.config.data.csv import read_as_text
from runner.config.data.own_files import KEY, OwnSplitConfig, identity, regular_file
from runner.config.data.text_corpus import TOKENISATIONS
from runner.errors import ConfigError, require

TAB_EXTENSIONS = (".tsv", ".tab")
PADDING = "<pad>"  # the token that fills a text up to max_length
PAD_ID = 1  # its id; id 0 stays the unknown token, as in data=text (vocab.json: "unknown": 0)


@dataclass
class TextClassificationConfig(OwnSplitConfig):
    name: str = "text_classification"
    text_column: str = "text"  # the column of texts
    label_column: str = "label"  # the column of labels: integers 0..C-1, or names (sorted -> 0..C-1)
    delimiter: Optional[str] = None  # null: a tab for .tsv/.tab files, else a comma
    tokens: str = "word"  # word (lower-cased, punctuation split off) | char
    vocab_size: Optional[int] = (
        None  # null: every training token + unknown + padding; n: the n - 2 most frequent + those two
    )
    max_length: int = 64  # tokens per text: longer texts are cut, shorter ones padded with the padding id (1)

    INPUTS = "tokens"  # token ids (int64): models embed them
    WHAT = "give data.path=<file.csv|.tsv> (a header line, a text column and a label column)"

    def __post_init__(self):
        super().__post_init__()
        require(
            self.tokens in TOKENISATIONS, "tokens", f"choose one of: {', '.join(TOKENISATIONS)} (got '{self.tokens}')"
        )
        require(
            self.vocab_size is None or self.vocab_size >= 3,
            "vocab_size",
            f"at least 3 (unknown, padding and a token) or null, got {self.vocab_size}",
        )
        require(self.max_length >= 1, "max_length", f"at least 1 token, got {self.max_length}")
        require(
            self.delimiter is None or len(self.delimiter) == 1,
            "delimiter",
            f"one character (or null: from the file's extension), got {self.delimiter!r}",
        )
        require(self.text_column != self.label_column, "label_column", "must differ from data.text_column")

    def separator(self, path: Path) -> str:
        if self.delimiter is not None:
            return self.delimiter
        return "\t" if path.suffix.lower() in TAB_EXTENSIONS else ","

    def table(self) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
        """(texts, labels as written), every row checked; read once per file identity."""
        path = regular_file(self.path)
        with read_as_text(path):
            return _table(identity(path), self.separator(path), self.text_column, self.label_column)

    def classes(self) -> Tuple[Optional[List[str]], List[int]]:
        """(label names, or None for integer labels; each row's class 0..C-1)."""
        _, labels = self.table()
        numbers = _integers(labels)
        if numbers is not None:
            return None, numbers
        names = sorted(set(labels))
        index = {name: i for i, name in enumerate(names)}
        return names, [index[label] for label in labels]

    def shape(self):
        names, ids = self.classes()
        where = f"{self.path}, column '{self.label_column}'"
        if len(set(ids)) < 2:
            raise ConfigError(
                KEY, f"{where}: every row has the label {self.table()[1][0]!r}; a classifier needs two classes or more"
            )
        if names is None:
            return (self.max_length,), self.classes_of(max(ids), where)
        if self.num_classes is not None and self.num_classes != len(names):
            raise ConfigError(
                "data.num_classes",
                f"{self.num_classes}, but {where} holds {len(names)} label names; leave it null",
            )
        return (self.max_length,), len(names)


def _integers(labels) -> Optional[List[int]]:
    """The labels as class numbers when every one is a non-negative integer, else None (names)."""
    if not all(label.isdigit() for label in labels):
        return None
    return [int(label) for label in labels]


@functools.lru_cache(maxsize=8)
def _table(key: Tuple[str, int, int], delimiter: str, text_column: str, label_column: str):
    path = key[0]
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f, delimiter=delimiter)
        names = [name.strip() for name in next(rows, [])]
        if not any(names):
            raise ConfigError(KEY, f"{path}: empty, or its first line is; a table here starts with a header line")
        missing = [c for c in (text_column, label_column) if c not in names]
        if missing:
            key = "data.text_column" if text_column in missing else "data.label_column"
            shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
            raise ConfigError(
                key,
                f"{path} has no column {', '.join(repr(c) for c in missing)} (its columns, delimiter {delimiter!r}:"
                f" {shown}); name the columns with data.text_column and data.label_column",
            )
        at_text, at_label = names.index(text_column), names.index(label_column)
        texts, labels = [], []
        for row in rows:
            if not row:
                continue
            where = f"{path}, line {rows.line_num}"
            if len(row) <= max(at_text, at_label):
                raise ConfigError(KEY, f"{where}: {len(row)} cells, but the header names {len(names)} columns")
            text, label = row[at_text], row[at_label].strip()
            if not text.strip():
                raise ConfigError(
                    KEY, f"{where}: the text (column '{text_column}') is empty; remove the row or fill it"
                )
            if not label:
                raise ConfigError(
                    KEY, f"{where}: the label (column '{label_column}') is empty; remove the row or fill it"
                )
            if "\x00" in text:
                raise ConfigError(KEY, f"{where}: holds a NUL byte, so it is binary, not text; give a UTF-8 CSV or TSV")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise ConfigError(KEY, f"{path}: no rows below the header; give at least one example")
    return tuple(texts), tuple(labels)


def classifies_tokens(data_cfg) -> bool:
    """Whether a data config's token ids are classified (one label a text), not modelled token by token."""
    return isinstance(data_cfg, TextClassificationConfig)
