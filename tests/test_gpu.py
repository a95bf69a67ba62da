"""On a machine with a CUDA GPU: every model config trains a few steps on the GPU with data
resident there. Deselected by default (`-m gpu`); skipped where there is no CUDA."""

import json

import pytest
import torch

from runner.paths import CONF_DIR

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_on_cuda(cli, model):
    loss = ["loss=bce"] if "autoencoder" in model else []
    result = cli("train", f"model={model}", *loss, "data=mnist", "data.train_size=512", "trainer.epochs=2",
                 "trainer.device=cuda", "trainer.batch_size=64")
    assert result.code == 0, result.err
    results = json.loads((result.run_dir() / "results.json").read_text())
    assert results["device"].startswith("cuda") and results["machine"]["gpu"]
