"""`runner reproduce`: a quick end-to-end run of two rows, and a report rebuilt from fixed result files."""

import csv
import json
import statistics

import pytest

from runner.analyse.reproduce_status import makespan, status_table
from runner.analyse.reproduction_report import build, figure_entries, load_rows, to_markdown


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_quick_reproduction_of_two_rows_reports_numbers_from_the_runs(cli_process, outputs):
    result = cli_process("reproduce", "N1", "N6a", "--quick", "--seeds", "1", "--jobs", "1")
    assert result.code == 0, result.err[-3000:]
    root = outputs / "reproduce-quick"
    report = (root / "reproduction.md").read_text()
    assert "QUICK" in report and "| N1 |" in report and "| N6a |" in report
    assert "](reproduction.png)" in report and (root / "reproduction.png").stat().st_size > 10_000
    lines = {row["id"]: row for row in read_csv(root / "reproduction.csv")}
    assert set(lines) == {"N1", "N6a"}
    for row_id in ("N1", "N6a"):
        line = lines[row_id]
        assert line["verdict"] == "quick run: not comparable" and line["seeds"] == "1"
        metrics = read_csv(root / row_id / "seed0" / "metrics.csv")
        peak = 100 * max(float(m["test/accuracy"]) for m in metrics)
        assert float(line["best"]) == pytest.approx(peak, abs=0.005)
        assert float(line["documented"]) in (95.42, 82.27)
    # Quick runs are never copied into the committed results.
    assert not any((outputs / "experiments").glob("**/results.json"))


ROWS = {
    "a.yaml": """
reference: {id: A1, description: test at best val, value: 99.23, metric: test_at_best_val, seeds: 3}
trainer: {epochs: 5}
""",
    "b.yaml": """
reference: {id: B1, description: peak test, value: 95.0, metric: peak_test, seeds: 2}
trainer: {epochs: 3}
""",
    "c.yaml": """
reference: {id: C1, description: not all seeds, value: 90.0, metric: test_at_best_val, seeds: 3}
trainer: {epochs: 5}
""",
    "d.yaml": """
reference: {id: D1, description: vote, value: 75.0, metric: ensemble_test, ensemble_of: A1}
""",
    "e.yaml": """
reference: {id: E1, description: shorter, value: 80.0, metric: test_at_best_val, seeds: 1, documented_epochs: 10}
trainer: {epochs: 5}
""",
    "f.yaml": """
reference: {id: F1, description: a loss, value: 0.104, tolerance: 0.002, metric: test_loss, seeds: 2}
trainer: {epochs: 5}
""",
}


def write_run(root, row_id, seed, test_acc, epochs=5, test_curve=None, predictions=None, test_loss=0.1):
    folder = root / row_id / f"seed{seed}"
    folder.mkdir(parents=True)
    results = {
        "status": "finished",
        "seed": seed,
        "epochs_run": epochs,
        "stop_reason": "completed",
        "test": {"accuracy": test_acc, "loss": test_loss},
        "wall_time_s": 1.0,
        "machine": {"processor": "x86_64", "cpu_count": 2, "torch_threads": 1},
    }
    (folder / "results.json").write_text(json.dumps(results))
    curve = test_curve or [test_acc] * epochs
    # Epoch times add up to (seed + 1) minutes: the report's training time per run.
    rows = ["epoch,val/accuracy,test/accuracy,seconds"] + [
        f"{i + 1},0.5,{a},{60.0 * (seed + 1) / len(curve)}" for i, a in enumerate(curve)
    ]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    if predictions:
        labels = [0, 1, 2, 3]
        (folder / "test_predictions.csv").write_text(
            "label,predicted\n" + "".join(f"{a},{b}\n" for a, b in zip(labels, predictions))
        )


def test_report_from_fixed_files_matches_a_hand_computation(tmp_path):
    rows_dir, root = tmp_path / "rows", tmp_path / "results"
    rows_dir.mkdir()
    for name, text in ROWS.items():
        (rows_dir / name).write_text(text)
    # A1: three seeds at 99.00, 99.20, 99.30 %; their predictions on 4 test examples (labels 0..3).
    write_run(root, "A1", 0, 0.9900, predictions=[0, 1, 2, 0])
    write_run(root, "A1", 1, 0.9920, predictions=[0, 2, 2, 3])
    write_run(root, "A1", 2, 0.9930, predictions=[1, 1, 0, 3])
    # B1: peak test of the curve, not the last epoch.
    write_run(root, "B1", 0, 0.90, epochs=3, test_curve=[0.90, 0.951, 0.94])
    write_run(root, "B1", 1, 0.90, epochs=3, test_curve=[0.80, 0.92, 0.93])
    write_run(root, "C1", 0, 0.95)  # 1 of 3 seeds
    write_run(root, "E1", 0, 0.80)  # ran 5 epochs where the source ran 10
    write_run(root, "F1", 0, 0.5, test_loss=0.100)  # lower is better: 0.004 below the documented loss
    write_run(root, "F1", 1, 0.5, test_loss=0.105)

    lines = {ln.row.id: ln for ln in build(load_rows(rows_dir), root)}

    a = lines["A1"]
    assert a.best == pytest.approx(99.30) and a.mean == pytest.approx((99.0 + 99.2 + 99.3) / 3)
    assert a.std == pytest.approx(statistics.stdev([99.0, 99.2, 99.3]))  # 0.1528
    assert a.diff == pytest.approx(0.07) and a.verdict == "reproduced"  # within 0.15 above 99%
    assert a.train_min == pytest.approx((1 + 2 + 3) / 3)  # from metrics.csv, not results.json (one process's time)

    b = lines["B1"]
    assert b.best == pytest.approx(95.1) and b.mean == pytest.approx((95.1 + 93.0) / 2)
    assert b.diff == pytest.approx(0.1) and b.verdict == "reproduced"  # within 0.3 below 99%

    assert lines["C1"].verdict == "incomplete (1/3 seeds)"
    assert lines["E1"].verdict == "shorter than documented: does not count"

    # Plurality vote per example: [0, ?, 2, 3]; example 1 has votes 1, 2, 1 -> 1. All 4 right.
    d = lines["D1"]
    assert d.best == pytest.approx(100.0) and d.n == 3 and d.verdict == "better than documented"

    f = lines["F1"]
    assert f.best == pytest.approx(0.100) and f.diff == pytest.approx(-0.004) and f.verdict == "better than documented"

    # The figure places each seed at (obtained - documented) / tolerance, right = better.
    entries = {
        label.split()[0]: (seeds, best, verdict) for label, seeds, best, verdict in figure_entries(list(lines.values()))
    }
    assert set(entries) == {"A1", "B1", "C1", "D1", "E1", "F1"}
    assert entries["A1"][0] == pytest.approx([(99.0 - 99.23) / 0.15, (99.2 - 99.23) / 0.15, (99.3 - 99.23) / 0.15])
    assert entries["F1"][0] == pytest.approx([2.0, -0.5]) and entries["F1"][1] == pytest.approx(2.0)
    assert entries["E1"][2] == "shorter than documented: does not count"

    markdown = to_markdown(
        list(lines.values()), "# header", figure="reproduction.png", provenance="ran on a test machine"
    )
    assert "| A1 |" in markdown and "99.30% " in markdown and "+0.07" in markdown
    assert markdown.index("![") < markdown.index("| A1 |") < markdown.index("ran on a test machine")


def test_an_ensemble_with_runs_missing_says_how_many_of_its_members_it_has(tmp_path):
    rows_dir, root = tmp_path / "rows", tmp_path / "results"
    rows_dir.mkdir()
    for name in ("a.yaml", "d.yaml"):
        (rows_dir / name).write_text(ROWS[name])
    write_run(root, "A1", 0, 0.99, predictions=[0, 1, 2, 3])  # 1 of A1's 3 runs so far
    d = {ln.row.id: ln for ln in build(load_rows(rows_dir), root)}["D1"]
    assert d.n == 1 and d.verdict == "incomplete (1/3 of A1's runs)"  # not D1's own (default) seed count


def test_repository_rows_cover_the_documented_table():
    from runner.launch.reproduce import ROWS_DIR

    ids = {row.id for row in load_rows(ROWS_DIR)}
    expected = {
        "N1",
        "N2",
        "N3a",
        "N3b",
        "N4",
        "N5",
        "N6a",
        "N6b",
        "N7",
        "N8",
        "N9",
        "N10",
        "N11",
        "N12",
        "N13",
        "N14",
        "N15",
    }
    assert expected <= ids


def test_only_finished_runs_are_kept_and_a_preempted_one_is_run_again(tmp_path, monkeypatch):
    """A run stopped by a signal leaves results.json with status preempted: it must not be
    copied to experiments/results/, or the next `runner reproduce` would skip it for good."""
    import runner.launch.reproduce as reproduce

    results_dir = tmp_path / "experiments" / "results"
    monkeypatch.setattr(reproduce, "RESULTS_DIR", results_dir)
    monkeypatch.setenv("RUNNER_OUTPUTS", str(tmp_path / "outputs"))
    row = next(r for r in load_rows(reproduce.ROWS_DIR) if r.id == "N1")
    for seed, status in ((0, "preempted"), (1, "finished")):
        run_dir = tmp_path / "outputs" / "reproduce" / "N1" / f"seed{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "results.json").write_text(json.dumps({"status": status, "seed": seed}))
        (run_dir / "metrics.csv").write_text("epoch\n1\n")

    assert reproduce.collect([row]) == 1
    assert not (results_dir / "N1" / "seed0").exists()
    assert json.loads((results_dir / "N1" / "seed1" / "results.json").read_text())["status"] == "finished"
    assert reproduce.pending_seeds(row, 3, quick=False) == [0, 2]


def test_status_says_which_runs_are_done_going_or_cut_off(tmp_path):
    rows_dir, kept, out = tmp_path / "rows", tmp_path / "results", tmp_path / "outputs"
    rows_dir.mkdir()
    for name in ("a.yaml", "d.yaml", "e.yaml"):
        (rows_dir / name).write_text(ROWS[name])
    rows = load_rows(rows_dir)  # A1: 3 seeds of 5 epochs; D1 votes over A1; E1 not started
    write_run(kept, "A1", 0, 0.99)  # seed 0: finished and kept
    write_run(out, "A1", 1, 0.99)  # seed 1: finished, not copied yet
    going = out / "A1" / "seed2"
    going.mkdir(parents=True)
    (going / "metrics.csv").write_text("epoch,val/accuracy,seconds\n1,0.95,100.0\n2,0.97,80.0\n3,0.96,90.0\n")
    now = (going / "metrics.csv").stat().st_mtime + 60
    table = status_table(rows, {"A1": 4, "D1": 0, "E1": 1}, kept, out, now=now)
    lines = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in table.splitlines()[2:]}
    assert "| finished, kept | 5 | test 99.00% |" in lines[("A1", "0")]
    assert "not kept yet" in lines[("A1", "1")]
    # 3 of 5 epochs, best validation at epoch 2; median of the last three epochs 90 s: 2 x 90 s = 3 min left
    assert "| in progress | 3/5 | val 97.00% (epoch 2) | 90 | 3 min | 60 s ago |" in lines[("A1", "2")]
    assert "not started" in lines[("A1", "3")]
    assert "votes over A1" in lines[("D1", "-")]
    # Left: seed 2's 2 epochs x 90 s, and seed 3 (not started) 5 epochs at its row's 90 s: 630 s of run time.
    # Two at a time: seed 2 keeps its worker 180 s, seed 3 starts on the free one and ends last, after 450 s.
    assert table.splitlines()[-1] == (
        "2 of 5 runs finished; training left: about 10 min of run time, done in about 8 min with 2 run(s) "
        "at a time (`--jobs 2`); plus 1 run(s) not started whose rows have no epoch time yet."
    )
    # Not written for much longer than an epoch takes: the process is gone.
    later = status_table(rows, {"A1": 4, "D1": 0, "E1": 1}, kept, out, now=now + 3600)
    assert "cut off: resumes from its last checkpoint | 3/5 |" in later


def test_every_missing_run_goes_in_one_queue_unknown_rows_first_then_longest_first(tmp_path, monkeypatch, capsys):
    """Rows missing different seeds are one multirun (no core waits for the last run of a group),
    ordered so that the short runs are the ones left at the end."""
    import argparse
    import re

    import runner.launch.reproduce as reproduce

    rows_dir, kept, out = tmp_path / "rows", tmp_path / "results", tmp_path / "outputs"
    rows_dir.mkdir()
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (rows_dir / name).write_text(ROWS[name])
    monkeypatch.setattr(reproduce, "RESULTS_DIR", kept)
    monkeypatch.setenv("RUNNER_OUTPUTS", str(out))
    write_run(kept, "A1", 0, 0.99)  # A1 (5 epochs): 12 s an epoch; seed 0 done
    cut_off = out / "reproduce" / "A1" / "seed1"
    cut_off.mkdir(parents=True)
    (cut_off / "metrics.csv").write_text("epoch,val/accuracy,seconds\n1,0.9,12.0\n2,0.9,12.0\n")  # 2 of 5 epochs
    write_run(kept, "C1", 2, 0.99)  # C1 (5 epochs): 3 minutes a run, 36 s an epoch; seeds 0 and 1 to do
    commands = []
    monkeypatch.setattr(reproduce.subprocess, "call", lambda command: commands.append(command) or 0)
    args = argparse.Namespace(quick=False, jobs=2, threads=1, overrides=[])

    rows = load_rows(rows_dir)
    assert reproduce.launch(rows, {r.id: r.seeds for r in rows}, args) == 0

    assert len(commands) == 1
    (jobs,) = [c for c in commands[0] if c.startswith("hydra.sweeper.jobs=")]
    order = re.findall(r"'\+experiment=reproduce/(\w) seed=(\d)'", jobs)
    # B1 never timed: first. Then C1's two 180 s runs, A1 seed 2 (5 x 12 s), A1 seed 1 (3 epochs left: 36 s).
    assert order == [("b", "0"), ("b", "1"), ("c", "0"), ("c", "1"), ("a", "2"), ("a", "1")]
    assert {"hydra/sweeper=job_list", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.resume=auto"} <= set(
        commands[0]
    )
    assert "B1/0, B1/1, C1/0 (~3 min), C1/1 (~3 min), A1/2 (~1 min), A1/1 (~1 min)" in capsys.readouterr().out

    # A launcher of one's own (SLURM) replaces joblib rather than clashing with it.
    args.overrides = ["hydra/launcher=slurm"]
    reproduce.launch(rows, {r.id: r.seeds for r in rows}, args)
    assert "hydra/launcher=joblib" not in commands[1] and commands[1][-1] == "hydra/launcher=slurm"


def test_training_some_rows_still_reports_every_row(tmp_path, monkeypatch):
    """`runner reproduce N13 N14` after the other rows are done must not shrink the
    committed report to the two rows it trained: the table covers every kept row."""
    import runner.launch.reproduce as reproduce

    rows_dir, kept, experiments = tmp_path / "rows", tmp_path / "results", tmp_path / "experiments"
    rows_dir.mkdir()
    experiments.mkdir()
    for name in ("a.yaml", "c.yaml"):
        (rows_dir / name).write_text(ROWS[name])
    write_run(kept, "C1", 0, 0.90)  # an earlier session's row, not among the ones trained now
    monkeypatch.setattr(reproduce, "ROWS_DIR", rows_dir)
    monkeypatch.setattr(reproduce, "RESULTS_DIR", kept)
    monkeypatch.setattr(reproduce, "EXPERIMENTS_DIR", experiments)
    monkeypatch.setenv("RUNNER_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setattr(reproduce.subprocess, "call", lambda command: 0)  # the training itself

    assert reproduce.main(["A1"]) == 0

    report_ids = [line["id"] for line in read_csv(experiments / "reproduction.csv")]
    assert report_ids == ["A1", "C1"]
    assert "| C1 |" in (experiments / "REPRODUCTION.md").read_text()


def test_time_to_done_counts_whole_runs_on_the_workers():
    # Five 1-hour runs on two workers: three rounds, not 2.5 hours.
    assert makespan([], [3600.0] * 5, jobs=2) == 3 * 3600
    # Runs in progress keep their workers (20 and 40 min left); the queue goes to whichever frees first:
    # 1200+3600=4800, 2400+3600=6000, 4800+3600=8400, 6000+3600=9600, 8400+3600=12000.
    assert makespan([1200.0, 2400.0], [3600.0] * 5, jobs=2) == 12000
    # Longest first: a 3 h run and three 1 h runs on two workers end after 3 h, not 4.
    assert makespan([], [3600.0, 3600.0, 3 * 3600.0, 3600.0], jobs=2) == 3 * 3600
    assert makespan([], [], jobs=2) == 0
