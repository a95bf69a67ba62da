"""Schema of model=hrnn, the hierarchical recurrent classifier of images (Keras'
mnist_hierarchical_rnn example); built in runner/build/models/hrnn.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.models.names import RECURRENT_INITS, check_init
from runner.errors import require

CELLS = ("lstm", "gru", "rnn")


@dataclass
class HRNNConfig:
    name: str = "hrnn"
    cell: str = "lstm"  # the recurrent cell of both levels: lstm | gru | rnn (Elman, tanh)
    row_hidden: int = 128  # units of the vector each image row is read into (Keras' row_hidden)
    image_hidden: int = 128  # units of the vector the sequence of row vectors is read into (Keras' col_hidden)
    dropout: Optional[float] = None  # on the image vector before the classifier; None = regularization.dropout
    # Keras' LSTM defaults, which the example trains with: PyTorch's own init leaves the row vectors
    # of MNIST nearly alike (the zero pixels at each row's end wash the digit out) and the net at chance.
    init: str = "glorot_uniform"  # input-to-hidden weights of both levels and the classifier
    recurrent_init: str = "orthogonal"  # hidden-to-hidden weights: default | orthogonal
    forget_bias: float = 1.0  # lstm only: the forget gates' starting bias (Keras' unit_forget_bias); 0 = none

    def __post_init__(self):
        require(self.cell in CELLS, "cell", f"choose one of: {', '.join(CELLS)} (got '{self.cell}')")
        require(self.row_hidden >= 1, "row_hidden", f"at least 1 unit, got {self.row_hidden}")
        require(self.image_hidden >= 1, "image_hidden", f"at least 1 unit, got {self.image_hidden}")
        require(
            self.dropout is None or 0 <= self.dropout < 1,
            "dropout",
            f"a drop probability in [0, 1) (or null), got {self.dropout}",
        )
        require(0 <= self.forget_bias <= 10, "forget_bias", f"a bias in [0, 10], got {self.forget_bias}")
        check_init(self.init, "init")
        require(
            self.recurrent_init in RECURRENT_INITS,
            "recurrent_init",
            f"choose one of: {', '.join(RECURRENT_INITS)} (got '{self.recurrent_init}')",
        )
