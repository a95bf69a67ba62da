"""trainer.overwrite=true on a folder that held a text run: the old run's vocabulary, label names
and drawn samples go with its results, so that nothing of one run is read beside another's
(samples.txt is appended to, labels.json names the confusion matrix's classes)."""

import random

FAST = ["trainer.threads=1", "trainer.epochs=1", "early_stopping=none", "trainer.batch_size=16"]


def test_overwrite_drops_the_old_runs_samples(cli, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(random.Random(0).choice(("abc", "abd", "xyz")) for _ in range(600)))
    folder = tmp_path / "outputs" / "lm"
    args = ["train", "data=text", f"data.path={corpus}", "data.context=16", "model=gru", "model.hidden_size=8"]
    args += [*FAST, "trainer.sample_every=1", "sample.length=20", f"hydra.run.dir={folder}"]
    assert cli(*args, "sample.seed=1").code == 0
    again = cli(*args, "sample.seed=2", "trainer.overwrite=true")
    assert again.code == 0, again.err[-2000:]
    headings = [line for line in (folder / "samples.txt").read_text().splitlines() if line.startswith("===")]
    assert len(headings) == 1 and "seed 2" in headings[0], headings


def test_overwrite_drops_the_old_runs_label_names(cli, tmp_path):
    named, numbered = tmp_path / "named.csv", tmp_path / "numbered.csv"
    rows = [(f"a good day {i}", "pos", 1) for i in range(30)] + [(f"a bad day {i}", "neg", 0) for i in range(30)]
    named.write_text("text,label\n" + "".join(f"{t},{name}\n" for t, name, _ in rows))
    numbered.write_text("text,label\n" + "".join(f"{t},{n}\n" for t, _, n in rows))
    folder = tmp_path / "outputs" / "tc"
    args = ["train", "data=text_classification", "model=gru", "model.hidden_size=8", *FAST, f"hydra.run.dir={folder}"]
    assert cli(*args, f"data.path={named}").code == 0
    assert (folder / "labels.json").exists()
    again = cli(*args, f"data.path={numbered}", "trainer.overwrite=true")
    assert again.code == 0, again.err[-2000:]
    assert not (folder / "labels.json").exists(), "the first run's label names would name the second run's classes"
