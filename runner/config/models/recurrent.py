"""Schemas of the recurrent models (model=rnn|lstm|gru): classifiers of images and signals, language
models of token ids (data=text); built in runner/build/models/recurrent.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.models.names import RECURRENT_INITS, SEQUENCE_MODES, check_init
from runner.errors import require

NONLINEARITIES = ("tanh", "relu")
READOUTS = ("last", "all_steps")
POOLINGS = ("last", "mean")


@dataclass
class RecurrentConfig:
    name: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    sequence: str = "rows"  # images: rows | pixels; a 1-D signal (C, L) is always read as L steps of C values
    readout: str = "last"  # last: the top layer's last hidden state; all_steps: its outputs at every step, concatenated
    dropout: Optional[float] = None  # between stacked layers and before the classifier; None = regularization.dropout
    init: str = "default"  # input-to-hidden weights and the classifier
    recurrent_init: str = "default"  # hidden-to-hidden weights: default | orthogonal
    # Token inputs (data=text): a language model, the next token's logits at every position.
    embedding_size: Optional[int] = None  # width of the token embedding; null = hidden_size
    tie_weights: bool = False  # the output layer shares the embedding's weights (needs embedding_size = hidden_size)
    stateful: bool = False  # carry the hidden state from batch to batch (truncated BPTT; needs trainer.shuffle=false)
    # Classified token ids (data=text_classification): what of the outputs the classifier reads.
    pooling: str = "last"  # last: the output at the text's last real token; mean: the mean over its real tokens

    def __post_init__(self):
        require(self.hidden_size >= 1, "hidden_size", f"at least 1 unit, got {self.hidden_size}")
        require(self.num_layers >= 1, "num_layers", f"at least 1, got {self.num_layers}")
        require(
            self.sequence in SEQUENCE_MODES,
            "sequence",
            f"choose one of: {', '.join(SEQUENCE_MODES)} (got '{self.sequence}')",
        )
        require(self.pooling in POOLINGS, "pooling", f"choose one of: {', '.join(POOLINGS)} (got '{self.pooling}')")
        require(self.readout in READOUTS, "readout", f"choose one of: {', '.join(READOUTS)} (got '{self.readout}')")
        require(
            self.dropout is None or 0 <= self.dropout < 1,
            "dropout",
            f"a drop probability in [0, 1) (or null), got {self.dropout}",
        )
        require(
            self.embedding_size is None or self.embedding_size >= 1,
            "embedding_size",
            f"at least 1 (or null: hidden_size), got {self.embedding_size}",
        )
        require(
            not self.tie_weights or self.embedding_size in (None, self.hidden_size),
            "tie_weights",
            f"needs embedding_size = hidden_size (the output layer reuses the embedding matrix), got embedding_size={self.embedding_size}"
            f" and hidden_size={self.hidden_size}; set them equal, or tie_weights=false",
        )
        check_init(self.init, "init")
        require(
            self.recurrent_init in RECURRENT_INITS,
            "recurrent_init",
            f"choose one of: {', '.join(RECURRENT_INITS)} (got '{self.recurrent_init}')",
        )


@dataclass
class RNNConfig(RecurrentConfig):
    name: str = "rnn"
    nonlinearity: str = "tanh"  # tanh | relu (Elman RNN only)

    def __post_init__(self):
        super().__post_init__()
        require(
            self.nonlinearity in NONLINEARITIES,
            "nonlinearity",
            f"choose one of: {', '.join(NONLINEARITIES)} (got '{self.nonlinearity}')",
        )


@dataclass
class LSTMConfig(RecurrentConfig):
    name: str = "lstm"


@dataclass
class GRUConfig(RecurrentConfig):
    name: str = "gru"
