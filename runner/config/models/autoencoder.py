"""Schema of model=autoencoder (and its presets: conv, denoising, sparse, contractive); what
each key does is described and built in runner/build/models/autoencoder.py."""

from dataclasses import dataclass, field
from typing import List

from omegaconf import MISSING

from runner.config.models.names import check_activation, check_init
from runner.errors import require

KINDS = ("mlp", "conv")
CODES = ("dense", "feature_map")
POOL_PADDINGS = ("valid", "same")
VARIANTS = ("plain", "denoising", "sparse", "contractive")
NOISES = ("gaussian", "masking")
SPARSITIES = ("l1", "kl")


@dataclass
class AEConvLayerConfig:
    channels: int = MISSING  # feature maps
    kernel: int = 3  # odd square kernel, "same" padding (the map keeps its size)
    pool: int = 1  # max-pooling window after the activation (the decoder upsamples back); 1 = none


@dataclass
class AutoencoderConfig:
    name: str = "autoencoder"
    kind: str = "mlp"  # mlp | conv
    hidden_sizes: List[int] = field(default_factory=list)  # kind mlp: encoder layers before the code
    conv: List[AEConvLayerConfig] = field(
        default_factory=lambda: [
            AEConvLayerConfig(channels=16, kernel=3, pool=2),
            AEConvLayerConfig(channels=8, kernel=3, pool=2),
        ]
    )  # kind conv: encoder conv layers
    code: str = "dense"  # kind conv: dense (a Linear code of code_size units) | feature_map (the last pooled map)
    pool_padding: str = "valid"  # kind conv: valid (floor: 7 -> 3) | same (ceil, Keras' padding='same': 7 -> 4)
    code_size: int = 32
    activation: str = "relu"  # hidden layers of encoder and decoder
    code_activation: str = "relu"
    maxout_pieces: int = 2
    init: str = "default"
    variant: str = "plain"  # plain | denoising | sparse | contractive
    noise: str = "gaussian"  # denoising: gaussian | masking
    noise_level: float = 0.5  # gaussian: noise std; masking: fraction of pixels zeroed
    sparsity: str = "l1"  # sparse: l1 | kl
    sparsity_weight: float = 1.0e-4
    sparsity_target: float = 0.05  # kl: target mean activation of each code unit
    contractive_weight: float = 1.0e-4

    def __post_init__(self):
        require(self.kind in KINDS, "kind", f"choose one of: {', '.join(KINDS)} (got '{self.kind}')")
        require(
            all(h >= 1 for h in self.hidden_sizes),
            "hidden_sizes",
            f"every layer needs at least 1 unit, got {list(self.hidden_sizes)}",
        )
        if self.kind == "conv":
            require(len(self.conv) >= 1, "conv", "kind conv needs at least one conv layer")
        for i, layer in enumerate(self.conv):
            require(layer.channels >= 1, f"conv[{i}].channels", f"at least 1 feature map, got {layer.channels}")
            require(
                layer.kernel >= 1 and layer.kernel % 2 == 1,
                f"conv[{i}].kernel",
                f"an odd size (1, 3, 5, ...) so that 'same' padding keeps the map size, got {layer.kernel}",
            )
            require(layer.pool >= 1, f"conv[{i}].pool", f"at least 1 (1 = no pooling), got {layer.pool}")
        require(self.code in CODES, "code", f"choose one of: {', '.join(CODES)} (got '{self.code}')")
        require(
            self.pool_padding in POOL_PADDINGS,
            "pool_padding",
            f"choose one of: {', '.join(POOL_PADDINGS)} (got '{self.pool_padding}')",
        )
        require(self.code_size >= 1, "code_size", f"at least 1 unit, got {self.code_size}")
        check_activation(self.activation, "activation")
        check_activation(self.code_activation, "code_activation")
        require(
            self.maxout_pieces >= 2, "maxout_pieces", f"at least 2 pieces per maxout unit, got {self.maxout_pieces}"
        )
        check_init(self.init, "init")
        require(self.variant in VARIANTS, "variant", f"choose one of: {', '.join(VARIANTS)} (got '{self.variant}')")
        require(self.noise in NOISES, "noise", f"choose one of: {', '.join(NOISES)} (got '{self.noise}')")
        require(self.noise_level >= 0, "noise_level", f"must be >= 0, got {self.noise_level}")
        if self.noise == "masking":
            require(
                self.noise_level < 1,
                "noise_level",
                f"masking zeroes this fraction of pixels: in [0, 1), got {self.noise_level}",
            )
        require(
            self.sparsity in SPARSITIES, "sparsity", f"choose one of: {', '.join(SPARSITIES)} (got '{self.sparsity}')"
        )
        require(self.sparsity_weight >= 0, "sparsity_weight", f"must be >= 0, got {self.sparsity_weight}")
        require(0 < self.sparsity_target < 1, "sparsity_target", f"a rate in (0, 1), got {self.sparsity_target}")
        if self.variant == "sparse" and self.sparsity == "kl":
            require(
                self.code_activation == "sigmoid",
                "code_activation",
                f"sparsity: kl needs code units in (0, 1): use code_activation: sigmoid (got '{self.code_activation}')",
            )
        require(self.contractive_weight >= 0, "contractive_weight", f"must be >= 0, got {self.contractive_weight}")
