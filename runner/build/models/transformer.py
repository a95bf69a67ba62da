"""A small decoder-only transformer language model (`transformer`), in nanoGPT's convention.

token ids (B, T) -> token embedding + learned position embedding (block_size positions) -> [dropout]
-> n_layer blocks of  x + attention(LayerNorm(x)),  x + MLP(LayerNorm(x))
   attention: causal multi-head self-attention (scaled_dot_product_attention, is_causal=True)
   MLP: Linear (4 x n_embd) -> GELU -> Linear, each branch ending in dropout
-> LayerNorm -> Linear (n_embd -> vocabulary, no bias; its weight the token embedding's when tied)
= the next token's logits at every position (B, T, V).

Weights start as GPT-2's: N(0, 0.02) for every Linear and Embedding, zero biases, and the residual
branches' output projections N(0, 0.02 / sqrt(2 * n_layer)), so the residual stream's variance
does not grow with depth.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from runner.build.models.layers import make_dropout
from runner.build.models.registry import MODELS
from runner.config.models.transformer import TransformerConfig
from runner.errors import ConfigError


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, bias: bool, rate: float, resid_dropout: nn.Module):
        super().__init__()
        self.heads = heads
        self.rate = rate
        self.qkv = nn.Linear(width, 3 * width, bias=bias)  # the three projections of every head in one matrix
        self.proj = nn.Linear(width, width, bias=bias)
        self.resid_dropout = resid_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in self.qkv(x).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.rate if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(b, t, c)))


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, rate: float, reg):
        super().__init__()
        width = cfg.n_embd
        self.ln_1 = nn.LayerNorm(width, bias=cfg.bias)
        self.attn = CausalSelfAttention(width, cfg.n_head, cfg.bias, rate, make_dropout(rate, reg))
        self.ln_2 = nn.LayerNorm(width, bias=cfg.bias)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width, bias=cfg.bias),
            nn.GELU(),
            nn.Linear(4 * width, width, bias=cfg.bias),
            make_dropout(rate, reg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))

    def residual_projections(self):
        return self.attn.proj, self.mlp[2]


class Transformer(nn.Module):
    task = "language_model"

    def __init__(self, cfg: TransformerConfig, reg, vocabulary: int):
        super().__init__()
        rate = reg.dropout if cfg.dropout is None else cfg.dropout
        self.block_size = cfg.block_size  # the longest window it reads (what text sampling feeds it)
        self.token_embedding = nn.Embedding(vocabulary, cfg.n_embd)
        self.position_embedding = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.dropout = make_dropout(rate, reg)
        self.blocks = nn.ModuleList(Block(cfg, rate, reg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.head = nn.Linear(cfg.n_embd, vocabulary, bias=False)
        self.apply(_gpt2_init)
        for block in self.blocks:
            for projection in block.residual_projections():
                nn.init.normal_(projection.weight, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))
        if cfg.tie_weights:
            self.head.weight = self.token_embedding.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.dropout(self.token_embedding(tokens) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def _gpt2_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


@MODELS.register("transformer")
def build_transformer(cfg: TransformerConfig, reg, input_shape, num_outputs, tokens: bool = False) -> Transformer:
    if not tokens:
        raise ConfigError(
            "model.name",
            f"transformer reads token ids (data=text), got inputs of shape {tuple(input_shape)}; "
            "for images use model=cnn, mlp, lstm or hrnn",
        )
    (context,) = input_shape
    if context > cfg.block_size:
        raise ConfigError(
            "model.block_size",
            f"{cfg.block_size} positions, fewer than the data.context={context} tokens of each window "
            f"(a position past block_size has no embedding); set model.block_size>={context} or data.context<={cfg.block_size}",
        )
    return Transformer(cfg, reg, num_outputs)
