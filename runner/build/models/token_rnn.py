"""Recurrent language models (`rnn`, `lstm`, `gru` on token inputs, data=text):

token ids (B, T) -> Embedding (vocabulary x embedding_size) -> [dropout]
-> RNN/LSTM/GRU x num_layers (dropout between layers) -> [dropout]
-> Linear (hidden_size -> vocabulary): the next token's logits at every position (B, T, V)

model.tie_weights: the output layer's weight is the embedding matrix (Press & Wolf 2017; needs
embedding_size = hidden_size). model.stateful: in training, the hidden state at the end of one
batch starts the next (detached: back-propagation is truncated at the batch's window), which is
right when row j of each batch continues row j of the one before (runner/build/data/text.py,
`streams`, which assemble applies to the training windows; trainer.shuffle=false). The state is
dropped whenever the model's mode is set (model.train() at each epoch's start, model.eval() for
evaluation, which reads each window from a zero state) and when the batch size changes.

On classified texts (data=text_classification) the same names build TokenClassifier (below):
embedding -> recurrent layers -> pooling over the text's real tokens (model.pooling) -> Linear.
"""

from typing import Optional

import torch
from torch import nn

from runner.build.models.init import initialise, orthogonal_recurrent
from runner.build.models.layers import make_dropout
from runner.config.data.text_classification import PAD_ID
from runner.config.models.recurrent import RecurrentConfig, RNNConfig
from runner.errors import ConfigError


class TokenRNN(nn.Module):
    task = "language_model"

    def __init__(self, embedding: nn.Embedding, dropout: nn.Module, rnn: nn.RNNBase, head: nn.Linear, stateful: bool):
        super().__init__()
        self.embedding = embedding
        self.dropout = dropout
        self.rnn = rnn
        self.head = head
        self.stateful = stateful
        self._state: Optional[object] = None  # the last training batch's final state (stateful), detached

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        carried = self.stateful and self.training
        state = self._state if carried and _batch_of(self._state) == tokens.shape[0] else None
        outputs, final = self.rnn(self.dropout(self.embedding(tokens)), state)
        if carried:
            self._state = tuple(s.detach() for s in final) if isinstance(final, tuple) else final.detach()
        return self.head(self.dropout(outputs))

    def train(self, mode: bool = True) -> "TokenRNN":
        self._state = None  # each epoch, and each evaluation, starts from a zero state
        return super().train(mode)


def _batch_of(state) -> Optional[int]:
    if state is None:
        return None
    h = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c), each (layers, B, H)
    return h.shape[1]


def _embedded_rnn(kind, cfg: RecurrentConfig, reg):
    """(embedding width, dropout rate, the recurrent layers reading embedded tokens): what the
    language model and the text classifier share."""
    width = cfg.embedding_size or cfg.hidden_size
    rate = reg.dropout if cfg.dropout is None else cfg.dropout
    extra = {"nonlinearity": cfg.nonlinearity} if isinstance(cfg, RNNConfig) else {}
    dropout_between = rate if cfg.num_layers > 1 else 0.0
    rnn = kind(width, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True, dropout=dropout_between, **extra)
    return width, rate, rnn


def build_language_model(kind, cfg: RecurrentConfig, reg, vocabulary: int) -> TokenRNN:
    if cfg.bidirectional:
        raise ConfigError(
            "model.bidirectional",
            "a language model cannot read the text backwards (it would see the tokens it predicts); set it false",
        )
    width, rate, rnn = _embedded_rnn(kind, cfg, reg)
    head = nn.Linear(cfg.hidden_size, vocabulary)
    model = TokenRNN(nn.Embedding(vocabulary, width), make_dropout(rate, reg), rnn, head, cfg.stateful)
    initialise(model, cfg.init, getattr(cfg, "nonlinearity", "tanh"), output=head)
    if cfg.recurrent_init == "orthogonal":
        orthogonal_recurrent(rnn)
    if cfg.tie_weights:  # the output layer's weights: the embedding's, drawn small (PyTorch's word_language_model
        nn.init.uniform_(model.embedding.weight, -0.1, 0.1)  # example): N(0, 1) rows would start with huge logits
        head.weight = model.embedding.weight
    return model


class TokenClassifier(nn.Module):
    """Recurrent classifier of texts (data=text_classification): token ids (B, T), padded at the end
    with `padding` -> Embedding (the padding row zero and never trained) -> [dropout] -> RNN/LSTM/GRU
    -> pooling over the text's real tokens only: last (the output at its last real token, which a
    forward RNN reaches before any padding) or mean -> [dropout] -> Linear (the class scores)."""

    def __init__(self, embedding: nn.Embedding, dropout: nn.Module, rnn: nn.RNNBase, head: nn.Linear, pooling: str):
        super().__init__()
        self.embedding = embedding
        self.dropout = dropout
        self.rnn = rnn
        self.head = head
        self.pooling = pooling

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        real = tokens != self.embedding.padding_idx  # (B, T)
        outputs, _ = self.rnn(self.dropout(self.embedding(tokens)))  # (B, T, H)
        if self.pooling == "mean":
            weights = real.unsqueeze(-1).to(outputs.dtype)
            pooled = (outputs * weights).sum(1) / weights.sum(1).clamp(min=1)
        else:  # a text is its real tokens, then padding: the last real one is at (real tokens) - 1
            last = (real.sum(1) - 1).clamp(min=0)
            pooled = outputs[torch.arange(len(tokens), device=tokens.device), last]
        return self.head(self.dropout(pooled))


def build_token_classifier(kind, cfg: RecurrentConfig, reg, vocabulary: int, num_classes: int, padding: int = PAD_ID):
    for key, why in (
        ("bidirectional", "its backward pass would read the padding first"),
        ("tie_weights", "a classifier has no output over the vocabulary to tie"),
        ("stateful", "each text is read on its own"),
    ):
        if getattr(cfg, key):
            raise ConfigError(f"model.{key}", f"not for classifying texts ({why}); set it false")
    width, rate, rnn = _embedded_rnn(kind, cfg, reg)
    head = nn.Linear(cfg.hidden_size, num_classes)
    embedding = nn.Embedding(vocabulary, width, padding_idx=padding)
    model = TokenClassifier(embedding, make_dropout(rate, reg), rnn, head, cfg.pooling)
    initialise(model, cfg.init, getattr(cfg, "nonlinearity", "tanh"), output=head)
    if cfg.recurrent_init == "orthogonal":
        orthogonal_recurrent(rnn)
    return model
