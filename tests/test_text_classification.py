"""data=text_classification through the real CLI, on tables generated here: sentences of random
filler words whose label is decided by one keyword ("good" or "bad") somewhere in them. An LSTM
with mean pooling and Kim's CNN must each reach high validation accuracy in a few epochs; label
names are mapped to classes in sorted order and kept in the run folder; `runner evaluate` tests
the saved weights again; the models read only a text's real tokens, never its padding."""

import csv
import json
import random

import pytest
import torch
import yaml

from runner.build.data import load_dataset
from runner.build.data.text_classification import text_tokens
from runner.build.models import build_model
from runner.config.data import TextClassificationConfig
from runner.config.data.text_classification import PAD_ID
from runner.config.models.recurrent import GRUConfig, LSTMConfig
from runner.config.models.text_cnn import TextCNNConfig
from runner.config.regularization import RegularizationConfig

FILLER = [f"w{i}" for i in range(150)]
FAST = ["trainer.threads=1", "optimizer=adam", "optimizer.lr=0.01", "trainer.batch_size=32", "early_stopping=none"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))


def keyword_table(path, n=500, seed=0, labels=("negative", "positive"), delimiter=","):
    """Rows (id, sentence, sentiment): 5-18 random filler words and, at a random place, 'bad' (label
    0) or 'good' (label 1); every other word carries no information about the label."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["id", "sentence", "sentiment"])
        for i in range(n):
            label = rng.randrange(2)
            words = rng.choices(FILLER, k=rng.randint(5, 18))
            words.insert(rng.randrange(len(words) + 1), ("bad", "good")[label])
            writer.writerow([i, " ".join(words).capitalize() + ".", labels[label]])
    return path


@pytest.fixture
def table(tmp_path):
    return keyword_table(tmp_path / "reviews.csv")


def train(cli, path, *args):
    return cli(
        "train", "data=text_classification", f"data.path={path}", "data.text_column=sentence",
        "data.label_column=sentiment", "data.max_length=24", *FAST, *args,
    )  # fmt: skip


def test_an_lstm_with_mean_pooling_learns_the_keyword_and_evaluate_agrees(cli, table):
    result = train(cli, table, "model=lstm", "model.pooling=mean", "model.hidden_size=32", "trainer.epochs=4")
    assert result.code == 0, result.err[-2000:]
    results, run = result.results(), result.run_dir()
    assert results["task"] == "classification"
    assert results["val"]["accuracy"] >= 0.9, results["val"]  # measured 1.00 from epoch 3 (chance 0.5)
    assert json.loads((run / "labels.json").read_text()) == {"names": ["negative", "positive"]}  # sorted -> 0, 1
    vocab = json.loads((run / "vocab.json").read_text())
    assert vocab["itos"][:2] == ["<unk>", "<pad>"] and (vocab["unknown"], vocab["padding"]) == (0, 1)
    assert "good" in vocab["itos"]

    evaluated = cli("evaluate", str(run))
    assert evaluated.code == 0, evaluated.err[-2000:]
    assert "matches results.json" in evaluated.out
    assert "| **negative** |" in evaluated.out  # the confusion matrix names the classes (labels.json)
    rows = list(csv.reader((run / "evaluation" / "confusion_matrix.csv").open()))
    assert rows[0][1:] == ["negative", "positive"]
    counts = [[int(c) for c in row[1:]] for row in rows[1:]]
    assert len(counts) == 2 and sum(map(sum, counts)) == 50  # the 10% test split of 500 rows
    assert sum(counts[i][i] for i in range(2)) / 50 == pytest.approx(results["test"]["accuracy"])

    sampled = cli("sample", str(run))  # a classifier draws no text: one line, not a traceback
    assert sampled.code == 2 and "runner sample:" in sampled.err and "data=text_classification" in sampled.err
    assert "Traceback" not in sampled.err


def test_kims_cnn_learns_the_keyword_as_model_cnn(cli, table):
    """model=cnn on sentences is Kim's CNN (model=text_cnn), its keys given on the same line."""
    result = train(
        cli, table, "model=cnn", "model.embedding_size=32", "model.widths=[2,3]", "model.maps=16", "trainer.epochs=3"
    )
    assert result.code == 0, result.err[-2000:]
    assert "model=cnn on sentences is Kim's sentence CNN: running model=text_cnn" in result.err
    assert result.results()["val"]["accuracy"] >= 0.9  # measured 1.00 from epoch 2 (chance 0.5)
    config = yaml.safe_load((result.run_dir() / ".hydra" / "config.yaml").read_text())
    assert config["model"]["name"] == "text_cnn" and config["model"]["widths"] == [2, 3]
    assert "model=text_cnn" in result.results()["overrides"]  # what ran, in the run folder


def test_model_cnn_in_an_experiment_and_in_a_sweep_reads_as_kims_cnn(cli, table, experiment_file):
    name = experiment_file(
        "# @package _global_\ndefaults:\n  - override /data: text_classification\n  - override /model: cnn\n"
        "  - _self_\nmodel:\n  maps: 4\n"
    )
    result = train(cli, table, f"+experiment={name}", "trainer.epochs=1")
    assert result.code == 0, result.err[-2000:]
    assert yaml.safe_load((result.run_dir() / ".hydra" / "config.yaml").read_text())["model"]["maps"] == 4
    swept = train(cli, table, "-m", "model=cnn,gru", "trainer.epochs=1", "trainer.checkpoints=false")
    assert swept.code == 0, swept.err[-2000:]
    points = [r for r in swept.run_dirs() if "sweeps" in r.parts]
    names = sorted(yaml.safe_load((r / ".hydra" / "config.yaml").read_text())["model"]["name"] for r in points)
    assert names == ["gru", "text_cnn"]


def test_integer_labels_in_a_tsv_are_the_classes_themselves(cli, tmp_path):
    path = keyword_table(tmp_path / "reviews.tsv", labels=("0", "1"), delimiter="\t")  # the tab from the extension
    result = train(cli, path, "model=gru", "model.hidden_size=16", "trainer.epochs=1", "data.tokens=char")
    assert result.code == 0, result.err[-2000:]
    assert not (result.run_dir() / "labels.json").exists()  # nothing to map
    assert json.loads((result.run_dir() / "vocab.json").read_text())["tokens"] == "char"


def test_the_vocabulary_is_the_training_splits_and_texts_are_cut_or_padded(tmp_path):
    path = keyword_table(tmp_path / "reviews.csv", n=200)
    cfg = TextClassificationConfig(path=str(path), text_column="sentence", label_column="sentiment", max_length=10)
    data = load_dataset(cfg)
    texts, _ = cfg.table()
    assert data.input_shape == (10,) and data.num_classes == 2 and data.class_names == ["negative", "positive"]
    assert (len(data.train), len(data.val), len(data.test)) == (160, 20, 20)
    seen = {token for row in data.train.x.tolist() for token in row}
    assert seen <= set(range(len(data.vocabulary))) and 0 not in seen  # no unknown token in the training texts
    # A text is its first 10 tokens, then padding: the first training row decoded back.
    first = [data.vocabulary[i] for i in data.train.x[0].tolist()]
    real = [t for t in first if t != "<pad>"]
    assert any(text_tokens(t, "word")[:10] == real for t in texts)
    assert first == real + ["<pad>"] * (10 - len(real))


def test_a_token_missing_from_the_training_texts_is_unknown(tmp_path):
    path = keyword_table(tmp_path / "reviews.csv", n=200)
    cfg = TextClassificationConfig(path=str(path), text_column="sentence", label_column="sentiment", vocab_size=20)
    data = load_dataset(cfg)
    assert len(data.vocabulary) == 20  # unknown, padding, the 18 most frequent training words
    assert "." in data.vocabulary and "good" in data.vocabulary and "bad" in data.vocabulary
    assert (data.test.x == 0).any() and (data.train.x == 0).any()  # rare filler words are unknown everywhere


@pytest.mark.parametrize(
    "model_cfg",
    [LSTMConfig(hidden_size=8, pooling="mean"), GRUConfig(hidden_size=8, pooling="last"), TextCNNConfig(maps=4)],
    ids=["lstm-mean", "gru-last", "text_cnn"],
)
def test_padding_changes_nothing(model_cfg):
    """The same text padded to 8 or to 20 tokens gets the same class scores: pooling, last state and
    max over time read the real tokens only."""
    torch.manual_seed(0)
    text = torch.tensor([[5, 9, 2, 7, 3, 3]])
    short = torch.cat([text, torch.full((1, 2), PAD_ID)], 1)
    long = torch.cat([text, torch.full((1, 14), PAD_ID)], 1)
    model = build_model(model_cfg, RegularizationConfig(), (8,), 3, tokens=True, vocabulary=12).eval()
    assert torch.allclose(model(short), model(long), atol=1e-6)
    assert not torch.allclose(model(short), model(torch.cat([text[:, :5], torch.full((1, 3), PAD_ID)], 1)))
