"""Model builders by name (`model=mlp`). Importing this package registers them all."""

from runner.models import mlp  # noqa: F401  (registers)
from runner.models.registry import MODELS


def build_model(model_cfg, reg_cfg, input_shape, num_outputs):
    return MODELS.get(model_cfg.name, "model")(model_cfg, reg_cfg, input_shape, num_outputs)
