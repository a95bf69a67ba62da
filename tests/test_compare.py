"""`runner compare`, its statistics, parallel sweeps (joblib) and the sweep manifest."""

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.analyse import stats
from runner.analyse.compare import group_runs, table_rows
from runner.analyse.plots import epoch_envelope
from runner.cli import main as cli_main
from runner.record.run_folders import Run

# ---------------------------------------------------------------- statistics, by hand


def test_mean_and_sample_std():
    assert stats.mean([0.90, 0.92, 0.94]) == pytest.approx(0.92)
    # deviations -0.02, 0, +0.02: sum of squares 0.0008, over n - 1 = 2 -> variance 0.0004
    assert stats.std([0.90, 0.92, 0.94]) == pytest.approx(0.02)
    assert math.isnan(stats.std([0.9]))  # one run has no spread to estimate


def test_welch_matches_a_hand_computation():
    a, b = [0.90, 0.92, 0.94], [0.86, 0.88, 0.90]
    # means 0.92 and 0.88: difference 0.04. Both variances 0.0004, n = 3:
    # se = sqrt(0.0004/3 + 0.0004/3) = 0.0163299; t = 0.04 / se = sqrt(6) = 2.4494897.
    # Welch df = (2v)^2 / (2 v^2 / 2) = 4 with v = 0.0004/3.
    # 95% CI: t_{0.975, 4} = 2.7764451 (t table) -> 0.04 -/+ 2.7764451 * 0.0163299 = 0.04 -/+ 0.0453392.
    # p: the t CDF with 4 degrees of freedom has a closed form,
    #   F(t) = 1/2 + 3/8 * t / sqrt(1 + t^2/4) * (1 - t^2 / (12 (1 + t^2/4))),
    # at t^2 = 6: 1/2 + 3/8 * sqrt(2.4) * 0.8, so p = 2 (1 - F) = 1 - 0.6 sqrt(2.4) = 0.0704840.
    result = stats.welch(a, b)
    assert result.diff == pytest.approx(0.04)
    assert result.t == pytest.approx(2.4494897, rel=1e-6)
    assert result.df == pytest.approx(4.0)
    assert result.ci_low == pytest.approx(0.04 - 0.0453392, abs=1e-6)
    assert result.ci_high == pytest.approx(0.04 + 0.0453392, abs=1e-6)
    assert result.p == pytest.approx(0.0704840, abs=1e-6)
    assert (result.n_a, result.n_b) == (3, 3)


def test_welch_degrees_of_freedom_with_unequal_variances():
    # a = 1..4: variance 5/3, se^2 share 5/12; b = 2,4,6: variance 4, share 4/3.
    # df = (5/12 + 4/3)^2 / ((5/12)^2 / 3 + (4/3)^2 / 2) = 3.0625 / 0.9467593 = 3.234719
    result = stats.welch([1, 2, 3, 4], [2, 4, 6])
    assert result.diff == pytest.approx(-1.5)
    assert result.t == pytest.approx(-1.5 / math.sqrt(1.75))
    assert result.df == pytest.approx(3.234719, rel=1e-6)
    assert result.ci_low < result.diff < result.ci_high


def test_welch_is_undefined_without_two_runs_or_without_spread():
    assert not stats.welch([0.9], [0.8, 0.85]).defined
    same = stats.welch([1.0, 1.0], [1.0, 1.0])
    assert not same.defined and same.diff == 0.0


# ---------------------------------------------------------------- grouping and curves


def fake_run(overrides, test_accuracy, best_epoch=3):
    results = {
        "status": "finished",
        "test": {"accuracy": test_accuracy},
        "val": {"accuracy": test_accuracy},
        "best_epoch": best_epoch,
        "wall_time_s": 1.0,
    }
    return Run(Path("/nowhere"), overrides=overrides, results=results)


def test_groups_pool_seeds_and_handle_settings_only_some_runs_give():
    runs = [
        fake_run(["data=synthetic", "optimizer=sgd", "seed=0"], 0.80),
        fake_run(["data=synthetic", "optimizer=sgd", "seed=1"], 0.82),
        fake_run(["data=synthetic", "optimizer=adam", "seed=0"], 0.90),
        fake_run(["data=synthetic", "optimizer=adam", "seed=1"], 0.92),
        fake_run(["data=synthetic", "optimizer=adam", "optimizer.lr=0.01", "seed=0"], 0.70),
    ]
    groups = group_runs(runs)
    assert [g.label for g in groups] == [
        "optimizer=sgd optimizer.lr=(unset)",
        "optimizer=adam optimizer.lr=(unset)",
        "optimizer=adam optimizer.lr=0.01",
    ]
    rows = {row["group"]: row for row in table_rows(groups)}
    adam = rows["optimizer=adam optimizer.lr=(unset)"]
    assert adam["_best"] and adam["n"] == 2 and adam["test_acc_mean"] == pytest.approx(0.91)
    sgd = rows["optimizer=sgd optimizer.lr=(unset)"]
    assert sgd["diff_vs_best"] == pytest.approx(0.10)  # best minus this group
    assert sgd["p_vs_best"] == pytest.approx(stats.welch([0.90, 0.92], [0.80, 0.82]).p)
    assert math.isnan(rows["optimizer=adam optimizer.lr=0.01"]["p_vs_best"])  # one run: no test


def test_curves_average_over_the_runs_that_reached_each_epoch():
    long_run = [
        {"epoch": 1.0, "val/accuracy": 0.5},
        {"epoch": 2.0, "val/accuracy": 0.7},
        {"epoch": 3.0, "val/accuracy": 0.9},
    ]
    stopped_early = [{"epoch": 1.0, "val/accuracy": 0.3}, {"epoch": 2.0, "val/accuracy": math.nan}]
    epochs, mean, low, high, count = epoch_envelope([long_run, stopped_early], "val/accuracy")
    assert epochs == [1, 2, 3] and count == [2, 1, 1]
    assert mean == pytest.approx([0.4, 0.7, 0.9])
    assert low == pytest.approx([0.3, 0.7, 0.9]) and high == pytest.approx([0.5, 0.7, 0.9])


# ---------------------------------------------------------------- a real sweep through the CLI

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A 2x2 sweep (activation x seed) on synthetic data, 2 jobs at a time with the joblib launcher."""
    outputs = tmp_path_factory.mktemp("outputs")
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["RUNNER_OUTPUTS"] = str(outputs)
    command = [
        sys.executable, "-m", "runner", "train", "-m", "hydra/launcher=joblib",
        "data=synthetic", "trainer.epochs=2", "model.activation=tanh,relu", "seed=0,1",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=outputs, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = outputs.glob("sweeps/*/*")
    return folder


def test_joblib_sweep_makes_four_runs_with_a_thread_share_each(sweep):
    import joblib

    runs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["0", "1", "2", "3"]
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        assert results["status"] == "finished"
        # joblib gives each of the 2 workers cpu_count // 2 threads (conf/hydra/launcher/joblib.yaml)
        assert results["machine"]["torch_threads"] == max(1, joblib.cpu_count() // 2)


def test_sweep_manifest_lists_every_run(sweep):
    with open(sweep / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["number"] for r in rows] == ["0", "1", "2", "3"]
    assert {r["status"] for r in rows} == {"finished"}
    assert rows[0]["overrides"] == "data=synthetic trainer.epochs=2 model.activation=tanh seed=0"
    assert rows[3]["folder"] == "3" and "model.activation=relu seed=1" in rows[3]["overrides"]
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert len(manifest["runs"]) == 4 and manifest["runs"][2]["overrides"][-2:] == ["model.activation=relu", "seed=0"]


def read_table(folder: Path) -> dict:
    with open(folder / "comparison.csv") as f:
        return {row["group"]: row for row in csv.DictReader(f)}


def test_compare_groups_the_sweep_by_activation(sweep, tmp_path, capsys):
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", str(sweep), "--out", str(out)])
    assert exit_info.value.code == 0
    table = read_table(out)
    assert set(table) == {"model.activation=tanh", "model.activation=relu"}
    assert all(row["n"] == "2" for row in table.values())
    assert {row["model.activation"] for row in table.values()} == {"tanh", "relu"}
    for name in (
        "comparison.md",
        "comparison_val_accuracy.png",
        "comparison_train_loss.png",
        "comparison_test_accuracy.png",
    ):
        assert (out / name).stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| model.activation=tanh" in printed and "Welch" in printed


def test_compare_writes_into_the_sweep_folder_by_default(sweep, tmp_path):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", str(copy), "--sort", "wall", "--no-plots"])
    assert exit_info.value.code == 0
    assert len(read_table(copy)) == 2


def test_compare_reports_a_corrupt_file_and_an_unfinished_run_and_goes_on(sweep, tmp_path, capsys):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    (copy / "0" / "results.json").write_text('{"status": "fini')  # torn / corrupt
    (copy / "3" / "results.json").unlink()  # still running
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", str(copy), "--no-plots"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert f"{copy / '0' / 'results.json'}: not valid JSON" in captured.err
    table = read_table(copy)
    # tanh keeps seed 1, relu keeps seed 0: groups are still found from the remaining runs
    assert {group: row["n"] for group, row in table.items()} == {
        "model.activation=tanh": "1",
        "model.activation=relu": "1",
    }
    report = (copy / "comparison.md").read_text()
    assert "## Not finished" in report and str(copy / "3") in report
    assert "needs ≥ 2 finished runs per group" in report


def test_compare_rejects_a_missing_folder_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", "/no/such/dir"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "runner compare: no such folder: /no/such/dir"


def test_compare_rejects_an_unknown_sort_column(sweep, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", str(sweep), "--sort", "nope", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown column 'nope'" in capsys.readouterr().err


def test_compare_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--sort COLUMN" in text and "--out DIR" in text and "test_acc_mean" in text


def test_a_failed_job_is_marked_in_the_manifest_and_in_compare(tmp_path, capsys):
    from hydra.core.utils import JobReturn, JobStatus
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from runner.launch.sweep_manifest import SweepManifest

    run = tmp_path / "sweep" / "0"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- data=synthetic\n- seed=0\n")
    config = OmegaConf.create(
        {"hydra": {"mode": RunMode.MULTIRUN, "runtime": {"output_dir": str(run)}, "sweep": {"dir": str(run.parent)}}}
    )
    failed = JobReturn(status=JobStatus.FAILED, _return_value=RuntimeError("CUDA out of memory"))
    SweepManifest().on_job_end(config, failed)

    assert "RuntimeError: CUDA out of memory" in (run / "error.txt").read_text()
    manifest = json.loads((run.parent / "manifest.json").read_text())
    assert manifest["runs"] == [
        {
            "number": 0,
            "folder": "0",
            "status": "failed",
            "stop_reason": "",
            "test_accuracy": "",
            "overrides": ["data=synthetic", "seed=0"],
        }
    ]
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["compare", str(run.parent), "--no-plots"])
    assert exit_info.value.code == 0
    assert "failed: RuntimeError: CUDA out of memory" in capsys.readouterr().out
