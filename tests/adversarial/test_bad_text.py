"""data=text against files that are not a usable corpus and language-model settings that cannot
work: each is refused by the preflight with one `runner:` line naming the file or key, exit code 2,
no run folder, nothing cached, the data folder left as it was."""

import os

import pytest
from adversarial_support import cache, data, refused, refused_before_any_run, snapshot  # noqa: F401 (fixtures)

QUICK = ["trainer.epochs=1", "trainer.threads=1", "model=gru", "model.hidden_size=8", "data.context=8"]
CORPUS = "the cat sat on the mat. " * 40  # 960 characters: 11 distinct, every part holds windows of 8


def train(cli, path, *args):
    other_model = any(a.startswith("model=") for a in args)  # then QUICK's gru keys do not apply
    quick = [a for a in QUICK if not (other_model and a.startswith("model"))]
    return cli("train", "data=text", f"data.path={path}", *quick, *args)


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", ["is empty"]),
        (b"hello\x00\x01\x02world" * 20, ["NUL byte", "binary"]),
        ("caf\u00e9 au lait ".encode("latin-1") * 20, ["not UTF-8", "0xe9", "offset 3"]),
        (b"abcabcabcabc", ["holds 12 characters", "shorter than one window", "data.context=8"]),
    ],
    ids=["empty", "binary", "latin-1", "too-short"],
)
def test_a_file_that_is_no_usable_corpus_is_refused(cli, data, cache, content, words):
    path = data / "corpus.txt"
    path.write_bytes(content)
    before = snapshot(data)
    refused_before_any_run(train(cli, path), cache, data, before, "data.path", str(path), *words)


def test_a_word_corpus_too_short_for_a_window_counts_words(cli, data, cache):
    path = data / "corpus.txt"
    path.write_text("one two three four five six seven eight nine ten " * 3)  # 30 words: val part 1 word
    before = snapshot(data)
    line = refused_before_any_run(train(cli, path, "data.tokens=word"), cache, data, before, "30 words")
    assert "validation part" in line


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "folder", "missing"])
def test_a_fifo_a_device_a_folder_or_a_missing_file_is_refused_without_opening_it(cli_process, data, cache, special):
    """In a subprocess with a timeout: opening a FIFO or /dev/zero would block or read forever."""
    path = {"fifo": data / "pipe", "/dev/zero": "/dev/zero", "folder": data, "missing": data / "gone.txt"}[special]
    if special == "fifo":
        os.mkfifo(path)
    before = snapshot(data)
    result = cli_process("train", "data=text", f"data.path={path}", *QUICK, timeout=120)
    words = {"fifo": "not a regular file", "/dev/zero": "not a regular file", "folder": "is a folder"}
    refused_before_any_run(result, cache, data, before, str(path), words.get(special, "does not exist"))


@pytest.mark.parametrize(
    "args,words",
    [
        (["data.vocab_size=13"], ["data.vocab_size", "13 is larger", "11 distinct characters", "at most 12"]),
        (["data.tokens=word", "data.vocab_size=9"], ["data.vocab_size", "6 distinct words", "at most 7"]),
        (
            ["model.tie_weights=true", "model.embedding_size=4"],
            ["model.tie_weights", "embedding_size=4", "hidden_size=8"],
        ),
        (["model.stateful=true"], ["model.stateful", "trainer.shuffle=true", "trainer.shuffle=false"]),
        (["model=mlp"], ["model.name", "mlp does not read token ids", "gru"]),
        (["loss=mse"], ["loss", "'mse' does not fit", "cross_entropy"]),
        (["model.bidirectional=true"], ["model.bidirectional", "backwards"]),
        (["data.tokens=bytes"], ["data.tokens", "char, word"]),
        (["data.context=0"], ["data.context", "at least 1"]),
        (["data.train_fraction=0.96"], ["data.val_fraction", "leaves no test text"]),
        (["regularization.input_noise=0.1"], ["regularization.input_noise", "token ids"]),
        (["scheduler=halving"], ["scheduler.monitor", "val/accuracy", "val/loss"]),
    ],
    ids=[
        "vocab-too-large",
        "word-vocab-too-large",
        "tie-unequal",
        "stateful-shuffled",
        "mlp",
        "mse",
        "bidirectional",
        "tokens",
        "context-0",
        "no-test",
        "input-noise",
        "halving-on-accuracy",
    ],
)
def test_settings_that_cannot_train_a_language_model_are_refused(cli, data, cache, args, words):
    path = data / "corpus.txt"
    path.write_text(CORPUS)
    before = snapshot(data)
    refused_before_any_run(train(cli, path, *args), cache, data, before, *words)


def test_the_model_keys_of_token_inputs_are_refused_on_images(cli, cache):
    result = cli(
        "train", "data=synthetic", "model=lstm", "model.stateful=true", "trainer.shuffle=false", "trainer.epochs=1"
    )
    refused(result, "model.stateful", "data=text")
    assert not (result.outputs.exists() and list(result.outputs.rglob("*")))


def test_a_prompt_outside_the_vocabulary_is_refused_before_training_and_by_runner_sample(cli, data, cache):
    path = data / "corpus.txt"
    path.write_text(CORPUS)
    before = snapshot(data)
    line = refused_before_any_run(
        train(cli, path, "trainer.sample_every=1", "sample.prompt='the dog!'"), cache, data, before, "sample.prompt"
    )
    assert "'!', 'd', 'g'" in line
    trained = train(cli, path, "trainer.epochs=1")
    assert trained.code == 0, trained.err[-2000:]
    run = trained.run_dir()
    refused(cli("sample", str(run), "--prompt", "zebra"), "--prompt", "'b', 'r', 'z'")
    refused(cli("sample", str(run), "--temperature", "0"), "--temperature", "above 0")
    refused(cli("sample", str(result_folder := data)), "vocab.json")
    assert not (result_folder / "samples.txt").exists()


def test_drawing_text_from_a_classifier_is_refused(cli):
    result = cli("train", "data=synthetic", "trainer.sample_every=1", "trainer.epochs=1")
    refused(result, "trainer.sample_every", "data=text")
