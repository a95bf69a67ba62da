"""TensorBoard's run names are made of override text (runner/record/run_name.py): whatever an
override holds ('/', '..', a newline, unicode, thousands of characters), the name is one plain
folder inside the run folder, and the run's other files are not touched by it."""

import os
from pathlib import Path

from conftest import TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.record.run_folder import RunFolder
from runner.record.run_name import MAX_LENGTH, folder_name

HOSTILE = [
    ["data.root=../../../../etc/passwd"],
    ["model.init_from=/"],
    [".."],
    ["."],
    ["key=\n\r\t\x00"],
    ["model.activation=tänh🎉", "seed=0"],
    ["x=" + "é" * 5000],
    ["+~=" + "/" * 300],
    [".hydra"],
    ["checkpoints=", "=..=/.."],
]


def is_one_safe_folder(name: str, folder: Path) -> bool:
    inside = Path(os.path.realpath(folder / name))
    return (
        inside.parent == Path(os.path.realpath(folder))
        and name.isascii()
        and name.isprintable()
        and not name.startswith(".")
        and ".." not in name
        and 0 < len(name) <= MAX_LENGTH
    )


def test_hostile_override_text_gives_one_plain_folder_name(tmp_path):
    for overrides in HOSTILE:
        name = folder_name(overrides)
        assert is_one_safe_folder(name, tmp_path), (overrides, name)
        assert RunFolder(tmp_path).tensorboard_dir(name).parent == tmp_path
    assert folder_name(["x=" + "a" * 200 + "1"]) != folder_name(["x=" + "a" * 200 + "2"])  # cut, then told apart
    assert folder_name(["seed=1", "lr=2", "seed=3"]) == "lr=2,seed=3"  # the value the run has, where it was given
    assert folder_name([]) == "defaults"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=400), max_size=6))
def test_any_override_text_gives_one_plain_folder_name(tmp_path_factory, overrides):
    assert is_one_safe_folder(folder_name(overrides), tmp_path_factory.getbasetemp())


def test_a_slash_in_an_override_value_stays_in_the_run_folder(cli, outputs):
    """early_stopping.monitor=val/loss: the '/' of a metric's name becomes '_' in the run's name."""
    result = cli("train", *TINY, "trainer.epochs=1", "early_stopping.monitor=val/loss")
    assert result.code == 0, result.err
    run = result.run_dir()
    (events,) = RunFolder(run).events()
    assert events.parent.parent == run  # trainer.epochs: given twice, named once, with the value the run has
    assert events.parent.name == (
        "data=synthetic,trainer.batch_size=32,optimizer=sgd,optimizer.lr=0.5,trainer.epochs=1,early_stopping.monitor=val_loss"
    )
