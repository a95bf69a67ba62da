"""Bad command lines fail before any data is loaded, with one message naming the key and what is allowed."""

import pytest

import runner.build.assemble

CASES = [
    # (override, words the message must contain)
    ("optimizer.lrr=0.1", ["optimizer.lrr", "unknown key", "lr"]),
    ("trainer.epochs=ten", ["trainer.epochs", "ten", "Integer"]),
    ("optimizer.lr=-1", ["optimizer.lr", "> 0", "-1"]),
    ("regularization.dropout=1.5", ["regularization.dropout", "[0, 1)", "1.5"]),
    ("model=perceptron", ["model/perceptron", "Available options", "mlp"]),
    ("model.activation=swish", ["model.activation", "swish", "relu", "tanh", "sigmoid"]),
    ("model.hidden_sizes=[0]", ["model.hidden_sizes", "at least 1 unit"]),
    ("model.hidden_sizes=[a]", ["model.hidden_sizes", "Integer"]),
    ("early_stopping.patience=-2", ["early_stopping.patience", ">= 0"]),
    ("early_stopping.monitor=val/acc", ["early_stopping.monitor", "val/accuracy"]),
    ("trainer.device=tpu", ["trainer.device", "cpu", "cuda"]),
    ("trainer.batch_size=0", ["trainer.batch_size", "at least 1"]),
    ("+learning_rate=3", ["learning_rate", "unknown top-level key", "optimizer"]),
    ("loss=hinge_squared", ["loss", "hinge_squared", "cross_entropy"]),
    ("optimizer=adam optimizer.momentum=0.9", ["optimizer.momentum", "unknown key", "betas"]),
    ("data.train_size=0", ["data.train_size", "between 1 and 50000"]),
]


@pytest.fixture
def no_data_loading(monkeypatch):
    calls = []
    monkeypatch.setattr(
        runner.build.assemble, "load_dataset", lambda cfg: calls.append(cfg) or pytest.fail("data loaded")
    )
    return calls


@pytest.mark.parametrize("override,words", CASES, ids=[c[0] for c in CASES])
def test_bad_override_is_explained_before_any_work(cli, no_data_loading, override, words):
    result = cli("train", *override.split())
    assert result.code == 2
    message = result.err.strip()
    assert message.startswith("runner: config error:"), message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert "Traceback" not in message
    assert not result.outputs.exists(), "nothing may be written for a bad config"
    assert no_data_loading == []


def test_bad_point_in_a_sweep_fails_before_the_first_run(cli, no_data_loading):
    result = cli("train", "-m", "data=synthetic", "optimizer.lr=0.1,0.2,-1", "seed=0,1")
    assert result.code == 2
    assert "sweep point 4 of 6" in result.err and "optimizer.lr=-1" in result.err
    assert not result.outputs.exists()
    assert no_data_loading == []


def test_malformed_override_syntax(cli):
    result = cli("train", "model.hidden_sizes=[100")
    assert result.code == 2
    assert "model.hidden_sizes=[100" in result.err


# ---------------------------------------------------------------- more bad input (issue 8)

MORE_CASES = [
    # missing required values
    ("model=cnn model.conv=[{channels:4}]", ["model.conv[0].kernel", "required value is not set"]),
    ("model=cnn model.conv=[{kernel:3}]", ["model.conv[0].channels", "required value is not set"]),
    ("model.hidden_sizes=???", ["model.hidden_sizes", "required value", "<value>"]),
    # the model does not fit the data, or the loss does not fit the model
    ("model=lenet5", ["model.conv[1].kernel", "larger than the 4x4 feature map"]),
    ("model=conv_autoencoder loss=bce data.image_size=5", ["model.conv[2].pool", "larger than its 1x1 feature map"]),
    ("model=autoencoder", ["loss", "'cross_entropy' does not fit model autoencoder", "reconstructs its input", "bce"]),
    ("model=autoencoder loss=hinge", ["loss", "'hinge'", "mse"]),
    ("model=linear_svm loss=bce", ["loss", "'bce'", "logits", "hinge"]),
    # Keras-style data validates on the test set: picking the best epoch by it would flatter the test score
    (
        "data=mnist data.train_on_validation=true",
        ["early_stopping.restore_best", "validates on the test set", "restore_best=false"],
    ),
    # unknown keys that Hydra lets into typed nodes with +
    ("+trainer.epochz=3", ["trainer.epochz", "unknown key", "epochs"]),
    ("+regularization.dropuot=0.5", ["regularization.dropuot", "unknown key", "dropout"]),
    # values no schema range catches
    ("optimizer.lr=inf", ["optimizer.lr", "finite", "inf"]),
    ("regularization.l2=nan", ["regularization.l2", "finite", "nan"]),
    ("seed=-1", ["seed", "0 to 2**63-1"]),
    # overrides Hydra itself cannot apply
    ("model=null", ["model=null", "options of model", "mlp"]),
    ("reference.id=x", ["reference.id=x", "reference is null"]),
    ("+experiment=no_such_experiment", ["experiment/no_such_experiment", "Available options", "tanh_vs_relu"]),
    # configs cannot name code
    ("+model._target_=os.system", ["model._target_", "cannot name code", "os.system", "mlp"]),
    ("+_target_=os.system", ["_target_", "cannot name code"]),
    ("+trainer._target_=os.system", ["trainer._target_", "cannot name code"]),
    (
        "+hydra.callbacks.evil._target_=os.system",
        ["hydra.callbacks.evil._target_", "os.system", "runner.launch.sweep_manifest.SweepManifest"],
    ),
]


@pytest.mark.parametrize("override,words", MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_more_bad_overrides_are_explained_before_any_work(cli, no_data_loading, override, words):
    test_bad_override_is_explained_before_any_work(cli, no_data_loading, "data=synthetic " + override, words)


EXPERIMENT_CASES = [
    # (file text, extra overrides, words the message must contain, the 1-based line it must name or None)
    (
        "# @package _global_\nmodel:\n  hidden_sizes: [100\ntrainer: {epochs: 2}\n",
        [],
        ["malformed YAML", "expected ',' or ']'"],
        4,
    ),
    ("# @package _global_\nmodel: {hidden_sizes: [10]\n", [], ["malformed YAML"], 3),
    ("# @package _global_\ntrainer:\n\tepochs: 2\n", [], ["malformed YAML"], 3),
    ("# @package _global_\nmodel:\n  hiden_sizes: [10]\n", [], ["model.hiden_sizes", "unknown key", "hidden_sizes"], 3),
    ("# @package _global_\ntrainr:\n  epochs: 3\n", [], ["trainr", "unknown key", "trainer"], 2),
    ("# @package _global_\ntrainer:\n  epochs: ten\n", [], ["trainer.epochs", "ten", "Integer"], 3),
    (
        "# @package _global_\ndefaults:\n  - override /model: mlp\n  - _self_\nmodel:\n  hidden_sizes: ???\n",
        [],
        ["model.hidden_sizes is ???", "required", "on the command line"],
        6,
    ),
    (
        "# @package _global_\ndefaults:\n  - override /model: perceptron\n",
        [],
        ["model/perceptron", "Available options", "mlp"],
        None,
    ),
    (
        "# @package _global_\nmodel:\n  _target_: os.system\n  _args_: ['touch MARKER']\n",
        [],
        ["model._target_", "cannot name code"],
        3,
    ),
    (
        "# @package _global_\n_target_: os.system\n_args_: ['touch MARKER']\n",
        [],
        ["_target_", "cannot name code"],
        None,
    ),
    (
        "# @package _global_\nhydra:\n  callbacks:\n    evil:\n      _target_: os.system\n      command: touch MARKER\n",
        [],
        ["hydra.callbacks.evil._target_", "os.system"],
        None,
    ),
    (
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      optimizer.lr: 0.1,-1\n",
        ["-m"],
        ["sweep point 1 of 2", "optimizer.lr", "> 0"],
        None,
    ),
]


@pytest.mark.parametrize(
    "text,extra,words,line", EXPERIMENT_CASES, ids=[f"experiment{i}" for i in range(len(EXPERIMENT_CASES))]
)
def test_bad_experiment_file_is_explained_naming_file_and_line(
    cli, no_data_loading, experiment_file, tmp_path, text, extra, words, line
):
    marker = tmp_path / "MARKER"
    name = experiment_file(text.replace("MARKER", str(marker)))
    result = cli("train", *extra, "data=synthetic", f"+experiment={name}")
    message = result.err.strip()
    assert result.code == 2, message
    assert message.startswith("runner: config error:") and len(message.splitlines()) == 1, message
    assert "Traceback" not in message
    if line is not None:
        assert f"experiments/{name}.yaml, line {line}" in message, message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert not result.outputs.exists(), "nothing may be written for a bad config"
    assert not marker.exists(), "a config ran code"
    assert no_data_loading == []


def test_a_required_value_given_on_the_command_line_is_accepted(experiment_file):
    from runner.launch.preflight import PreflightError, check

    name = experiment_file("# @package _global_\nmodel:\n  hidden_sizes: ???\n")
    with pytest.raises(PreflightError, match="required"):
        check(["data=synthetic", f"+experiment={name}"])
    (cfg,) = check(["data=synthetic", f"+experiment={name}", "model.hidden_sizes=[7]"])
    assert list(cfg.model.hidden_sizes) == [7]


def test_code_named_by_an_override_never_runs(cli_process, tmp_path):
    """The whole way, in a real process: `_target_` + args that would create a file."""
    marker = tmp_path / "MARKER"
    result = cli_process(
        "train", "data=synthetic", "trainer.threads=1", "+model._target_=os.system", f"+model._args_=['touch {marker}']"
    )
    assert result.code == 2, result.err
    assert "model._target_" in result.err and "cannot name code" in result.err
    assert not marker.exists() and not result.outputs.exists()
