"""What a student sees in TensorBoard after a small sweep and one autoencoder run (issue #27):
TensorBoard itself is started on 127.0.0.1 over the outputs folder, and asked through the HTTP
endpoints its pages read (runs, hparams, scalars, images, text)."""

import csv
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from runner.cli import main
from runner.record.run_folder import RunFolder

EVERY = 3  # trainer.log_every_n_steps: 256 synthetic examples / batch 32 = 8 steps an epoch -> 3 points
FIXED = [
    "data=synthetic",
    "trainer.epochs=2",
    "trainer.batch_size=32",
    "model.hidden_sizes=[8]",
    "optimizer=sgd",
    "optimizer.lr=0.5",
    "trainer.deterministic=true",
    f"trainer.log_every_n_steps={EVERY}",
]
SWEPT = ["model.activation=tanh,relu", "seed=0,1"]
AUTOENCODER = ["data=synthetic", "trainer.epochs=2", "model=autoencoder", "loss=bce"]
NOT_NAMED = ["trainer.threads=1", "trainer.progress=false"]  # how a run goes, not what it computes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The sweep and the autoencoder run, as a user types them, in one outputs folder (this process:
    the conftest `cli` fixture's way, once for the module)."""
    outputs = tmp_path_factory.mktemp("tensorboard") / "outputs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_OUTPUTS", str(outputs))
        for args in (["-m", *FIXED, *SWEPT, *NOT_NAMED], [*AUTOENCODER, *NOT_NAMED]):
            try:
                main(["train", *args])
            except SystemExit as stop:
                assert not stop.code, f"runner train {' '.join(args)} exited with {stop.code}"
    return outputs


@pytest.fixture(scope="module")
def tensorboard(trained):
    """TensorBoard serving the outputs folder (data read once before it serves); its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(trained), "--host", "127.0.0.1", "--port", "0",
         "--reload_task", "blocking", "--reload_interval", "0", "--load_fast", "false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline, url = time.monotonic() + 60, None
        while url is None and time.monotonic() < deadline and server.poll() is None:
            found = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline())
            url = found and found.group(0)
        assert url, "TensorBoard did not say where it serves"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def get(url: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def sweep_runs(runs):
    return sorted(r for r in runs if r.startswith("sweeps/"))


def test_run_names_say_what_differs(tensorboard):
    runs = get(tensorboard, "data/runs")
    points = [run.split("/", 3)[3] for run in sweep_runs(runs)]  # sweeps/<date>/<time>/<point>/<name>
    assert points == [
        "0/model.activation=tanh,seed=0",
        "1/model.activation=tanh,seed=1",
        "2/model.activation=relu,seed=0",
        "3/model.activation=relu,seed=1",
    ]
    (single,) = [run for run in runs if run.startswith("runs/")]
    assert single.endswith("/data=synthetic,trainer.epochs=2,model=autoencoder,loss=bce")


def test_hparams_are_the_overridden_keys_with_their_types(tensorboard):
    experiment = get(tensorboard, "data/plugin/hparams/experiment", {"experimentName": ""})
    columns = {info["name"]: info for info in experiment["hparamInfos"]}
    overridden = {o.split("=")[0] for o in FIXED + SWEPT + AUTOENCODER}
    assert set(columns) == overridden  # not the other ~60 keys of the config, not trainer.threads
    types = {name: info["type"].removeprefix("DATA_TYPE_") for name, info in columns.items()}
    assert types["model.activation"] == types["data"] == types["model.hidden_sizes"] == "STRING"
    assert types["seed"] == types["optimizer.lr"] == types["trainer.epochs"] == "FLOAT64"  # TensorBoard has no int
    assert types["trainer.deterministic"] == "BOOL"
    differs = sorted(name for name, info in columns.items() if info.get("differs"))
    assert differs == ["model.activation", "seed"]  # the autoencoder run has no model.activation of its own
    assert sorted(columns["model.activation"]["domainDiscrete"]) == ["relu", "tanh"]
    assert columns["seed"]["domainInterval"] == {"minValue": 0, "maxValue": 1}  # the seeds swept
    statuses = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]  # the table's default
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 100, "allowedStatuses": statuses}
    groups = get(tensorboard, "data/plugin/hparams/session_groups", request)
    names = sorted(group["name"] for group in groups["sessionGroups"])
    assert names[0].startswith("data=synthetic,trainer.epochs=2,model=autoencoder,loss=bce  ")
    assert [name.split("  ")[0] for name in names[1:3]] == [
        "model.activation=relu,seed=0",
        "model.activation=relu,seed=1",
    ]
    values = {group["name"].split("  ")[0]: group["hparams"] for group in groups["sessionGroups"]}
    assert (
        values["model.activation=tanh,seed=1"]["seed"] == 1
        and values["model.activation=tanh,seed=1"]["trainer.deterministic"] is True
    )


def test_training_loss_has_a_point_every_n_steps(tensorboard):
    run = sweep_runs(get(tensorboard, "data/runs"))[0]
    query = urllib.parse.urlencode({"run": run, "tag": "loss/train_by_step"})
    points = get(tensorboard, f"data/plugin/scalars/scalars?{query}")
    assert [step for _, step, _ in points] == [3, 6, 8, 11, 14, 16]  # every 3 steps of 8, and each epoch's last
    assert len({loss for _, _, loss in points}) == 6 and all(0 < loss < 10 for _, _, loss in points)


@pytest.mark.parametrize("model", [["model.hidden_sizes=[8]"], ["model=autoencoder", "loss=bce"]])
def test_the_per_step_curve_changes_no_number_of_the_run(cli, outputs, model):
    """The epoch's training loss is the examples-weighted mean of the per-step points: the same, to
    float rounding, as without them (trainer.log_every_n_steps=0), for classifiers and autoencoders."""
    runs = {}
    for every in (EVERY, 0):
        result = cli("train", "data=synthetic", "trainer.epochs=2", "trainer.batch_size=32", *model,
                     f"trainer.log_every_n_steps={every}", f"hydra.run.dir={outputs}/every{every}")  # fmt: skip
        assert result.code == 0, result.err
        runs[every] = list(csv.DictReader(RunFolder(outputs / f"every{every}").metrics_file.open()))
    for with_curve, without in zip(runs[EVERY], runs[0]):
        assert float(with_curve["train/loss"]) == pytest.approx(float(without["train/loss"]), rel=1e-6)
        assert with_curve["val/loss"] == without["val/loss"]
    (events,) = RunFolder(outputs / "every0").events()
    assert b"loss/train_by_step" not in events.read_bytes()


def test_tested_scores_sort_last_and_are_a_table(tensorboard):
    run = sweep_runs(get(tensorboard, "data/runs"))[0]
    tags = sorted(get(tensorboard, "data/plugin/scalars/tags")[run])
    assert tags[-4:] == ["tested/test_accuracy", "tested/test_loss", "tested/val_accuracy", "tested/val_loss"]
    assert tags[:2] == ["accuracy/train", "accuracy/val"] and "loss/train" in tags and "lr" in tags
    query = urllib.parse.urlencode({"run": run, "tag": "tested/text_summary"})
    (text,) = get(tensorboard, f"data/plugin/text/text?{query}")
    assert "Tested weights: best (epoch" in text["text"] and "test_accuracy" in text["text"]


def test_reconstructions_are_labelled(tensorboard):
    (run,) = [run for run in get(tensorboard, "data/runs") if run.startswith("runs/")]
    tags = get(tensorboard, "data/plugin/images/tags")[run]
    assert list(tags) == ["reconstructions/input_above_output"]
    query = urllib.parse.urlencode({"run": run, "tag": "reconstructions/input_above_output", "sample": 0})
    images = get(tensorboard, f"data/plugin/images/images?{query}")
    assert [image["step"] for image in images] == [1, 2]
