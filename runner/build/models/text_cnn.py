"""model=text_cnn: Kim's (2014) CNN for sentence classification, trained from scratch (his CNN-rand):

token ids (B, T) -> Embedding (vocabulary x embedding_size; the padding row zero, never trained)
-> for each filter width w: Conv1d (embedding_size -> maps, width w) -> ReLU
   -> max over time, over the windows that start on a real token (a short text's padding tail is
      not a position; a text shorter than w keeps its one window, padding included)
-> the maxima of every width concatenated (len(widths) x maps) -> dropout -> Linear (the class scores)

Kim's max-norm constraint on the classifier's weights (s = 3) is left out: regularization.l2 or
dropout are the regularizers here."""

from typing import List

import torch
from torch import nn

from runner.build.models.init import initialise
from runner.build.models.layers import make_dropout
from runner.build.models.registry import MODELS
from runner.config.data.text_classification import PAD_ID
from runner.config.models.text_cnn import TextCNNConfig
from runner.errors import ConfigError


class TextCNN(nn.Module):
    def __init__(self, embedding: nn.Embedding, convs: List[nn.Conv1d], dropout: nn.Module, head: nn.Linear):
        super().__init__()
        self.embedding = embedding
        self.convs = nn.ModuleList(convs)
        self.dropout = dropout
        self.head = head

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = (tokens != self.embedding.padding_idx).sum(1, keepdim=True)  # (B, 1) real tokens
        embedded = self.embedding(tokens).transpose(1, 2)  # (B, E, T): channels are the embedding
        pooled = []
        for conv in self.convs:
            maps = torch.relu(conv(embedded))  # (B, maps, T - w + 1)
            starts = torch.arange(maps.shape[-1], device=tokens.device)
            real = starts < (length - conv.kernel_size[0] + 1).clamp(min=1)  # (B, positions)
            pooled.append(maps.masked_fill(~real.unsqueeze(1), float("-inf")).amax(-1))
        return self.head(self.dropout(torch.cat(pooled, 1)))


@MODELS.register("text_cnn")
def build_text_cnn(cfg: TextCNNConfig, reg, input_shape, num_outputs, vocabulary=None):
    """No `tokens` argument: it reads no language-model windows (data=text refuses it, naming the models that do)."""
    if vocabulary is None:
        raise ConfigError(
            "model.name",
            "text_cnn classifies texts (data=text_classification); for images use model=cnn",
        )
    (length,) = input_shape
    if max(cfg.widths) > length:
        raise ConfigError(
            "model.widths",
            f"a filter {max(cfg.widths)} tokens wide is longer than data.max_length={length}; use narrower filters or a larger data.max_length",
        )
    embedding = nn.Embedding(vocabulary, cfg.embedding_size, padding_idx=PAD_ID)
    convs = [nn.Conv1d(cfg.embedding_size, cfg.maps, int(w)) for w in cfg.widths]
    rate = reg.dropout if cfg.dropout is None else cfg.dropout
    head = nn.Linear(len(convs) * cfg.maps, num_outputs)
    model = TextCNN(embedding, convs, make_dropout(rate, reg), head)
    initialise(model, cfg.init, "relu", output=head)
    return model
