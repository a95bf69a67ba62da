"""Schema of model=transformer, a small decoder-only (GPT) language model in nanoGPT's
convention; built in runner/build/models/transformer.py. It reads token ids (data=text)."""

from dataclasses import dataclass
from typing import Optional

from runner.errors import require


@dataclass
class TransformerConfig:
    name: str = "transformer"
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block (n_embd must divide by it)
    n_embd: int = 128  # width of the token vectors and of every block
    block_size: int = 128  # positions with a learned embedding: the longest window (data.context) it reads
    dropout: Optional[float] = (
        None  # on the embeddings, attention weights and residual branches; None = regularization.dropout
    )
    bias: bool = True  # biases in the Linear and LayerNorm layers (GPT-2's); false is a little faster
    tie_weights: bool = True  # the output layer's weights are the token embedding's (nanoGPT, GPT-2)

    def __post_init__(self):
        require(self.n_layer >= 1, "n_layer", f"at least 1 block, got {self.n_layer}")
        require(self.n_head >= 1, "n_head", f"at least 1 head, got {self.n_head}")
        require(self.n_embd >= 1, "n_embd", f"at least 1, got {self.n_embd}")
        require(
            self.n_embd % self.n_head == 0,
            "n_embd",
            f"{self.n_embd} does not divide into model.n_head={self.n_head} heads of equal width; "
            f"choose n_embd a multiple of n_head (e.g. {self.n_head * max(1, round(self.n_embd / self.n_head))})",
        )
        require(self.block_size >= 1, "block_size", f"at least 1 position, got {self.block_size}")
        require(
            self.dropout is None or 0 <= self.dropout < 1,
            "dropout",
            f"a drop probability in [0, 1) (or null), got {self.dropout}",
        )
