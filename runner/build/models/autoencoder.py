"""Autoencoders (`model=autoencoder`): an encoder squeezes the image into a code of
`code_size` units, a decoder rebuilds the image through a sigmoid (outputs in
[0, 1], so binary cross-entropy works); trained to reproduce the input (the
"reconstruction" task: the target is the clean image).

kind: mlp   flatten -> (Linear -> act) x hidden_sizes -> Linear -> code_act   (encoder)
            mirror of the encoder -> Linear -> sigmoid -> image               (decoder)
kind: conv  (Conv "same" -> act -> [maxpool]) x conv, then by `code`:
            dense:       flatten -> Linear -> code_act (the code); Linear -> act -> unflatten
                         -> ([upsample] -> Conv "same" -> act) mirrored -> sigmoid
            feature_map: the last pooled map is the code (the Keras blog's 4x4x8);
                         (Conv "same" -> act -> [upsample]) mirrored -> Conv -> sigmoid
            pool_padding: valid (a ragged edge is dropped, 7 -> 3) or same (Keras'
            padding='same': it makes its own window, 7 -> 4)

variant: plain        just reconstruct
         denoising    corrupt the input in training (Gaussian noise clipped to [0, 1],
                      or masking: zero a fraction of pixels); reconstruct the clean image
         sparse       `penalty()` adds an L1 penalty on the code, or a KL divergence between
                      a target activation rate and each code unit's mean activation
         contractive  `penalty()` adds the squared Frobenius norm of the Jacobian of the
                      code with respect to the input (exact: one backward pass per code unit)

The training loop adds `penalty()` (computed from the last forward) to the loss.
"""

from typing import List

import torch
from torch import nn

from runner.build.models.init import initialise
from runner.build.models.layers import conv_block, conv_out, dense_block, flat_size, fmt, image_shape, make_dropout
from runner.build.models.registry import MODELS
from runner.config.models.autoencoder import AutoencoderConfig
from runner.errors import ConfigError


class Autoencoder(nn.Module):
    task = "reconstruction"

    def __init__(self, cfg: AutoencoderConfig, input_dropout: nn.Module, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.cfg = cfg
        self.input_dropout = input_dropout
        self.encoder = encoder
        self.decoder = decoder
        self._code = None  # the last training forward's code and encoder input, for penalty()
        self._input = None

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.noise == "gaussian":
            return (x + self.cfg.noise_level * torch.randn_like(x)).clamp(0, 1)
        return x * torch.empty_like(x).bernoulli_(1 - self.cfg.noise_level)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_dropout(x)
        if self.training and self.cfg.variant == "denoising":
            x = self.corrupt(x)
        if self.training and self.cfg.variant == "contractive" and torch.is_grad_enabled():
            x = x.detach().requires_grad_(True)
        code = self.encoder(x)
        self._code, self._input = (code, x) if self.training else (None, None)
        return self.decoder(code)

    def penalty(self) -> torch.Tensor:
        """The variant's penalty on the last training forward (0 for plain and denoising)."""
        code, cfg = self._code, self.cfg
        if code is None or cfg.variant in ("plain", "denoising"):
            return torch.zeros((), device=code.device if code is not None else None)
        if cfg.variant == "sparse" and cfg.sparsity == "l1":
            return cfg.sparsity_weight * code.abs().sum(1).mean()
        if cfg.variant == "sparse":
            rho = cfg.sparsity_target
            rho_hat = code.mean(0).clamp(1e-6, 1 - 1e-6)
            kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
            return cfg.sparsity_weight * kl.sum()
        return cfg.contractive_weight * jacobian_norm(code, self._input)


def jacobian_norm(code: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||d code / d x||_F^2, kept differentiable (double backward)."""
    total = code.new_zeros(())
    for unit in range(code.shape[1]):
        (grad,) = torch.autograd.grad(code[:, unit].sum(), x, create_graph=True)
        total = total + grad.pow(2).sum()
    return total / code.shape[0]


def _mlp_parts(cfg: AutoencoderConfig, reg, input_shape):
    k = cfg.maxout_pieces
    sizes = [flat_size(input_shape), *cfg.hidden_sizes]
    encoder: List[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        if i > 0:
            encoder.append(make_dropout(reg.dropout, reg))
        encoder += dense_block(n_in, n_out, cfg.activation, k)
    if len(sizes) > 1:
        encoder.append(make_dropout(reg.dropout, reg))
    encoder += dense_block(sizes[-1], cfg.code_size, cfg.code_activation, k)
    decoder: List[nn.Module] = [make_dropout(reg.dropout, reg)]
    widths = [cfg.code_size, *reversed(cfg.hidden_sizes)]
    for n_in, n_out in zip(widths, widths[1:]):
        decoder += dense_block(n_in, n_out, cfg.activation, k) + [make_dropout(reg.dropout, reg)]
    decoder += [nn.Linear(widths[-1], sizes[0]), nn.Sigmoid(), nn.Unflatten(1, tuple(input_shape))]
    return _strip(encoder), _strip(decoder)


def _conv_parts(cfg: AutoencoderConfig, reg, input_shape):
    channels, *hw = image_shape(input_shape, "autoencoder (kind: conv)")
    hw = tuple(hw)
    k = cfg.maxout_pieces
    same = cfg.pool_padding == "same"
    encoder: List[nn.Module] = []
    sizes = []  # (channels, map size) entering each layer
    for i, layer in enumerate(cfg.conv):
        sizes.append((channels, hw))
        encoder += conv_block(channels, layer.channels, layer.kernel, 1, layer.kernel // 2, cfg.activation, k)
        if layer.pool > 1:
            if layer.pool > min(hw) and not same:
                raise ConfigError(
                    f"model.conv[{i}].pool",
                    f"the {layer.pool}x{layer.pool} pooling window of conv layer {i} is larger than its {fmt(hw)} feature map"
                    f" (inputs of shape {tuple(input_shape)}); use pool: 1 there, fewer/smaller pools before it, or pool_padding: same",
                )
            encoder.append(
                nn.MaxPool2d(layer.pool, ceil_mode=same)
            )  # ceil: the ragged edge pools on its own, like Keras' 'same'
        pooled = tuple(-(-n // layer.pool) if same else conv_out(n, layer.pool, layer.pool) for n in hw)
        channels, hw = layer.channels, pooled
    features = channels * hw[0] * hw[1]
    encoder.append(
        nn.Flatten()
    )  # the code is a vector in both modes, so the sparse and contractive penalties see units
    decoder: List[nn.Module] = [make_dropout(reg.dropout, reg)]
    if cfg.code == "dense":
        encoder.append(make_dropout(reg.dropout, reg))
        encoder += dense_block(features, cfg.code_size, cfg.code_activation, k)
        decoder += dense_block(cfg.code_size, features, cfg.activation, k)
    decoder.append(nn.Unflatten(1, (channels, *hw)))
    if cfg.code == "dense":
        decoder += _upsample_then_conv(cfg, sizes, channels, hw)
    else:
        decoder += _conv_then_upsample(cfg, sizes, channels, hw)
    return _strip(encoder), _strip(decoder)


def _upsample_then_conv(cfg: AutoencoderConfig, sizes, channels: int, hw) -> List[nn.Module]:
    """code: dense. Back through the encoder's layers: upsample to the map that entered
    layer i, convolve to its channels (the image's, through a sigmoid, last)."""
    layers: List[nn.Module] = []
    for i in reversed(range(len(cfg.conv))):
        kernel = cfg.conv[i].kernel
        out_channels, out_hw = sizes[i]
        if out_hw != hw:
            layers.append(nn.Upsample(size=out_hw, mode="nearest"))
        if i > 0:
            layers += conv_block(channels, out_channels, kernel, 1, kernel // 2, cfg.activation, cfg.maxout_pieces)
        else:
            layers += [nn.Conv2d(channels, out_channels, kernel, padding=kernel // 2), nn.Sigmoid()]
        channels, hw = out_channels, out_hw
    return layers


def _conv_then_upsample(cfg: AutoencoderConfig, sizes, channels: int, hw) -> List[nn.Module]:
    """code: feature_map, the Keras blog's decoder: for each encoder layer, last first, a
    conv to its channels then an upsampling to the map that entered it; a final conv to
    the image's channels through a sigmoid (one more conv than code: dense)."""
    layers: List[nn.Module] = []
    for i in reversed(range(len(cfg.conv))):
        layer = cfg.conv[i]
        layers += conv_block(
            channels, layer.channels, layer.kernel, 1, layer.kernel // 2, cfg.activation, cfg.maxout_pieces
        )
        channels, out_hw = layer.channels, sizes[i][1]
        if out_hw != hw:
            layers.append(nn.Upsample(size=out_hw, mode="nearest"))
        hw = out_hw
    kernel = cfg.conv[0].kernel
    return layers + [nn.Conv2d(channels, sizes[0][0], kernel, padding=kernel // 2), nn.Sigmoid()]


def _strip(layers: List[nn.Module]) -> nn.Sequential:
    """A Sequential without the Identity placeholders left by zero dropout rates."""
    return nn.Sequential(*[layer for layer in layers if not isinstance(layer, nn.Identity)])


@MODELS.register("autoencoder")
def build_autoencoder(cfg: AutoencoderConfig, reg, input_shape, num_outputs) -> nn.Module:
    """`num_outputs` is unused: the output has the input's shape."""
    encoder, decoder = (_mlp_parts if cfg.kind == "mlp" else _conv_parts)(cfg, reg, input_shape)
    model = Autoencoder(cfg, make_dropout(reg.input_dropout, reg), encoder, decoder)
    initialise(model, cfg.init, cfg.activation)
    return model


@torch.no_grad()
def reconstruction_grid(model: nn.Module, x: torch.Tensor, n: int = 8) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] for TensorBoard's add_image: the first n inputs on the
    row named "input", their reconstructions (eval mode, no noise) on the row "output" below,
    scaled up (runner/build/image_grid.py). 1-D signals (C, L) are drawn as 1-pixel-high images."""
    from runner.build.image_grid import labelled_rows

    was_training = model.training
    model.eval()
    try:
        originals = x[:n]
        rebuilt = model(originals).reshape(originals.shape).to(originals.dtype)
    finally:
        model.train(was_training)
    as_images = (lambda t: t) if originals.dim() == 4 else (lambda t: t.reshape(len(t), 1, 1, -1))
    return labelled_rows([("input", as_images(originals)), ("output", as_images(rebuilt))])
