"""Schema of model=text_cnn, Kim's (2014) sentence CNN over token embeddings
(data=text_classification); built in runner/build/models/text_cnn.py."""

from dataclasses import dataclass, field
from typing import List, Optional

from runner.config.models.names import check_init
from runner.errors import require


@dataclass
class TextCNNConfig:
    name: str = "text_cnn"
    embedding_size: int = (
        128  # width of the token embedding (Kim: 300, word2vec's; here trained from scratch, CNN-rand)
    )
    widths: List[int] = field(default_factory=lambda: [3, 4, 5])  # filter widths, in tokens (Kim: 3, 4, 5)
    maps: int = 100  # feature maps per width (Kim: 100)
    dropout: Optional[float] = (
        0.5  # on the pooled features before the classifier (Kim: 0.5); null = regularization.dropout
    )
    init: str = "default"  # the convolutions and the classifier

    def __post_init__(self):
        require(self.embedding_size >= 1, "embedding_size", f"at least 1, got {self.embedding_size}")
        require(
            len(self.widths) >= 1 and all(int(w) >= 1 for w in self.widths),
            "widths",
            f"one or more filter widths of at least 1 token, got {list(self.widths)}",
        )
        require(self.maps >= 1, "maps", f"at least 1 feature map per width, got {self.maps}")
        require(
            self.dropout is None or 0 <= self.dropout < 1,
            "dropout",
            f"a drop probability in [0, 1) (or null), got {self.dropout}",
        )
        check_init(self.init, "init")
