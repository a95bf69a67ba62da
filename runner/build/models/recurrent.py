"""Recurrent classifiers (`rnn`, `lstm`, `gru`) reading an image or a 1-D signal as a sequence;
with token inputs (data=text) the same names build language models, and with classified token
inputs (data=text_classification, `vocabulary` given) text classifiers (runner/build/models/token_rnn.py).

image -> sequence (rows: H steps of C*W pixels; pixels: H*W steps of C values);
signal (C, L) -> L steps of C values (MNIST-1D: 40 steps of 1)
-> [input dropout] -> RNN/LSTM/GRU x num_layers (dropout between layers)
-> readout: last: the last hidden state of the top layer (both directions if bidirectional);
   all_steps: the top layer's outputs at every step, concatenated (MNIST-1D's GRU baseline)
-> [dropout] -> Linear (the class scores)
"""

import torch
from torch import nn

from runner.build.models.init import initialise, orthogonal_recurrent
from runner.build.models.layers import ImageToSequence, make_dropout, signal_or_image_shape
from runner.build.models.registry import MODELS
from runner.build.models.token_rnn import build_language_model, build_token_classifier
from runner.config.models.recurrent import RecurrentConfig, RNNConfig
from runner.errors import ConfigError


class SequenceClassifier(nn.Module):
    def __init__(
        self,
        to_sequence: nn.Module,
        input_dropout: nn.Module,
        rnn: nn.RNNBase,
        dropout: nn.Module,
        head: nn.Linear,
        readout: str = "last",
    ):
        super().__init__()
        self.readout = readout
        self.to_sequence = to_sequence
        self.input_dropout = input_dropout
        self.rnn = rnn
        self.dropout = dropout
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, state = self.rnn(self.input_dropout(self.to_sequence(x)))
        if self.readout == "all_steps":
            return self.head(self.dropout(outputs.reshape(x.shape[0], -1)))
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        directions = 2 if self.rnn.bidirectional else 1
        last = hidden[-directions:].transpose(0, 1).reshape(x.shape[0], -1)  # top layer, all directions
        return self.head(self.dropout(last))


def _build(kind, cfg: RecurrentConfig, reg, input_shape, num_outputs, tokens: bool = False, vocabulary=None):
    if vocabulary is not None:  # texts to classify (data=text_classification)
        return build_token_classifier(kind, cfg, reg, vocabulary, num_outputs)
    if cfg.pooling != "last":
        raise ConfigError(
            "model.pooling",
            "pools a text's tokens (data=text_classification); images and language models do not pool: set it last",
        )
    if tokens:
        return build_language_model(kind, cfg, reg, num_outputs)
    for key in ("tie_weights", "stateful"):
        if getattr(cfg, key):
            raise ConfigError(
                f"model.{key}", "only for token inputs (data=text), which a language model reads; set it false"
            )
    shape = signal_or_image_shape(input_shape, cfg.name)
    if len(shape) == 2:  # a signal (C, L): L steps of C values
        features, steps = shape
    else:
        channels, height, width = shape
        features, steps = (channels * width, height) if cfg.sequence == "rows" else (channels, height * width)
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
    width = cfg.hidden_size * (2 if cfg.bidirectional else 1) * (steps if cfg.readout == "all_steps" else 1)
    head = nn.Linear(width, num_outputs)
    model = SequenceClassifier(
        ImageToSequence(cfg.sequence),
        make_dropout(reg.input_dropout, reg),
        rnn,
        make_dropout(rate, reg),
        head,
        cfg.readout,
    )
    initialise(model, cfg.init, getattr(cfg, "nonlinearity", "tanh"), output=head)
    if cfg.recurrent_init == "orthogonal":
        orthogonal_recurrent(rnn)
    return model


@MODELS.register("rnn")
def build_rnn(cfg, reg, input_shape, num_outputs, tokens: bool = False, vocabulary=None):
    return _build(nn.RNN, cfg, reg, input_shape, num_outputs, tokens, vocabulary)


@MODELS.register("lstm")
def build_lstm(cfg, reg, input_shape, num_outputs, tokens: bool = False, vocabulary=None):
    return _build(nn.LSTM, cfg, reg, input_shape, num_outputs, tokens, vocabulary)


@MODELS.register("gru")
def build_gru(cfg, reg, input_shape, num_outputs, tokens: bool = False, vocabulary=None):
    return _build(nn.GRU, cfg, reg, input_shape, num_outputs, tokens, vocabulary)
