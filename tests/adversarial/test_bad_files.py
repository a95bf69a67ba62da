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
        ('["seed=0 model.name=\'x"]', 0, "no closing quotation"),
        ("['seed=0','seed=1',{a:1}]", 2, "expected one job's overrides as a string"),
        ("[1,2]", 0, "'1' is not an override (key=value)"),
        ("['seed=0','seed=0 ===']", 1, "cannot parse override '==='"),
    ],
)
def test_a_malformed_job_list_entry_is_named_by_its_index(cli, outputs, jobs, index, says):
    sweep = outputs / "jobs"
    result = cli(
        "train", "-m", *TINY, "hydra/sweeper=job_list", f"hydra.sweeper.jobs={jobs}", f"hydra.sweep.dir={sweep}"
    )
    line = refusal(result)
    assert line.startswith(f"runner: config error: hydra.sweeper.jobs[{index}]") and says in line, line
    assert not sweep.exists() and not list(outputs.rglob("results.json"))  # refused before anything ran


# ---------------------------------------------------------------- runner compare: corrupt and diverged runs

JOBS = (
    "hydra.sweeper.jobs=['model.activation=tanh seed=0','model.activation=tanh seed=1','model.activation=relu seed=0',"
    "'model.activation=relu seed=1','model.activation=relu seed=2 optimizer.lr=1e4']"
)  # the last one diverges


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """tanh x seeds 0-1, relu x seeds 0-2, where relu's seed 2 trains at lr 1e4 and really diverges
    (compared with --pool optimizer.lr, so that it belongs to the relu group)."""
    import os
    import subprocess
    import sys

    outputs = tmp_path_factory.mktemp("outputs")
    folder = outputs / "sweep"
    command = [
        sys.executable,
        "-m",
        "runner",
        "train",
        "-m",
        *TINY,
        "hydra/sweeper=job_list",
        JOBS,
        f"hydra.sweep.dir={folder}",
    ]
    done = subprocess.run(
        command, env={**os.environ, "RUNNER_OUTPUTS": str(outputs)}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((folder / "4" / "results.json").read_text())["stop_reason"] == "diverged"
    return folder


def table_line(report: str, group: str) -> str:
    """The group's line in the main table (the first table; the Welch table names groups too)."""
    return next(text for text in report.splitlines() if text.startswith(f"| {group}"))


def cells(line: str):
    return [c.strip() for c in line.strip("|").split("|")]


@pytest.mark.parametrize(
    "accuracy, says",
    [
        ("high", "test.accuracy is 'high' (str), not a number"),
        (None, "test.accuracy is missing for a classification run"),
    ],
)
def test_a_results_json_without_a_number_for_its_score_is_named_and_not_counted(cli, sweep, tmp_path, accuracy, says):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    results = copy / "1" / "results.json"  # tanh, seed 1
    broken = json.loads(results.read_text())
    broken["test"]["accuracy"] = accuracy
    results.write_text(json.dumps(broken))
    before = snapshot(copy)

    result = cli("compare", str(copy), "--pool", "optimizer.lr", "--no-plots")
    assert result.code == 0 and "Traceback" not in result.err
    named = [text for text in result.err.splitlines() if str(results) in text]
    assert named == [f"runner compare: {results}: {says}; run left out"], result.err
    assert cells(table_line(result.out, "model.activation=tanh"))[1] == "1"  # seed 0 alone, as in the Welch table:
    assert "| model.activation=tanh | 2 vs 1 |" in result.out or "| model.activation=relu | 1 vs 2 |" in result.out, (
        result.out
    )
    assert f"- {results}: {says}" in result.out.split("## Unreadable files")[1]
    assert "Runs: 5 found, 4 finished (1 diverged)" in result.out
    after = snapshot(copy)
    assert all(after[name] == data for name, data in before.items())  # reported, not rewritten


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
    assert (
        f"{sweep / '4'} (" in notes
        and "diverged at epoch 1; left out of the statistics (--include-diverged pools it)" in notes
    )
    csv_row = (tmp_path / "a" / "comparison.csv").read_text()
    assert "n_diverged" in csv_row.splitlines()[0]

    pooled = cli(
        "compare",
        str(sweep),
        "--pool",
        "optimizer.lr",
        "--no-plots",
        "--include-diverged",
        "--out",
        str(tmp_path / "b"),
    )
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
    curves = {
        name: title
        for name, title in plot_titles.items()
        if name in ("comparison_val_accuracy.png", "comparison_train_loss.png")
    }
    assert len(curves) == 2 and all("mean over seeds" in t for t in curves.values()), plot_titles
    assert not any("dashed" in t for t in curves.values()), curves  # every pooled run trained its 3 epochs

    from runner.analyse.plots import plot_curves

    whole = [{"epoch": e, "val/accuracy": 0.5 + 0.1 * e} for e in (1, 2, 3)]
    stopped = whole[:2]
    assert plot_curves({"g": [whole, stopped]}, "val/accuracy", "val", tmp_path / "stopped.png")
    assert "(dashed: some runs had stopped)" in plot_titles["stopped.png"]


# ---------------------------------------------------------------- run folders read back: evaluate and resume


@pytest.fixture
def run_copy(sweep, outputs):
    """A copy of one finished run (relu, seed 0), inside this test's outputs folder."""
    return shutil.copytree(sweep / "2", outputs / "shared" / "run")


BAD_YAML = {
    "not YAML": b"- data=synthetic\n- [unclosed\n",
    "not UTF-8": b"- data=synthetic\n- seed=\xff\xfe\n",
}


@pytest.mark.parametrize("content", BAD_YAML.values(), ids=BAD_YAML.keys())
def test_evaluate_names_a_saved_config_it_cannot_read(cli, run_copy, content):
    config = run_copy / ".hydra" / "config.yaml"
    config.write_bytes(content)
    before = snapshot(run_copy)
    line = refusal(cli("evaluate", str(run_copy)))
    assert line.startswith(f"runner evaluate: {config}: not readable YAML"), line
    assert snapshot(run_copy) == before  # no evaluation/ written, nothing changed


BAD_OVERRIDES = {
    **BAD_YAML,
    "a mapping": (b"data: synthetic\n", "expected a list of overrides (key=value strings), got dict"),
    "a number": (b"- data=synthetic\n- 7\n", "entry 1 (7) is int, not an override string"),
}
BAD_OVERRIDES["not YAML"] = (BAD_YAML["not YAML"], "not readable YAML")
BAD_OVERRIDES["not UTF-8"] = (BAD_YAML["not UTF-8"], "not readable YAML")


@pytest.mark.parametrize("content, says", BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_evaluate_with_overrides_names_a_saved_overrides_file_it_cannot_use(cli, run_copy, content, says):
    overrides = run_copy / ".hydra" / "overrides.yaml"
    overrides.write_bytes(content)
    before = snapshot(run_copy)
    line = refusal(cli("evaluate", str(run_copy), "data.noise=0.5"))  # an override: the run's own are composed again
    assert line.startswith(f"runner evaluate: {overrides}: {says}"), line
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("content, says", BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_resume_from_a_folder_names_its_overrides_file_it_cannot_use(cli, run_copy, content, says):
    (run_copy / "results.json").unlink()  # cut off after its last checkpoint: there is something to continue
    overrides = run_copy / ".hydra" / "overrides.yaml"
    overrides.write_bytes(content)
    before = snapshot(run_copy)
    line = refusal(cli("train", f"trainer.resume={run_copy}"))
    assert line.startswith(f"runner: config error: trainer.resume: {overrides}: {says}"), line
    assert snapshot(run_copy) == before


BAD_METRICS = {
    "not UTF-8": (b"epoch,val/accuracy\n1,\xff\n", "'utf-8' codec can't decode"),
    "a word": (b"epoch,val/accuracy\n1,0.5\n2,high\n3,0.7\n", "line 3: could not convert string to float: 'high'"),
    "a short row": (b"epoch,val/accuracy,lr\n1,0.5,0.1\n2,0.6\n3,0.7,0.1\n", "line 3 has fewer fields than the header"),
    "a missing epoch": (b"epoch,val/accuracy\n1,0.5\n3,0.7\n", "holds epochs 1, 3 up to the checkpoint's epoch 3"),
}


@pytest.mark.parametrize("content, says", BAD_METRICS.values(), ids=BAD_METRICS.keys())
def test_resume_names_a_metrics_csv_it_cannot_read_and_keeps_the_run(cli, run_copy, content, says):
    (run_copy / "results.json").unlink()
    metrics = run_copy / "metrics.csv"
    metrics.write_bytes(content)
    kept = {name: data for name, data in snapshot(run_copy).items() if name.parts[0] not in (".hydra", "train.log")}
    line = refusal(cli("train", f"trainer.resume={run_copy}"))
    assert line.startswith(f"runner: {metrics}: ") and says in line and "move the folder away to start over" in line, (
        line
    )
    after = snapshot(run_copy)
    assert all(after.get(name) == data for name, data in kept.items())  # metrics.csv and checkpoints as they were
    assert not (run_copy / "results.json").exists()


@pytest.mark.parametrize(
    "override, says",
    [
        (
            "+hydra.callbacks.x._target_=os.system",
            "hydra.callbacks.x._target_: 'os.system' is not a launcher, sweeper or callback",
        ),
        ("+experiment=../../x", "../../x"),  # refused as an escaping path, or as no such option
    ],
)
def test_a_shared_folders_overrides_go_through_the_same_check_as_the_command_line(cli, run_copy, override, says):
    """trainer.resume=<folder> reuses the folder's own command line; the folder may be someone else's."""
    (run_copy / "results.json").unlink()
    (run_copy / ".hydra" / "overrides.yaml").write_text(f"- data=synthetic\n- {override}\n")
    before = snapshot(run_copy)
    line = refusal(cli("train", f"trainer.resume={run_copy}"))
    assert line.startswith("runner: config error: ") and says in line, line
    assert snapshot(run_copy) == before
