"""Every experiment file shown in the README composes, validates and builds a model that
runs: a user can write configs from the README alone."""

import re
import uuid

import pytest
import torch

from runner.build.models import build_model
from runner.config.schema import validate
from runner.launch.preflight import check
from runner.paths import EXPERIMENTS_DIR, REPO_ROOT

BLOCKS = re.findall(r"```yaml\n(.*?)```", (REPO_ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_shows_experiment_files():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("text", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_experiment_builds_and_runs_a_forward_pass(text):
    name = f"_readme_{uuid.uuid4().hex[:8]}"
    path = EXPERIMENTS_DIR / f"{name}.yaml"
    path.write_text(text)
    try:
        (cfg,) = check([f"+experiment={name}"])
    finally:
        path.unlink()
    run = validate(cfg)
    input_shape, classes = run.data.shape()
    model = build_model(run.model, run.regularization, input_shape, classes).eval()
    out = model(torch.rand(2, *input_shape))
    assert out.shape in {(2, classes), (2, *input_shape)}
