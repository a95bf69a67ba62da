"""data=text_classification against tables that cannot be classified and models that cannot read
them: each is refused by the preflight with one `runner:` line naming the file or key, exit code
2, no run folder, nothing cached, the data folder left as it was."""

import os

import pytest
from adversarial_support import cache, data, refused, refused_before_any_run, snapshot  # noqa: F401 (fixtures)

QUICK = ["trainer.epochs=1", "trainer.threads=1", "model=gru", "model.hidden_size=8", "data.max_length=8"]
GOOD = "text,label\n" + "".join(f"a good day number {i},pos\nsuch a bad day {i},neg\n" for i in range(20))


def train(cli, path, *args):
    other_model = any(a.startswith("model=") for a in args)
    quick = [a for a in QUICK if not (other_model and a.startswith("model"))]
    return cli("train", "data=text_classification", f"data.path={path}", *quick, *args)


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", ["empty", "header line"]),
        (b"review,stars\nnice,1\nugly,0\n", ["data.text_column", "no column 'text', 'label'", "'review', 'stars'"]),
        (GOOD.replace(",neg\n", ",pos\n").encode(), ["every row has the label 'pos'", "two classes"]),
        (b"text,label\nfine,1\n  ,0\nok,1\n", ["line 3", "text (column 'text') is empty"]),
        (b"text,label\nfine,1\nsoso,\n", ["line 3", "label (column 'label') is empty"]),
        (("text,label\n" + "caf\u00e9 au lait,1\nthe,0\n" * 10).encode("latin-1"), ["not UTF-8"]),
        (b"text,label\nhello\x00world,1\nthe,0\n", ["line 2", "NUL byte", "binary"]),
        (b"text,label\n", ["no rows below the header"]),
    ],
    ids=["empty", "missing-columns", "one-class", "empty-text", "empty-label", "latin-1", "nul", "no-rows"],
)
def test_a_table_that_cannot_be_classified_is_refused(cli, data, cache, content, words):
    path = data / "texts.csv"
    path.write_bytes(content)
    before = snapshot(data)
    refused_before_any_run(train(cli, path), cache, data, before, str(path), *words)


def test_a_fifo_is_refused_without_blocking(cli, data, cache):
    path = data / "texts.csv"
    os.mkfifo(path)
    before = snapshot(data)
    refused_before_any_run(train(cli, path), cache, data, before, "data.path", "not a regular file")


@pytest.mark.parametrize(
    "args,words",
    [
        (["data.label_column=stars"], ["data.label_column", "no column 'stars'", "'text', 'label'"]),
        (["data.num_classes=3"], ["data.num_classes", "2 label names"]),
        (["model=text_cnn", "model.widths=[3,9]"], ["model.widths", "9 tokens wide", "data.max_length=8"]),
        (["model=mlp"], ["model.name", "does not classify texts", "text_cnn", "lstm"]),
        (["model.bidirectional=true"], ["model.bidirectional", "padding"]),
        (["trainer.sample_every=1"], ["trainer.sample_every", "data=text"]),
        (["regularization.input_noise=0.1"], ["regularization.input_noise", "token ids"]),
        (["data.tokens=bytes"], ["data.tokens", "char, word"]),
        (["data.delimiter=ab"], ["data.delimiter", "one character"]),
    ],
    ids=["no-such-label-column", "num-classes", "filter-too-wide", "mlp", "bidirectional", "sampling", "noise",
         "tokens", "delimiter"],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused(cli, data, cache, args, words):
    path = data / "texts.csv"
    path.write_text(GOOD)
    before = snapshot(data)
    refused_before_any_run(train(cli, path, *args), cache, data, before, *words)


@pytest.mark.parametrize("data", ["data=synthetic", "data=text"], ids=["images", "language-model"])
def test_mean_pooling_outside_text_classification_is_refused(cli, data, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 40)
    result = cli(
        "train",
        data,
        f"data.path={corpus}" if data == "data=text" else "data.num_classes=3",
        "model=lstm",
        "model.pooling=mean",
        "data.context=8" if data == "data=text" else "data.image_size=8",
    )
    refused(result, "model.pooling", "set it last")
    assert not (result.outputs.exists() and list(result.outputs.rglob("*")))


def test_text_cnn_on_a_language_model_corpus_is_refused(cli, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 40)
    result = cli("train", "data=text", f"data.path={corpus}", "data.context=8", "model=text_cnn")
    line = refused(result, "model.name", "text_cnn does not read token ids", "lstm", "transformer")
    assert "text_cnn," not in line and not line.endswith("text_cnn")  # not offered as a language model
    assert not (result.outputs.exists() and list(result.outputs.rglob("*")))


def test_text_cnn_on_images_is_refused(cli, cache):
    result = cli("train", "data=synthetic", "model=text_cnn", "trainer.epochs=1")
    refused(result, "model.name", "text_cnn classifies texts", "model=cnn")
    assert not (result.outputs.exists() and list(result.outputs.rglob("*")))
