"""The hierarchical recurrent classifier (`hrnn`), after Keras' mnist_hierarchical_rnn example.

image (C, H, W) -> [input dropout]
-> row level: every row, read as W steps of C values (a row of C*W values), by one recurrent net
   shared by all rows; its last hidden state is the row's vector (row_hidden values)
-> image level: the H row vectors, read top to bottom by a second recurrent net; its last
   hidden state is the image's vector (image_hidden values)
-> [dropout] -> Linear (the class scores)

The rows of a batch are read as one batch of N*H sequences, so the row level costs one call.
"""

import torch
from torch import nn

from runner.build.models.init import initialise, orthogonal_recurrent
from runner.build.models.layers import image_shape, make_dropout
from runner.build.models.registry import MODELS
from runner.config.models.hrnn import HRNNConfig

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def last_hidden(rnn: nn.RNNBase, sequences: torch.Tensor) -> torch.Tensor:
    """The last hidden state of a one-layer, one-direction net over (batch, steps, features)."""
    _, state = rnn(sequences)
    hidden = state[0] if isinstance(state, tuple) else state  # an LSTM returns (h, c)
    return hidden[-1]


class HierarchicalRNN(nn.Module):
    def __init__(self, rows: nn.RNNBase, image: nn.RNNBase, input_dropout: nn.Module, dropout: nn.Module, head):
        super().__init__()
        self.input_dropout = input_dropout
        self.rows = rows
        self.image = image
        self.dropout = dropout
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        pixels = self.input_dropout(x).permute(0, 2, 3, 1).reshape(n * h, w, c)  # N*H rows of W steps of C
        row_vectors = last_hidden(self.rows, pixels).reshape(n, h, -1)
        return self.head(self.dropout(last_hidden(self.image, row_vectors)))


@MODELS.register("hrnn")
def build_hrnn(cfg: HRNNConfig, reg, input_shape, num_outputs) -> nn.Module:
    channels, _, _ = image_shape(input_shape, cfg.name)  # a 1-D signal (C, L) has no rows to read
    cell = CELLS[cfg.cell]
    rows = cell(channels, cfg.row_hidden, batch_first=True)
    image = cell(cfg.row_hidden, cfg.image_hidden, batch_first=True)
    head = nn.Linear(cfg.image_hidden, num_outputs)
    rate = reg.dropout if cfg.dropout is None else cfg.dropout
    model = HierarchicalRNN(rows, image, make_dropout(reg.input_dropout, reg), make_dropout(rate, reg), head)
    initialise(model, cfg.init, "tanh", output=head)
    for rnn in (rows, image):
        if cfg.recurrent_init == "orthogonal":
            orthogonal_recurrent(rnn)
        if cfg.cell == "lstm" and cfg.forget_bias:
            start_forgetting_late(rnn, cfg.forget_bias)
    return model


def start_forgetting_late(lstm: nn.LSTM, bias: float) -> None:
    """Forget gates' total bias = `bias` (PyTorch adds two bias vectors; gates in order i, f, g, o),
    so the cell keeps its memory at the start instead of halving it every step."""
    hidden = lstm.hidden_size
    with torch.no_grad():
        lstm.bias_ih_l0[hidden : 2 * hidden] = bias
        lstm.bias_hh_l0[hidden : 2 * hidden] = 0.0
