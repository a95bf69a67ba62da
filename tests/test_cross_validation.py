"""k-fold cross-validation (data.cv_folds, data.cv_fold): the folds, their checks, and `runner compare` pooling them."""

import csv
import re
from pathlib import Path

import pytest
import torch
from conftest import TINY

from runner.analyse.compare import group_runs, table_rows
from runner.build.cross_validation import cross_validation_fold
from runner.build.data import Dataset, Split, load_dataset
from runner.config.data import SyntheticConfig
from runner.errors import ConfigError
from runner.record.run_folders import Run


def numbered(n: int) -> Split:
    """Examples that say who they are: x = y = their index."""
    return Split(torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1), torch.arange(n))


def test_folds_are_disjoint_and_cover_the_training_set():
    data = Dataset(numbered(250), numbered(7), numbered(9), num_classes=250)
    vals = []
    for fold in range(3):
        cut = cross_validation_fold(data, 3, fold)
        train, val = set(cut.train.y.tolist()), set(cut.val.y.tolist())
        assert not train & val and train | val == set(range(250))  # each fold's train and val split the training set
        assert torch.equal(cut.train.x.view(-1).long(), cut.train.y)  # images stay with their labels
        assert torch.equal(cut.test.y, data.test.y)  # the test set is untouched
        vals.append(val)
    assert [len(v) for v in vals] == [83, 83, 84]
    assert not (vals[0] & vals[1] or vals[0] & vals[2] or vals[1] & vals[2])
    assert set().union(*vals) == set(range(250))
    assert sorted(vals[1]) == list(range(83, 166))  # contiguous blocks


def test_load_dataset_applies_the_fold_and_leaves_the_rest_alone():
    plain = load_dataset(SyntheticConfig(train_size=90))
    fold = load_dataset(SyntheticConfig(train_size=90, cv_folds=3, cv_fold=2))
    assert torch.equal(fold.val.x, plain.train.x[60:]) and torch.equal(fold.train.y, plain.train.y[:60])
    assert torch.equal(fold.test.x, plain.test.x)
    assert len(load_dataset(SyntheticConfig(train_size=90, cv_folds=0)).val) == len(plain.val)


@pytest.mark.parametrize(
    "keys, message",
    [
        (dict(cv_folds=1), "0 (no cross-validation) or at least 2"),
        (dict(cv_folds=3, cv_fold=3), "between 0 and cv_folds - 1 = 2"),
        (dict(cv_folds=3, cv_fold=-1), "between 0 and cv_folds - 1 = 2"),
        (dict(cv_fold=1), "only with cv_folds >= 2"),
        (dict(cv_folds=300, train_size=256), "at most train_size"),
    ],
)
def test_fold_settings_are_checked(keys, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        SyntheticConfig(**keys)


def test_a_bad_fold_fails_before_training(cli):
    result = cli("train", "-m", *TINY, "data.cv_folds=3", "data.cv_fold=0,1,2,3")
    assert result.code == 2
    assert "data.cv_fold: between 0 and cv_folds - 1 = 2, got 3" in result.err
    assert not result.run_dirs()
    result = cli("train", "data.expanded=true", "data.cv_folds=5")
    assert result.code == 2 and "data.cv_folds: cannot be combined with expanded" in result.err


def test_three_fold_cross_validation_is_one_group_with_mean_and_std(cli, outputs):
    swept = cli("train", "-m", "+experiment=cv", *TINY, "data.train_size=240", "data.cv_folds=3", "data.cv_fold=0,1,2")
    assert swept.code == 0, swept.err
    runs = swept.run_dirs()
    assert len(runs) == 3
    sweep = runs[0].parent
    compared = cli("compare", str(sweep))
    assert compared.code == 0, compared.err
    with open(sweep / "comparison.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["group"] == "all runs" and rows[0]["n"] == "3"
    assert float(rows[0]["test_acc_std"]) >= 0  # a std over the three folds (not blank)
    assert "| all runs | 3 | " in compared.out and " ± " in compared.out  # one group: no "best" of one
    assert "pooled within a group: seed, data.cv_fold" in compared.out
    assert "appears more than once" not in compared.out  # three folds of seed 0 are not three copies of one run
    assert (sweep / "comparison_test_accuracy.png").exists()


def fake_run(overrides, accuracy):
    results = {
        "status": "finished",
        "test": {"accuracy": accuracy},
        "val": {"accuracy": accuracy},
        "best_epoch": 1,
        "wall_time_s": 1.0,
    }
    return Run(Path("/nowhere"), overrides=overrides, results=results)


def test_folds_pool_like_seeds_and_more_keys_can_be_pooled():
    runs = [
        fake_run(
            [f"model.activation={act}", f"optimizer.lr={lr}", f"data.cv_fold={fold}"],
            0.8 + 0.01 * fold + (0.1 if act == "relu" else 0),
        )
        for act in ("tanh", "relu")
        for lr in (0.1, 0.2)
        for fold in range(3)
    ]
    groups = group_runs(runs)
    assert [(g.label, len(g.runs)) for g in groups] == [
        ("model.activation=tanh optimizer.lr=0.1", 3),
        ("model.activation=tanh optimizer.lr=0.2", 3),
        ("model.activation=relu optimizer.lr=0.1", 3),
        ("model.activation=relu optimizer.lr=0.2", 3),
    ]
    pooled = group_runs(runs, pooled=("seed", "data.cv_fold", "optimizer.lr"))
    assert [(g.label, len(g.runs)) for g in pooled] == [("model.activation=tanh", 6), ("model.activation=relu", 6)]
    rows = table_rows(pooled)
    assert rows[1]["test_acc_mean"] == pytest.approx(0.91) and rows[1]["_best"]


def test_compare_pool_option(cli, tmp_path):
    for n, (lr, seed) in enumerate([(0.1, 0), (0.1, 1), (0.2, 0), (0.2, 1)]):
        run = tmp_path / "sweep" / str(n)
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- optimizer.lr={lr}\n- seed={seed}\n")
        (run / "results.json").write_text(
            '{"status": "finished", "test": {"accuracy": %s}, "val": {"accuracy": 0.5}, "best_epoch": 1}'
            % (0.9 + n / 100)
        )
    two = cli("compare", str(tmp_path / "sweep"), "--no-plots")
    # 0.925 vs 0.905 on two runs each: Welch cannot tell them apart, so no group is called best
    assert two.code == 0 and "| optimizer.lr=0.2 (highest mean; not distinguishable, p = " in two.out
    assert "(best)" not in two.out
    one = cli("compare", str(tmp_path / "sweep"), "--no-plots", "--pool", "optimizer.lr")
    assert one.code == 0 and "| all runs | 4 |" in one.out
    assert "pooled within a group: seed, optimizer.lr." in one.out
    assert "appears more than once" not in one.out  # runs are told apart by seed and lr together
