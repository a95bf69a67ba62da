"""Schema of model=mlp; the network is built in runner/build/models/mlp.py."""

from dataclasses import dataclass, field
from typing import List, Optional

from runner.config.models.names import check_activation, check_init, check_rates
from runner.errors import require


@dataclass
class MLPConfig:
    name: str = "mlp"
    hidden_sizes: List[int] = field(default_factory=lambda: [128])
    activation: str = "relu"
    maxout_pieces: int = 2  # linear pieces per unit when activation is maxout
    init: str = "default"
    batch_norm: bool = False
    residual: bool = False
    dropout: Optional[List[float]] = None  # one rate per layer input; None = regularization's
    init_from: Optional[str] = None  # run folder of a trained autoencoder

    def __post_init__(self):
        require(
            all(h > 0 for h in self.hidden_sizes),
            "hidden_sizes",
            f"every layer needs at least 1 unit, got {list(self.hidden_sizes)}",
        )
        check_activation(self.activation, "activation")
        require(
            self.maxout_pieces >= 2, "maxout_pieces", f"at least 2 pieces per maxout unit, got {self.maxout_pieces}"
        )
        check_init(self.init, "init")
        if self.residual:
            require(
                len(set(self.hidden_sizes)) <= 1,
                "residual",
                f"skip connections need equal hidden widths, got {list(self.hidden_sizes)}",
            )
        check_rates(
            self.dropout, len(self.hidden_sizes) + 1, "dropout", "the input, then the output of each hidden layer"
        )
