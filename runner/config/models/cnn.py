"""Schema of model=cnn (and its presets lenet5, keras_cnn); the network is built in
runner/build/models/cnn.py."""

from dataclasses import dataclass, field
from typing import List, Optional

from omegaconf import MISSING

from runner.config.models.names import check_activation, check_init, check_rates
from runner.errors import require

POOLINGS = ("max", "avg")


@dataclass
class ConvLayerConfig:
    channels: int = MISSING  # output feature maps
    kernel: int = MISSING  # square kernel side on images (C, H, W); kernel length on 1-D signals (C, L)
    stride: int = 1
    padding: int = 0  # zeros added on each side
    pool: int = 1  # pooling window after the activation (square on images, a length on signals); 1 = no pooling
    pool_stride: Optional[int] = None  # None = the window size (non-overlapping)


@dataclass
class CNNConfig:
    """No key chooses 1-D or 2-D: the convolutions follow the data's shape() (runner/build/models/cnn.py),
    2-D on images (C, H, W), 1-D on signals (C, L) such as data=mnist1d's (1, 40)."""

    name: str = "cnn"
    conv: List[ConvLayerConfig] = field(
        default_factory=lambda: [
            ConvLayerConfig(channels=20, kernel=5, pool=2),
            ConvLayerConfig(channels=40, kernel=5, pool=2),
        ]
    )
    fc: List[int] = field(default_factory=lambda: [100])
    activation: str = "relu"
    maxout_pieces: int = 2
    pooling: str = "max"
    batch_norm: bool = False
    dropout: Optional[List[float]] = None  # one rate per FC layer input; None = regularization.dropout
    init: str = "default"
    init_from: Optional[str] = None  # run folder of a trained conv autoencoder

    def __post_init__(self):
        require(len(self.conv) >= 1, "conv", "at least one conv layer (without any, use model=mlp)")
        for i, layer in enumerate(self.conv):
            key = f"conv[{i}]"
            require(layer.channels >= 1, f"{key}.channels", f"at least 1 feature map, got {layer.channels}")
            require(layer.kernel >= 1, f"{key}.kernel", f"at least 1, got {layer.kernel}")
            require(layer.stride >= 1, f"{key}.stride", f"at least 1, got {layer.stride}")
            require(layer.padding >= 0, f"{key}.padding", f"must be >= 0, got {layer.padding}")
            require(layer.pool >= 1, f"{key}.pool", f"at least 1 (1 = no pooling), got {layer.pool}")
            require(
                layer.pool_stride is None or layer.pool_stride >= 1,
                f"{key}.pool_stride",
                f"at least 1 (or null), got {layer.pool_stride}",
            )
        require(
            all(h >= 1 for h in self.fc),
            "fc",
            f"every fully-connected layer needs at least 1 unit, got {list(self.fc)}",
        )
        check_activation(self.activation, "activation")
        require(
            self.maxout_pieces >= 2, "maxout_pieces", f"at least 2 pieces per maxout unit, got {self.maxout_pieces}"
        )
        require(self.pooling in POOLINGS, "pooling", f"choose one of: {', '.join(POOLINGS)} (got '{self.pooling}')")
        check_init(self.init, "init")
        check_rates(
            self.dropout, len(self.fc) + 1, "dropout", "the flattened conv features, then the output of each fc layer"
        )
