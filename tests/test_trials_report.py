"""The end-of-search report (runner/launch/trials_report.py): trials.csv/trials.md, the best trial as
a `runner train` command, Optuna's plots, and Welch's test of the winner against the runner-up.
The trials' folders here hold the few results.json entries the report reads; a search whose folders
the real CLI made: tests/test_pruning.py."""

import csv
import json

import optuna
import pytest
import yaml
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from runner.launch.trials_report import write_trials_report

LR = FloatDistribution(1e-4, 1.0, log=True)
L2 = FloatDistribution(1e-6, 1e-2, log=True)
COMMAND = ["-m", "+experiment=search_lr_l2", "data=synthetic", "hydra.sweeper.n_trials=4", "hydra/launcher=joblib"]


@pytest.fixture
def study(tmp_path):
    return optuna.create_study(study_name="search", storage=f"sqlite:///{tmp_path / 'optuna.db'}")


def fake_run(folder, val_loss, epochs, overrides=(), seconds=2.0):
    """The few results.json entries the report reads (this test is about the report's wording)."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    results = {"monitor": "val/loss", "val": {"loss": val_loss}, "epochs_run": epochs, "wall_time_s": seconds}
    (folder / "results.json").write_text(json.dumps(results))


def add(study, number, lr, l2, value, state=TrialState.COMPLETE):
    params = {"optimizer.lr": lr, "regularization.l2": l2}
    trial = create_trial(
        params=params,
        distributions={"optimizer.lr": LR, "regularization.l2": L2},
        value=value if state == TrialState.COMPLETE else None,
        state=state,
        user_attrs={"folder": str(number)},
    )
    study.add_trial(trial)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_the_report_lists_every_trial_and_prints_the_best_as_a_command(study, tmp_path):
    sweep = tmp_path / "sweep"
    trials = [(0.5, 1e-4, 0.30, 4), (0.02, 3e-5, 0.21, 4), (1e-4, 1e-6, None, 1), (0.1, 1e-3, 0.25, 4)]
    for number, (lr, l2, value, epochs) in enumerate(trials):
        ran = [f"optimizer.lr={lr!r}", f"regularization.l2={l2!r}", "+experiment=search_lr_l2", "data=synthetic"]
        fake_run(sweep / str(number), value if value is not None else 2.3, epochs, ran)
        add(study, number, lr, l2, value, TrialState.COMPLETE if value is not None else TrialState.PRUNED)

    summary = write_trials_report(study, sweep, COMMAND)

    rows = read_csv(sweep / "trials.csv")
    assert list(rows[0]) == [
        "number",
        "optimizer.lr",
        "regularization.l2",
        "value",
        "state",
        "epochs_run",
        "wall_time_s",
        "folder",
    ]
    assert [(r["number"], r["state"], r["epochs_run"]) for r in rows] == [
        ("0", "COMPLETE", "4"),
        ("1", "COMPLETE", "4"),
        ("2", "PRUNED", "1"),
        ("3", "COMPLETE", "4"),
    ]
    assert rows[2]["value"] == "" and float(rows[1]["value"]) == 0.21
    assert summary.splitlines()[0] == "search: 4 trials (3 complete, 1 pruned), 13 epochs trained in 8 s"
    assert "best trial 1: val/loss 0.21 (minimize)" in summary
    # the sweep's fixed overrides, then the winner's settings as its run was given them; no -m, no hydra.sweeper.*
    assert (
        "  runner train +experiment=search_lr_l2 data=synthetic optimizer.lr=0.02 regularization.l2=3e-05"
        in summary.splitlines()
    )
    assert "distinguishable" not in summary  # one run per trial: nothing to test
    markdown = (sweep / "trials.md").read_text()
    assert "| trial | optimizer.lr | regularization.l2 | val/loss | state | epochs | wall time s |" in markdown
    assert "| 1 (best) | 0.02 | 3e-05 | 0.21 | complete | 4 | 2.0 |" in markdown
    assert "| 2 | 0.0001 | 1e-06 |  | pruned | 1 | 2.0 |" in markdown
    for png in ("optimization_history.png", "param_importances.png"):
        assert (sweep / png).stat().st_size > 1000 and f"![{png}]({png})" in markdown


def test_too_few_complete_trials_skip_the_importances_with_a_line(study, tmp_path):
    sweep = tmp_path / "sweep"
    fake_run(sweep / "0", 0.3, 3)
    add(study, 0, 0.1, 1e-4, 0.3)
    summary = write_trials_report(study, sweep, COMMAND)
    assert (
        "param_importances.png skipped (needs 2 complete trials whose parameters differ; this search has 1" in summary
    )
    assert (sweep / "optimization_history.png").exists() and not (sweep / "param_importances.png").exists()


def test_a_search_with_no_complete_trial_says_so(study, tmp_path):
    sweep = tmp_path / "sweep"
    fake_run(sweep / "0", 2.3, 1)
    add(study, 0, 0.1, 1e-4, None, TrialState.PRUNED)
    summary = write_trials_report(study, sweep, COMMAND)
    assert "no trial completed: no best settings yet" in summary
    assert "optimization_history.png skipped" in summary


def repeats(study, sweep, number, losses, lr):
    for r, loss in enumerate(losses):
        fake_run(sweep / str(number) / f"repeat{r}", loss, 3, [f"optimizer.lr={lr}", f"seed={r}"])
    add(study, number, lr, 1e-4, sum(losses) / len(losses))


@pytest.mark.parametrize(
    "runner_up, verdict",
    [
        ([0.30, 0.31, 0.29], "the best trial is distinguishable from the runner-up (p = "),
        ([0.21, 0.26, 0.16], "the best trial is not distinguishable from the runner-up (p = "),
    ],
)
def test_with_repeats_the_winner_is_tested_against_the_runner_up(study, tmp_path, runner_up, verdict):
    sweep = tmp_path / "sweep"
    repeats(study, sweep, 0, [0.20, 0.21, 0.19], 0.1)
    repeats(study, sweep, 1, runner_up, 0.01)
    repeats(study, sweep, 2, [0.50, 0.60, 0.55], 0.001)
    summary = write_trials_report(study, sweep, COMMAND)
    line = next(line for line in summary.splitlines() if "runner-up" in line)
    assert line.startswith(verdict) and "trial 0, val/loss 0.2 ± 0.01 vs trial 1" in line, line
    assert "over 3 and 3 repeats" in line
    assert "  runner train +experiment=search_lr_l2 data=synthetic optimizer.lr=0.1 regularization.l2=0.0001" in summary
    assert "| 0 (best) | 0.1 | 0.0001 | 0.2 | complete | 9 | 6.0 |" in (sweep / "trials.md").read_text()
