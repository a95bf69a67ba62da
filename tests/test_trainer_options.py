"""The speed options trainer.compile, precision, channels_last and cuda_graphs, through the real
CLI on tiny synthetic data on the CPU (their CUDA side: tests/test_gpu.py)."""

import contextlib
import csv
import json
from types import SimpleNamespace

import pytest
import torch
from conftest import TINY

import runner.build.layout
import runner.fit.speed
from runner.build.device import resolve_device
from runner.config.schema import validate
from runner.launch.preflight import check

# A CNN that fits the 8x8 synthetic images, with more than one channel between its conv layers.
CNN = ["model=cnn", "model.conv=[{channels:8,kernel:3,padding:1,pool:2},{channels:8,kernel:3,padding:1}]", "model.fc=[16]",
       "optimizer=adam", "optimizer.lr=0.01"]  # fmt: skip


def train(cli, outputs, name, *args):
    """One run into outputs/<name> (several runs in one test); returns its folder."""
    result = cli("train", *TINY, "trainer.progress=false", f"hydra.run.dir={outputs / name}", *args)
    assert result.code == 0, result.err
    return outputs / name


def metrics(folder) -> list:
    """metrics.csv as numbers, without the seconds column (wall time differs between runs)."""
    with open(folder / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def assert_loss_falls(folder) -> None:
    rows = metrics(folder)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"], rows


def test_the_default_step_calls_the_module_itself():
    """No wrapper between the loop and the model unless an option asks for one (the default path
    must cost what a plain loop costs)."""
    cfg = validate(check([*TINY])[0])
    model = torch.nn.Linear(2, 2)
    assert runner.fit.speed.training_forward(model, cfg.trainer, resolve_device("cpu")) is model


def test_bf16_trains_on_the_cpu_under_autocast(cli, outputs):
    fp32 = train(cli, outputs, "fp32", "seed=1")
    bf16 = train(cli, outputs, "bf16", "seed=1", "trainer.precision=bf16")
    assert_loss_falls(bf16)
    first, second = metrics(fp32)[-1]["train/loss"], metrics(bf16)[-1]["train/loss"]
    assert first != second and second == pytest.approx(first, abs=0.1)  # bf16 arithmetic: close, not equal
    assert json.loads((bf16 / "results.json").read_text())["test"]["accuracy"] > 0.5


def test_fp64_trains_in_float64_evaluates_alike_and_leaves_the_default_dtype_alone(cli, outputs):
    fp64 = train(cli, outputs, "fp64", "seed=1", "trainer.precision=fp64")
    assert torch.get_default_dtype() == torch.float32  # put back after the run (sweeps run several in one process)
    state = torch.load(fp64 / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float64}
    assert_loss_falls(fp64)  # (not comparable step by step with fp32: the initial weights are drawn in float64)
    assert json.loads((fp64 / "results.json").read_text())["test"]["accuracy"] > 0.5
    assert cli("evaluate", str(fp64)).code == 0
    recorded = json.loads((fp64 / "results.json").read_text())["test"]
    tested = json.loads((fp64 / "evaluation" / "evaluation.json").read_text())["test"]
    assert tested == pytest.approx(recorded, rel=1e-12)  # evaluated in float64 too


def test_bf16_forward_gives_fp32_outputs_for_the_loss():
    forward = runner.fit.speed.in_bf16(torch.nn.Linear(4, 3), "cpu", cache=True)
    assert forward(torch.randn(2, 4)).dtype == torch.float32


def test_channels_last_on_a_cnn_gives_the_same_metrics(cli, outputs, monkeypatch):
    converted = []
    real = runner.build.layout.to_channels_last
    monkeypatch.setattr(
        runner.build.layout, "to_channels_last", lambda model, data: converted.append(model) or real(model, data)
    )
    plain = train(cli, outputs, "plain", *CNN, "trainer.channels_last=false")
    assert converted == []
    nhwc = train(cli, outputs, "nhwc", *CNN, "trainer.channels_last=true")
    conv = next(m for m in converted[0].modules() if isinstance(m, torch.nn.Conv2d)) if converted else None
    assert len(converted) == 1 and conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert_loss_falls(nhwc)
    for a, b in zip(metrics(plain), metrics(nhwc)):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-6)
    auto = train(cli, outputs, "auto", *CNN)  # auto: on for CNNs on the CPU in fp32 (faster there) ...
    assert len(converted) == 2 and metrics(auto) == metrics(nhwc)
    assert cli("evaluate", str(auto)).code == 0 and len(converted) == 3  # evaluated in the layout it was tested in:
    recorded = json.loads((auto / "results.json").read_text())["test"]
    assert json.loads((auto / "evaluation" / "evaluation.json").read_text())["test"] == recorded  # the same numbers
    train(cli, outputs, "auto64", *CNN, "trainer.precision=fp64")  # ... but not in fp64 (slower)
    assert len(converted) == 3


def test_channels_last_is_nothing_to_do_for_a_model_without_conv_layers(cli, outputs, monkeypatch):
    monkeypatch.setattr(
        runner.build.layout, "to_channels_last", lambda model, data: pytest.fail("an MLP has no conv layers to convert")
    )
    assert_loss_falls(train(cli, outputs, "mlp", "trainer.channels_last=true"))


def test_compiled_run_trains_and_its_checkpoint_reloads_with_runner_evaluate(cli, outputs):
    # About 12 s on a loaded 2-core machine with inductor's on-disk cache cold, 4 s warm: kept in the fast suite.
    from torch._dynamo.utils import counters

    counters.clear()
    try:
        run_dir = train(cli, outputs, "compiled", "trainer.compile=true", "seed=3")
        assert counters["stats"]["unique_graphs"] >= 1, "nothing was compiled"
    finally:
        torch._dynamo.reset()  # no compiled code left behind for the next tests
    assert_loss_falls(run_dir)
    state = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert state and not any(key.startswith("_orig_mod.") for key in state), list(state)
    evaluation = cli("evaluate", str(run_dir))
    assert evaluation.code == 0, evaluation.err
    recorded = json.loads((run_dir / "results.json").read_text())["test"]
    tested = json.loads((run_dir / "evaluation" / "evaluation.json").read_text())["test"]
    assert tested["accuracy"] == recorded["accuracy"] and tested["loss"] == pytest.approx(recorded["loss"], rel=1e-5)


class FakeGraph:
    """torch.cuda.CUDAGraph's part on the CPU: what a step does while captured is kept as a
    function, and replay() runs it again (a graph re-runs its kernels on the same tensors)."""

    captures = 0
    capturing = None

    def __init__(self):
        self.work = None

    def replay(self):
        self.work()


@contextlib.contextmanager
def fake_capture(graph):
    FakeGraph.captures += 1
    FakeGraph.capturing = graph
    yield
    FakeGraph.capturing = None


def test_cuda_graph_step_warms_up_replays_runs_partial_batches_eagerly_and_recaptures(monkeypatch):
    """CudaGraphStep's bookkeeping, with the CUDA parts faked (tests/test_gpu.py runs the real ones)."""
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", fake_capture)
    monkeypatch.setattr(runner.fit.speed, "on_side_stream", lambda fn, *args: fn(*args))
    FakeGraph.captures = 0
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    trained = []

    def step(split, idx):
        record = torch.zeros(())

        def work():
            trained.append((idx.tolist(), optimizer.param_groups[0]["lr"]))
            record.fill_(idx.sum())

        if FakeGraph.capturing:
            FakeGraph.capturing.work = work  # captured: it runs on replay, with the indices copied in then
        else:
            work()
        return record

    graphed = runner.fit.speed.CudaGraphStep(step, optimizer, batch_size=2)
    split = SimpleNamespace(x=torch.zeros(10))
    batches = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [5]]
    records = [graphed(split, torch.tensor(idx)) for idx in batches]
    assert FakeGraph.captures == 1  # after 3 warm-up steps; the partial batch [5] ran eagerly
    optimizer.param_groups[0]["lr"] = 0.05  # a schedule's change: the next full batch captures anew
    records += [graphed(split, torch.tensor([0, 1])), graphed(split, torch.tensor([2, 3]))]
    assert FakeGraph.captures == 2
    assert trained == [(idx, 0.1) for idx in batches] + [([0, 1], 0.05), ([2, 3], 0.05)]
    assert [r.item() for r in records] == [1, 5, 9, 13, 17, 5, 1, 5]  # each its own copy, not the graph's output


def test_cuda_graphs_on_the_cpu_is_refused_in_one_line(cli, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("auto", "cpu"):
        result = cli("train", *TINY, f"trainer.device={device}", "trainer.cuda_graphs=true")
        assert result.code == 2
        message = result.err.strip()
        assert message.startswith("runner: config error: trainer.cuda_graphs:") and len(message.splitlines()) == 1, (
            message
        )
        assert "trainer.device=cuda" in message and "trainer.cuda_graphs=false" in message
        assert not result.outputs.exists(), "nothing may be written for a bad config"


@pytest.mark.parametrize(
    "override,words",
    [
        ("trainer.precision=fp16", ["trainer.precision", "fp32, bf16, fp64", "fp16"]),
        ("trainer.channels_last=maybe", ["trainer.channels_last", "auto, true, false", "maybe"]),
        ("trainer.compile=maybe", ["trainer.compile", "maybe"]),
        ("trainer.cuda_graphs=sometimes", ["trainer.cuda_graphs", "sometimes"]),
        ("trainer.cuda_graphs=true optimizer=lbfgs", ["trainer.cuda_graphs", "optimizer=lbfgs", "closure"]),
        ("trainer.cuda_graphs=true optimizer=adagrad", ["trainer.cuda_graphs", "optimizer=adagrad", "step count"]),
        ("trainer.cuda_graphs=true trainer.strategy=ddp", ["trainer.cuda_graphs", "trainer.strategy=ddp"]),
        (
            "trainer.cuda_graphs=true regularization.weight_noise=0.01",
            ["trainer.cuda_graphs", "regularization.weight_noise"],
        ),
        (
            "trainer.compile=true model=contractive_autoencoder loss=bce",
            ["trainer.compile", "contractive", "double backward"],
        ),
    ],
)
def test_bad_values_and_combinations_are_refused(cli, override, words):
    # trainer.device=cuda: the combinations are refused before the (here absent) GPU is looked for.
    result = cli("train", *TINY, "trainer.device=cuda", *override.split())
    assert result.code == 2
    message = result.err.strip()
    assert message.startswith("runner: config error:") and len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert not result.outputs.exists()
