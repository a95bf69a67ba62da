"""model=transformer, the decoder-only language model: causal (no logit sees a later token),
(B, T) ids -> (B, T, V) logits, nanoGPT's parameter count, refusals before compute (one line each),
and through the real CLI it trains on a generated corpus and lowers its loss."""

import math
import random

import pytest
import torch

from runner.build.models import build_model, check_model
from runner.config.models.transformer import TransformerConfig
from runner.config.regularization import RegularizationConfig
from tests.adversarial.adversarial_support import refused

SMALL = TransformerConfig(n_layer=2, n_head=2, n_embd=16, block_size=12)


def transformer(cfg=SMALL, vocabulary=11, context=12, dropout=0.0):
    return build_model(cfg, RegularizationConfig(dropout=dropout), (context,), vocabulary, tokens=True)


def nanogpt_params(vocabulary, block_size, n_layer, n_embd, bias=True, tied=True):
    """nanoGPT's count (GPT.get_num_params(non_embedding=False)) written out: embeddings, per block
    2 LayerNorms + qkv (3d x d) + projection (d x d) + MLP (4d x d, d x 4d), a final LayerNorm, the head."""
    d = n_embd
    per_block = 12 * d * d + (13 * d if bias else 2 * d)  # biases: 3d + d + 4d + d, LayerNorms: 2 x (d + d)
    final_norm = 2 * d if bias else d
    head = 0 if tied else vocabulary * d  # the head has no bias
    return vocabulary * d + block_size * d + n_layer * per_block + final_norm + head


def test_changing_token_t_changes_no_logit_before_t():
    torch.manual_seed(0)
    model = transformer().eval()
    tokens = torch.randint(0, 11, (3, 12))
    with torch.no_grad():
        before = model(tokens)
        for t in (0, 5, 11):
            changed = tokens.clone()
            changed[:, t] = (changed[:, t] + 1) % 11
            after = model(changed)
            assert torch.equal(after[:, :t], before[:, :t]), t
            assert not torch.allclose(after[:, t:], before[:, t:]), t  # the change is seen from t on


def test_logits_cover_every_position_and_the_vocabulary():
    model = transformer(vocabulary=23)
    out = model(torch.randint(0, 23, (4, 9)))  # shorter windows than block_size read too
    assert out.shape == (4, 9, 23) and out.dtype == torch.float32
    assert model.block_size == 12  # what text sampling crops its windows to
    with pytest.raises(IndexError):
        model(torch.randint(0, 23, (1, 13)))  # no position embedding past block_size
    assert check_model(SMALL, RegularizationConfig(), (12,), 23, tokens=True) is not None  # meta device


@pytest.mark.parametrize("bias,tied", [(True, True), (False, True), (True, False), (False, False)])
def test_parameter_count_is_nanogpts(bias, tied):
    cfg = TransformerConfig(n_layer=3, n_head=4, n_embd=32, block_size=20, bias=bias, tie_weights=tied)
    model = transformer(cfg, vocabulary=65, context=20)
    assert sum(p.numel() for p in model.parameters()) == nanogpt_params(65, 20, 3, 32, bias, tied)
    assert (model.head.weight is model.token_embedding.weight) == tied


def test_dropout_acts_in_training_only():
    model = transformer(dropout=0.5)
    tokens = torch.randint(0, 11, (2, 12))
    model.train()
    assert not torch.equal(model(tokens), model(tokens))
    model.eval()
    assert torch.equal(model(tokens), model(tokens))


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    rng = random.Random(0)
    path = tmp_path / "grammar.txt"
    path.write_text("".join(rng.choice(("abc", "abd", "xyz", "xya")) for _ in range(1500)))
    return path


TEXT = ["trainer.threads=1", "trainer.progress=false", "early_stopping=none", "optimizer=adam", "optimizer.lr=0.003"]


def test_the_transformer_trains_on_text_and_lowers_its_loss(cli, corpus):
    result = cli(
        "train", "data=text", f"data.path={corpus}", "data.context=24", "model=transformer", "model.n_layer=2",
        "model.n_head=2", "model.n_embd=32", "model.block_size=32", "trainer.epochs=2", "trainer.batch_size=16",
        *TEXT,
    )  # fmt: skip
    assert result.code == 0, result.err[-2000:]
    results = result.results()
    assert results["task"] == "language_model"
    rows = (result.run_dir() / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    losses = [float(row.split(",")[header.index("train/loss")]) for row in rows[1:]]
    assert losses[-1] < losses[0] < math.log(9) + 0.5, losses  # from about uniform over the 8 + unknown tokens
    assert results["test"]["bits_per_character"] < 2.0  # the corpus's unigram entropy is 2.69 bits


@pytest.mark.parametrize(
    "overrides,words",
    [
        (["model.n_embd=30", "model.n_head=4"], ["model.n_embd", "n_head=4"]),
        (["model.block_size=16", "data.context=24"], ["model.block_size", "data.context=24"]),
        (["model.dropout=1.5"], ["model.dropout"]),
    ],
)
def test_configs_that_cannot_run_are_refused_before_compute(cli, corpus, overrides, words):
    result = cli("train", "data=text", f"data.path={corpus}", "model=transformer", *overrides, *TEXT)
    refused(result, *words)
    assert not result.run_dirs()


def test_the_transformer_is_refused_on_images(cli):
    result = cli("train", "data=synthetic", "model=transformer", *TEXT)
    refused(result, "model.name", "token ids", "(1, 8, 8)")
    assert not result.run_dirs()
