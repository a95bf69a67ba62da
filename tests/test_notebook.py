"""docs/notebook.ipynb executed, every cell, in a Jupyter kernel (nbclient, the venv's ipykernel) on
synthetic data: the example cannot rot. The committed file carries no outputs."""

import json
import time
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebook.ipynb"


def test_the_committed_notebook_has_no_outputs():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code")


def test_the_notebook_runs_top_to_bottom(outputs, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("RUNNER_NOTEBOOK_DATA", "synthetic")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()  # raises on a failing cell
    seconds = time.perf_counter() - started
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    printed = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "trainer.epochz: unknown key" in printed  # the ConfigError cell
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the plot cell drew no figure"
    assert len(list(outputs.rglob("results.json"))) == 2 and seconds < 300
