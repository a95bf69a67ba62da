"""`runner --help`, `runner train --help`, `python -m runner`: what a new user types first."""


def test_top_level_help_lists_commands(cli_process):
    result = cli_process("--help")
    assert result.code == 0
    assert "train" in result.out and "runner train -m" in result.out


def test_train_help_lists_config_groups_and_defaults(cli_process):
    result = cli_process("train", "--help")
    assert result.code == 0
    for group in ("model", "optimizer", "regularization", "early_stopping", "trainer", "data"):
        assert group in result.out
    assert "hidden_sizes" in result.out  # the composed default config is shown


def test_unknown_command_is_named(cli):
    result = cli("trian")
    assert result.code == 2
    assert "unknown command 'trian'" in result.err and "train" in result.err
