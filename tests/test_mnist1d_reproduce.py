"""The MNIST-1D rows of `runner reproduce` (experiments/reproduce/m1d_*.yaml): each builds the
paper's model (notebooks/models.py, to the parameter) and runs with --quick, whose MNIST-only
data overrides (train_size, expanded) are not given to MNIST-1D rows."""

import json

import pytest

from runner.analyse.reproduction_report import load_rows
from runner.launch.reproduce import ROWS_DIR, data_member, job

PAPER_PARAMETERS = {"M1D-lin": 410, "M1D-mlp": 15210, "M1D-cnn": 5210, "M1D-gru": 5134}


def test_every_mnist1d_row_has_a_shuffled_twin_on_mnist1d():
    rows = {r.id: r for r in load_rows(ROWS_DIR) if r.id.startswith("M1D-")}
    assert sorted(rows) == sorted([*PAPER_PARAMETERS, *(f"{i}-shuf" for i in PAPER_PARAMETERS)])
    for row in rows.values():
        assert data_member(row) == "mnist1d" and row.tolerance == 2.0 and row.epochs == 150
        assert job(row, 0, quick=True) == f"+experiment={row.experiment} seed=0"  # no MNIST-only keys
    n1 = next(r for r in load_rows(ROWS_DIR) if r.id == "N1")
    assert job(n1, 1, quick=True).endswith("seed=1 data.train_size=1000 data.expanded=false")


@pytest.mark.slow
def test_quick_reproduction_builds_the_papers_models(cli_process, outputs):
    result = cli_process("reproduce", *PAPER_PARAMETERS, "--quick", "--seeds", "1", "--jobs", "1", "--threads", "1")
    assert result.code == 0, result.err[-2000:]
    for row_id, params in PAPER_PARAMETERS.items():
        results = json.loads((outputs / "reproduce-quick" / row_id / "seed0" / "results.json").read_text())
        assert results["params"] == params, row_id
        assert results["test"]["accuracy"] > 0.15, row_id  # one epoch on all 4,000 signals: above chance (0.1)
    assert "| M1D-cnn |" in (outputs / "reproduce-quick" / "reproduction.md").read_text()
