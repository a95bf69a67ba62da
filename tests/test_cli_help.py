"""`runner --help`, `runner train --help`, `python -m runner`: what a new user types first."""

import pytest

from runner.cli import COMMANDS

WIDTH = 80  # a terminal's columns: no help line may wrap there
SCREEN = 40  # about one screen: train --help's footer must show without scrolling


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_top_level_help_lists_commands(cli_process):
    result = cli_process("--help")
    assert result.code == 0
    assert "train" in result.out and "runner train -m" in result.out


def test_train_help_lists_config_groups_and_points_to_the_config(cli_process):
    result = cli_process("train", "--help")
    assert result.code == 0
    for group in ("model", "optimizer", "regularization", "early_stopping", "trainer", "data"):
        assert f"\n  {group}: " in result.out
    assert "runner train --cfg job" in result.out  # where every key and its default are
    assert "hidden_sizes" not in result.out  # not the whole config: it pushed the footer off the screen


def test_the_config_train_help_points_to_is_printed_whole(cli_process):
    result = cli_process("train", "--cfg", "job")
    assert result.code == 0 and "hidden_sizes:" in result.out and "patience:" in result.out


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)], ids=lambda c: " ".join(c) or "runner")
def test_every_help_fits_80_columns(cli, cli_process, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", str(WIDTH))  # argparse wraps its option help to the terminal
    # train's help is Hydra's, printed from the composed config: as a user's process sees it
    result = (cli_process if command == ["train"] else cli)(*command, "--help")
    assert result.code == 0, result.err
    assert widest(result.out) <= WIDTH, [line for line in result.out.splitlines() if len(line) > WIDTH]
    if command == ["train"]:
        lines = result.out.rstrip("\n").splitlines()
        assert len(lines) <= SCREEN, len(lines)
        assert "--hydra-help" in lines[-1]  # the footer, on the first screen


@pytest.mark.slow  # Hydra's own rendering lists the whole config store: 20 s and more
def test_train_help_is_the_text_hydra_renders(cli_process, tmp_path):
    ours = cli_process("train", "--help")
    hydras = cli_process("train", "--help", "--config-dir", str(tmp_path))  # an empty folder adds nothing
    assert ours.code == hydras.code == 0, hydras.err
    assert ours.out == hydras.out


def test_train_help_wraps_long_groups_between_options():
    from runner.launch.train_help import config_groups

    lines = config_groups().splitlines()
    model = next(i for i, line in enumerate(lines) if line.startswith("  model: "))
    assert lines[model + 1].startswith("      ")  # the model options go on under a hanging indent
    words = " ".join(lines).replace(",", " ").split()
    assert "denoising_autoencoder" in words and "softmax_regression" in words  # no option cut in two


def test_unknown_command_is_named(cli):
    result = cli("trian")
    assert result.code == 2
    assert "unknown command 'trian'" in result.err and "train" in result.err
