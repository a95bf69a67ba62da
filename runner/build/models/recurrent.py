"""Recurrent classifiers (`rnn`, `lstm`, `gru`) reading an image as a sequence.

    image -> sequence (rows: H steps of C*W pixels; pixels: H*W steps of C values)
    -> [input dropout] -> RNN/LSTM/GRU x num_layers (dropout between layers)
    -> last hidden state of the top layer (both directions if bidirectional)
    -> [dropout] -> Linear (the class scores)
"""

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from runner.errors import require
from runner.build.models.init import INITS, RECURRENT_INITS, initialise, orthogonal_recurrent
from runner.build.models.layers import SEQUENCE_MODES, ImageToSequence, image_shape, make_dropout
from runner.build.models.registry import MODELS

NONLINEARITIES = ("tanh", "relu")


@dataclass
class RecurrentConfig:
    name: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    sequence: str = "rows"  # rows | pixels
    dropout: Optional[float] = None  # between stacked layers and before the classifier; None = regularization.dropout
    init: str = "default"  # input-to-hidden weights and the classifier
    recurrent_init: str = "default"  # hidden-to-hidden weights: default | orthogonal

    def __post_init__(self):
        require(self.hidden_size >= 1, "hidden_size", f"at least 1 unit, got {self.hidden_size}")
        require(self.num_layers >= 1, "num_layers", f"at least 1, got {self.num_layers}")
        require(self.sequence in SEQUENCE_MODES, "sequence", f"choose one of: {', '.join(SEQUENCE_MODES)} (got '{self.sequence}')")
        require(self.dropout is None or 0 <= self.dropout < 1, "dropout", f"a drop probability in [0, 1) (or null), got {self.dropout}")
        INITS.check(self.init, "init")
        require(self.recurrent_init in RECURRENT_INITS, "recurrent_init", f"choose one of: {', '.join(RECURRENT_INITS)} (got '{self.recurrent_init}')")


@dataclass
class RNNConfig(RecurrentConfig):
    name: str = "rnn"
    nonlinearity: str = "tanh"  # tanh | relu (Elman RNN only)

    def __post_init__(self):
        super().__post_init__()
        require(self.nonlinearity in NONLINEARITIES, "nonlinearity", f"choose one of: {', '.join(NONLINEARITIES)} (got '{self.nonlinearity}')")


@dataclass
class LSTMConfig(RecurrentConfig):
    name: str = "lstm"


@dataclass
class GRUConfig(RecurrentConfig):
    name: str = "gru"


class SequenceClassifier(nn.Module):
    def __init__(self, to_sequence: nn.Module, input_dropout: nn.Module, rnn: nn.RNNBase, dropout: nn.Module, head: nn.Linear):
        super().__init__()
        self.to_sequence = to_sequence
        self.input_dropout = input_dropout
        self.rnn = rnn
        self.dropout = dropout
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(self.input_dropout(self.to_sequence(x)))
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        directions = 2 if self.rnn.bidirectional else 1
        last = hidden[-directions:].transpose(0, 1).reshape(x.shape[0], -1)  # top layer, all directions
        return self.head(self.dropout(last))


def _build(kind, cfg: RecurrentConfig, reg, input_shape, num_outputs) -> nn.Module:
    channels, height, width = image_shape(input_shape, cfg.name)
    features = channels * width if cfg.sequence == "rows" else channels
    rate = reg.dropout if cfg.dropout is None else cfg.dropout
    extra = {"nonlinearity": cfg.nonlinearity} if isinstance(cfg, RNNConfig) else {}
    rnn = kind(
        features,
        cfg.hidden_size,
        num_layers=cfg.num_layers,
        batch_first=True,
        bidirectional=cfg.bidirectional,
        dropout=rate if cfg.num_layers > 1 else 0.0,  # PyTorch's dropout acts between layers only
        **extra,
    )
    head = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), num_outputs)
    model = SequenceClassifier(ImageToSequence(cfg.sequence), make_dropout(reg.input_dropout, reg), rnn, make_dropout(rate, reg), head)
    initialise(model, cfg.init, getattr(cfg, "nonlinearity", "tanh"), output=head)
    if cfg.recurrent_init == "orthogonal":
        orthogonal_recurrent(rnn)
    return model


@MODELS.register("rnn", schema=RNNConfig)
def build_rnn(cfg, reg, input_shape, num_outputs):
    return _build(nn.RNN, cfg, reg, input_shape, num_outputs)


@MODELS.register("lstm", schema=LSTMConfig)
def build_lstm(cfg, reg, input_shape, num_outputs):
    return _build(nn.LSTM, cfg, reg, input_shape, num_outputs)


@MODELS.register("gru", schema=GRUConfig)
def build_gru(cfg, reg, input_shape, num_outputs):
    return _build(nn.GRU, cfg, reg, input_shape, num_outputs)
