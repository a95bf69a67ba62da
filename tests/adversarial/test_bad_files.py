"""Bad input from files and lists the user (or someone else) wrote: each is refused with one
`runner…: ` line on stderr naming the file or the entry, exit code 2, no traceback, and nothing
already on disk is changed."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import TINY


def refusal(result) -> str:
    """The one line that says what is wrong; asserts exit code 2, no traceback, no second line."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("runner")]
    assert len(lines) == 1, result.err
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- hydra/sweeper=job_list entries


@pytest.mark.parametrize(
    "jobs, index, says",
    [
        ("[\"seed=0 model.name='x\"]", 0, "no closing quotation"),
        ("['seed=0','seed=1',{a:1}]", 2, "expected one job's overrides as a string"),
        ("[1,2]", 0, "'1' is not an override (key=value)"),
        ("['seed=0','seed=0 ===']", 1, "cannot parse override '==='"),
    ],
)
def test_a_malformed_job_list_entry_is_named_by_its_index(cli, outputs, jobs, index, says):
    sweep = outputs / "jobs"
    result = cli("train", "-m", *TINY, "hydra/sweeper=job_list", f"hydra.sweeper.jobs={jobs}", f"hydra.sweep.dir={sweep}")
    line = refusal(result)
    assert line.startswith(f"runner: config error: hydra.sweeper.jobs[{index}]") and says in line, line
    assert not sweep.exists() and not list(outputs.rglob("results.json"))  # refused before anything ran


# ---------------------------------------------------------------- runner compare: corrupt and diverged runs

JOBS = ("hydra.sweeper.jobs=['model.activation=tanh seed=0','model.activation=tanh seed=1','model.activation=relu seed=0',"
        "'model.activation=relu seed=1','model.activation=relu seed=2 optimizer.lr=1e4']")  # the last one diverges


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """tanh x seeds 0-1, relu x seeds 0-2, where relu's seed 2 trains at lr 1e4 and really diverges
    (compared with --pool optimizer.lr, so that it belongs to the relu group)."""
    import os
    import subprocess
    import sys

    outputs = tmp_path_factory.mktemp("outputs")
    folder = outputs / "sweep"
    command = [sys.executable, "-m", "runner", "train", "-m", *TINY, "hydra/sweeper=job_list", JOBS, f"hydra.sweep.dir={folder}"]
    done = subprocess.run(command, env={**os.environ, "RUNNER_OUTPUTS": str(outputs)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((folder / "4" / "results.json").read_text())["stop_reason"] == "diverged"
    return folder


def table_line(report: str, group: str) -> str:
    """The group's line in the main table (the first table; the Welch table names groups too)."""
    return next(l for l in report.splitlines() if l.startswith(f"| {group}"))


def cells(line: str):
    return [c.strip() for c in line.strip("|").split("|")]


def test_a_results_json_with_a_word_for_a_score_is_named_and_not_counted(cli, sweep, tmp_path):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    results = copy / "1" / "results.json"  # tanh, seed 1
    broken = json.loads(results.read_text())
    broken["test"]["accuracy"] = "high"
    results.write_text(json.dumps(broken))

    result = cli("compare", str(copy), "--pool", "optimizer.lr", "--no-plots")
    assert result.code == 0 and "Traceback" not in result.err
    named = [l for l in result.err.splitlines() if "'high'" in l]
    assert named == [f"runner compare: {results}: test.accuracy is 'high' (str), not a number; run left out"], result.err
    tanh = table_line(result.out, "model.activation=tanh")
    assert cells(tanh)[1] == "1"  # seed 0 alone, as in the Welch table below
    assert "| model.activation=tanh | 1 vs 2 |" in result.out or "| model.activation=relu | 1 vs 2 |" in result.out, result.out
    assert f"- {results}: test.accuracy is 'high'" in result.out.split("## Unreadable files")[1]
    assert "Runs: 5 found, 4 finished (1 diverged)" in result.out
    assert json.loads(results.read_text())["test"]["accuracy"] == "high"  # reported, not rewritten


def test_a_diverged_run_is_marked_and_left_out_unless_asked_for(cli, sweep, tmp_path):
    plain = cli("compare", str(sweep), "--pool", "optimizer.lr", "--no-plots", "--out", str(tmp_path / "a"))
    assert plain.code == 0, plain.err
    relu = cells(table_line(plain.out, "model.activation=relu"))
    assert relu[1] == "2 (+1 diverged, left out)"
    # The mean is over seeds 0 and 1 alone: the diverged run's chance score is not in it.
    kept = [json.loads((sweep / str(i) / "results.json").read_text())["test"]["accuracy"] for i in (2, 3)]
    assert relu[2].startswith(f"{100 * sum(kept) / 2:.2f} ±"), relu
    assert "2 vs 2" in plain.out
    notes = plain.out.split("## Diverged")[1]
    assert f"{sweep / '4'} (" in notes and "diverged at epoch 1; left out of the statistics (--include-diverged pools it)" in notes
    csv_row = (tmp_path / "a" / "comparison.csv").read_text()
    assert "n_diverged" in csv_row.splitlines()[0]

    pooled = cli("compare", str(sweep), "--pool", "optimizer.lr", "--no-plots", "--include-diverged", "--out", str(tmp_path / "b"))
    assert pooled.code == 0, pooled.err
    relu = cells(table_line(pooled.out, "model.activation=relu"))
    assert relu[1] == "3 (incl. 1 diverged)" and ("2 vs 3" in pooled.out or "3 vs 2" in pooled.out)
    assert "diverged at epoch 1; pooled (--include-diverged)" in pooled.out


def test_a_non_finite_loss_counts_as_diverged(cli, sweep, tmp_path):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    results = copy / "0" / "results.json"  # tanh, seed 0: NaN weights, stopped by no rule
    nan = json.loads(results.read_text())
    nan["test"]["loss"] = float("nan")
    results.write_text(json.dumps(nan))  # NaN, as json writes it
    result = cli("compare", str(copy), "--pool", "optimizer.lr", "--no-plots")
    assert result.code == 0, result.err
    assert cells(table_line(result.out, "model.activation=tanh"))[1] == "1 (+1 diverged, left out)"
    assert f"{copy / '0'} (" in result.out and "diverged (a non-finite loss)" in result.out


def test_compare_help_documents_include_diverged(cli):
    result = cli("compare", "--help")
    assert result.code == 0 and "--include-diverged" in result.out and "left out" in result.out


# ---------------------------------------------------------------- runner compare: plot titles


@pytest.fixture
def plot_titles(monkeypatch):
    """The titles of every figure saved, as the PNG shows them."""
    from matplotlib.figure import Figure

    titles = {}
    save = Figure.savefig

    def recording(self, path, *args, **kwargs):
        titles[Path(path).name] = " ".join(ax.get_title() for ax in self.axes if ax.get_title())
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return titles


def test_curves_say_dashed_only_when_some_run_stopped_early(cli, sweep, tmp_path, plot_titles):
    result = cli("compare", str(sweep), "--pool", "optimizer.lr", "--out", str(tmp_path))
    assert result.code == 0, result.err
    curves = {name: title for name, title in plot_titles.items() if name in ("comparison_val_accuracy.png", "comparison_train_loss.png")}
    assert len(curves) == 2 and all("mean over seeds" in t for t in curves.values()), plot_titles
    assert not any("dashed" in t for t in curves.values()), curves  # every pooled run trained its 3 epochs

    from runner.plots import plot_curves

    whole = [{"epoch": e, "val/accuracy": 0.5 + 0.1 * e} for e in (1, 2, 3)]
    stopped = whole[:2]
    assert plot_curves({"g": [whole, stopped]}, "val/accuracy", "val", tmp_path / "stopped.png")
    assert "(dashed: some runs had stopped)" in plot_titles["stopped.png"]
