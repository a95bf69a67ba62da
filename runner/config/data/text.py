"""Schema of `data=text`: a UTF-8 text file (data.path) for language modelling, read as characters
or words (runner/config/data/text_corpus.py says how), cut by position: the first train_fraction
of its tokens train, the next val_fraction validate, the rest test. Each split is a run of
consecutive non-overlapping windows of data.context tokens, in the text's order; an example's
target is its window shifted by one token (the next token at every position).

shape() is ((context,), vocabulary size): the config check reads the file once (pure Python and
numpy, memoised per file identity) and refuses here, before any run folder, an empty, binary or
non-UTF-8 file, a part too short for one window, and a vocab_size above what the text holds.
The loader is runner/build/data/text.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.data.own_files import KEY, identity, regular_file
from runner.config.data.text_corpus import PARTS, TOKENISATIONS, Corpus, corpus
from runner.errors import ConfigError, require

PART_NAMES = {"train": "training", "val": "validation", "test": "test"}


@dataclass
class TextConfig:
    name: str = "text"
    path: Optional[str] = None  # the UTF-8 text file (required); relative to the folder runner starts in
    tokens: str = "char"  # char | word (lower-cased, punctuation split off)
    vocab_size: Optional[int] = (
        None  # null: every training token + the unknown token; else the most frequent n - 1 + unknown
    )
    context: int = 64  # tokens per training window (the length back-propagation sees)
    train_fraction: float = 0.9  # the first 90% of the tokens train
    val_fraction: float = 0.05  # the next 5% validate; the rest (5%) tests

    INPUTS = "tokens"  # the inputs are token ids (int64), not values: models embed them

    def __post_init__(self):
        require(self.path is not None and str(self.path).strip() != "", "path", "not set: give data.path=<file.txt>")
        require(
            self.tokens in TOKENISATIONS, "tokens", f"choose one of: {', '.join(TOKENISATIONS)} (got '{self.tokens}')"
        )
        require(
            self.vocab_size is None or self.vocab_size >= 2,
            "vocab_size",
            f"at least 2 (or null), got {self.vocab_size}",
        )
        require(self.context >= 1, "context", f"at least 1 token, got {self.context}")
        require(0 < self.train_fraction < 1, "train_fraction", f"between 0 and 1, got {self.train_fraction}")
        require(0 < self.val_fraction < 1, "val_fraction", f"between 0 and 1, got {self.val_fraction}")
        require(
            self.train_fraction + self.val_fraction < 1,
            "val_fraction",
            f"train_fraction + val_fraction = {self.train_fraction + self.val_fraction:g} leaves no test text; keep it below 1",
        )

    def corpus(self) -> Corpus:
        path = regular_file(self.path, what="text file")
        return corpus(identity(path), self.tokens, self.train_fraction, self.val_fraction)

    def shape(self):
        """((context,), vocabulary size), after checking the text holds a window in every part."""
        text = self.corpus()
        unit = "characters" if self.tokens == "char" else "words"
        for part, n in zip(PARTS, text.part_tokens):
            if n < self.context + 1:  # a window and the token after it
                share = f"{100 * self.fraction(part):g}%"
                raise ConfigError(
                    KEY,
                    f"{self.path} holds {text.n_tokens} {unit}: its {PART_NAMES[part]} part ({share}, {n} {unit}) is"
                    f" shorter than one window of data.context={self.context} + 1; give a longer text or a smaller data.context",
                )
        distinct = len(text.counts)
        if self.vocab_size is not None and self.vocab_size > distinct + 1:
            raise ConfigError(
                "data.vocab_size",
                f"{self.vocab_size} is larger than the vocabulary of {self.path}'s training part ({distinct} distinct"
                f" {unit} + 1 unknown token = {distinct + 1}); use at most {distinct + 1}, or null",
            )
        return (self.context,), (distinct + 1 if self.vocab_size is None else self.vocab_size)

    def fraction(self, part: str) -> float:
        return {"train": self.train_fraction, "val": self.val_fraction}.get(
            part, 1 - self.train_fraction - self.val_fraction
        )


def reads_tokens(data_cfg) -> bool:
    """Whether a data config's inputs are token ids (data=text), which models embed."""
    return getattr(type(data_cfg), "INPUTS", "values") == "tokens"
