"""data=text and the language_model task through the real CLI, on corpora generated here: a
character grammar whose next character is often predictable, and a tiny word grammar. Training
must bring the test bits per character below the corpus's unigram entropy (what a model that
ignores context scores at best), the run folder keeps the vocabulary, and a stateful model's
batches continue each other row by row."""

import collections
import json
import math
import random

import pytest
import torch

from runner.build.data import batches, load_dataset
from runner.build.data.text import streams
from runner.build.models import build_model
from runner.config.data import TextConfig
from runner.config.models.recurrent import RNNConfig
from runner.config.regularization import RegularizationConfig

WORDS = ("abc", "abd", "xyz", "xya")  # 3 characters a word, 2 bits of choice: ~0.67 bits per character
FAST = ["trainer.threads=1", "optimizer=adam", "optimizer.lr=0.01", "trainer.batch_size=16", "early_stopping=none"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def grammar_text(n_words: int = 2000, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(WORDS) for _ in range(n_words))


def unigram_bits(text: str) -> float:
    counts = collections.Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "grammar.txt"
    path.write_text(grammar_text())
    return path


def test_a_char_lstm_learns_the_grammar_below_its_unigram_entropy(cli, corpus):
    text = corpus.read_text()
    result = cli(
        "train", "data=text", f"data.path={corpus}", "data.context=24", "model=lstm", "model.hidden_size=32",
        "trainer.epochs=3", *FAST,
    )  # fmt: skip
    assert result.code == 0, result.err[-2000:]
    results, run = result.results(), result.run_dir()
    assert results["task"] == "language_model" and results["monitor"] == "val/loss"
    test = results["test"]
    assert test["bits_per_character"] == pytest.approx(test["loss"] / math.log(2))
    assert test["bits_per_character"] < unigram_bits(text) - 1.0, (test, unigram_bits(text))  # measured 0.68 vs 2.69
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/bits_per_character", "val/bits_per_character", "train/loss", "val/loss"} <= set(header)
    vocab = json.loads((run / "vocab.json").read_text())
    counts = collections.Counter(text[: int(len(text) * 0.9)])
    assert vocab["tokens"] == "char" and vocab["itos"][0] == "<unk>" and "padding" not in vocab  # windows: no padding
    assert vocab["itos"][1:] == sorted(
        counts, key=lambda c: (-counts[c], c)
    )  # the training part's, most frequent first


def test_word_tokens_report_perplexity_and_cap_the_vocabulary(cli, tmp_path):
    rng = random.Random(1)
    sentences = ["The cat sat.", "The dog ran!", "A cat ran, the dog sat."]
    path = tmp_path / "words.txt"
    path.write_text(" ".join(rng.choice(sentences) for _ in range(400)))
    result = cli(
        "train", "data=text", f"data.path={path}", "data.tokens=word", "data.vocab_size=6", "data.context=8",
        "model=gru", "model.hidden_size=16", "trainer.epochs=2", *FAST,
    )  # fmt: skip
    assert result.code == 0, result.err[-2000:]
    test = result.results()["test"]
    assert test["perplexity"] == pytest.approx(math.exp(test["loss"]))
    assert test["perplexity"] < 6  # better than guessing among the 6 ids
    itos = json.loads((result.run_dir() / "vocab.json").read_text())["itos"]
    assert len(itos) == 6 and itos[0] == "<unk>"
    assert set(itos[1:]) <= {"the", "cat", "sat", ".", "dog", "ran", "!", "a", ","} and "The" not in itos


def test_splits_are_consecutive_windows_by_position_with_next_token_targets(tmp_path):
    text = grammar_text(400)
    path = tmp_path / "g.txt"
    path.write_text(text)
    data = load_dataset(TextConfig(path=str(path), context=10))
    itos = data.vocabulary
    decode = lambda ids: "".join(itos[i] for i in ids.tolist())  # noqa: E731
    n_train, n_val = int(len(text) * 0.9), int(len(text) * 0.05)
    assert decode(data.train.x.reshape(-1)) == text[: len(data.train) * 10]  # in the text's order
    assert len(data.train) == (n_train - 1) // 10
    assert decode(data.val.x[0]) == text[n_train : n_train + 10]
    assert decode(data.test.x[0]) == text[n_train + n_val : n_train + n_val + 10]
    assert torch.equal(data.train.y[:, :-1], data.train.x[:, 1:])  # y is x shifted by one token
    assert decode(data.train.y[0]) == text[1:11]
    assert data.train.x.dtype == data.train.y.dtype == torch.int64
    assert data.num_classes == len(itos) == len(set(text)) + 1


def test_token_ids_stay_int64_in_every_precision(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text(grammar_text(200))
    data = load_dataset(TextConfig(path=str(path), context=10))
    for dtype in (torch.float64, torch.bfloat16):
        moved = data.to("cpu", dtype)
        assert moved.train.x.dtype == torch.int64 and moved.train.inputs(slice(0, 2), dtype).dtype == torch.int64


def test_a_stateful_model_reads_each_stream_on_in_the_next_batch(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text(grammar_text(700))  # 2,100 characters
    train = load_dataset(TextConfig(path=str(path), context=7)).train
    ordered = streams(train, batch_size=5)
    chunks = list(batches(len(ordered), 5, torch.arange(len(ordered))))
    assert len(ordered) == len(train) - len(train) % 5 and all(len(c) == 5 for c in chunks)
    for k in range(len(chunks) - 1):
        after = ordered.x[chunks[k + 1]]
        assert torch.equal(after[:, 0], ordered.y[chunks[k]][:, -1])  # the token after row j's window starts row j
    rows = torch.stack(chunks)  # batch k, row j -> index into `ordered`
    length = len(train) // 5
    for j in range(5):  # row j of batch k is window j * length + k of the text
        assert torch.equal(ordered.x[rows[:, j]], train.x[j * length : (j + 1) * length])


def test_a_stateful_gru_trains_in_streams_below_the_unigram_entropy(cli, corpus):
    result = cli(
        "train", "data=text", f"data.path={corpus}", "data.context=12", "model=gru", "model.hidden_size=32",
        "model.stateful=true", "trainer.shuffle=false", "trainer.epochs=3", *FAST,
    )  # fmt: skip
    assert result.code == 0, result.err[-2000:]
    assert result.results()["test"]["bits_per_character"] < unigram_bits(corpus.read_text()) - 0.5
    assert "training windows left out" in (result.run_dir() / "train.log").read_text()


def test_tied_weights_share_the_embedding_and_train_in_fp64(cli, corpus):
    result = cli(
        "train", "data=text", f"data.path={corpus}", "data.context=16", "model=rnn", "model.hidden_size=16",
        "model.tie_weights=true", "trainer.precision=fp64", "trainer.epochs=1", *FAST,
    )  # fmt: skip
    assert result.code == 0, result.err[-2000:]
    vocab = len(set(corpus.read_text())) + 1
    tied, untied = (
        build_model(RNNConfig(hidden_size=16, tie_weights=t), RegularizationConfig(), (16,), vocab, tokens=True)
        for t in (True, False)
    )
    assert tied.head.weight is tied.embedding.weight
    assert result.results()["params"] == sum(p.numel() for p in tied.parameters())
    assert sum(p.numel() for p in untied.parameters()) - result.results()["params"] == vocab * 16


def test_the_encoded_corpus_is_cached_and_a_changed_file_encoded_again(tmp_path, cache):
    path = tmp_path / "g.txt"
    path.write_text(grammar_text(300))
    cfg = TextConfig(path=str(path), context=10)
    first = load_dataset(cfg)
    (cached,) = cache.glob("text-*.pt")
    stamp = cached.stat().st_mtime_ns
    again = load_dataset(cfg)
    assert cached.stat().st_mtime_ns == stamp and torch.equal(again.train.x, first.train.x)
    path.write_text(grammar_text(300, seed=5))  # same size, new text: a new key
    changed = load_dataset(cfg)
    assert len(list(cache.glob("text-*.pt"))) == 2 and not torch.equal(changed.train.x, first.train.x)


def test_text_is_drawn_every_epoch_and_from_the_checkpoint_with_vocabulary_characters_only(cli, corpus):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = ["data=text", f"data.path={corpus}", "data.context=24", "model=lstm", "model.hidden_size=32", *FAST]
    result = cli("train", *args, "trainer.epochs=2", "trainer.sample_every=1", "sample.length=50", "sample.prompt=ab")
    assert result.code == 0, result.err[-2000:]
    run, alphabet = result.run_dir(), set(corpus.read_text())
    samples = (run / "samples.txt").read_text()
    headings = [line for line in samples.splitlines() if line.startswith("=== epoch")]
    assert len(headings) == 2 and "seed 0" in headings[0]
    drawn = [line for line in samples.splitlines() if line and not line.startswith("===")]
    assert all(len(text) == 52 and text.startswith("ab") and set(text) <= alphabet for text in drawn)
    (events,) = run.rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events.parent)).Reload()
    assert any(tag.startswith("samples") for tag in accumulator.Tags()["tensors"])

    first = cli("sample", str(run), "--prompt", "xy", "--length", "80", "--seed", "3")
    again = cli("sample", str(run), "--prompt", "xy", "--length", "80", "--seed", "3")
    other = cli("sample", str(run), "--prompt", "xy", "--length", "80", "--seed", "4", "--top-k", "2")
    assert first.code == again.code == other.code == 0, first.err
    text = first.out.strip().splitlines()[-1]  # (the lines before: TensorBoard's reader's notes)
    assert text == again.out.strip() != other.out.strip()  # seeded
    assert len(text) == 82 and text.startswith("xy") and set(text) <= alphabet
    # the grammar's words: after "ab" comes c or d, after "xy" z or a (the model learnt it)
    assert sum(text[i + 2] in "cd" for i in range(len(text) - 2) if text[i : i + 2] == "ab") >= 0.8 * text.count("ab")


def test_drawing_text_leaves_the_training_numbers_unchanged(cli, corpus, tmp_path):
    args = ["data=text", f"data.path={corpus}", "data.context=24", "model=gru", "model.hidden_size=16", *FAST]
    plain = cli("train", *args, "trainer.epochs=2")
    sampled = cli("train", *args, "trainer.epochs=2", "trainer.sample_every=1")
    assert plain.code == sampled.code == 0
    tests = [json.loads(p.read_text())["test"] for p in sorted(plain.outputs.rglob("results.json"))]
    assert len(tests) == 2 and tests[0] == tests[1]


def test_evaluate_and_gradcheck_take_a_language_model(cli, corpus):
    args = ["data=text", f"data.path={corpus}", "data.context=8", "model=gru", "model.hidden_size=4"]
    trained = cli("train", *args, "trainer.epochs=1", *FAST)
    assert trained.code == 0, trained.err[-2000:]
    evaluated = cli("evaluate", str(trained.run_dir()))
    assert evaluated.code == 0 and "matches results.json" in evaluated.out, evaluated.out + evaluated.err
    checked = cli("gradcheck", *args)
    assert checked.code == 0 and "gradcheck passed" in checked.out, checked.out + checked.err


def test_compare_tabulates_the_test_loss_and_bits_per_character_of_language_models(cli, corpus):
    args = ["data=text", f"data.path={corpus}", "data.context=12", "model=gru", "trainer.epochs=1", *FAST]
    swept = cli("train", "-m", *args, "model.hidden_size=4,16")
    assert swept.code == 0, swept.err[-2000:]
    (manifest,) = swept.outputs.rglob("manifest.csv")
    compared = cli("compare", str(manifest.parent))
    assert compared.code == 0, compared.err[-2000:]
    table = (manifest.parent / "comparison.md").read_text()
    assert "test loss (mean ± std)" in table and "test bits per character" in table
    for results in manifest.parent.rglob("results.json"):
        test = json.loads(results.read_text())["test"]
        assert f"{test['loss']:.4f}" in table and f"{test['bits_per_character']:.3f}" in table
