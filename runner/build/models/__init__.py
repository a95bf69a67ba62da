"""Model builders by name (`model=mlp`). Importing this package registers them all.

A builder takes (model_cfg, reg_cfg, input_shape, num_outputs) and returns an
nn.Module producing class scores (N, num_outputs), or, for models whose `task`
is "reconstruction", an output shaped like the input.
"""

import inspect

import torch

from runner.build.models import autoencoder, cnn, hrnn, linear, mlp, recurrent, text_cnn, transformer  # noqa: F401  (registers)
from runner.build.models.registry import MODELS
from runner.build.models.transfer import load_encoder
from runner.build.tasks import task_of
from runner.errors import ConfigError


def build_model(model_cfg, reg_cfg, input_shape, num_outputs, tokens: bool = False, vocabulary=None):
    """tokens: the inputs are token ids (data=text), passed as `tokens=True` to the builders that
    take a `tokens` argument (they embed the ids and predict the next token at every position);
    the others are refused. vocabulary: the token ids are texts to classify
    (data=text_classification), ids 0..vocabulary-1, passed (without `tokens`) to the builders that
    take a `vocabulary` argument (num_outputs is then the number of classes)."""
    build = MODELS.get(model_cfg.name, "model.name")
    if not tokens:
        model = build(model_cfg, reg_cfg, tuple(input_shape), num_outputs)
    elif vocabulary is not None:
        if not takes(build, "vocabulary"):
            readers = [name for name in MODELS.names() if takes(MODELS.get(name, "model.name"), "vocabulary")]
            raise ConfigError(
                "model.name",
                f"{model_cfg.name} does not classify texts (data=text_classification); use one of: {', '.join(readers)}",
            )
        model = build(model_cfg, reg_cfg, tuple(input_shape), num_outputs, vocabulary=vocabulary)
    elif reads_tokens(build):
        model = build(model_cfg, reg_cfg, tuple(input_shape), num_outputs, tokens=True)
    else:
        readers = [name for name in MODELS.names() if reads_tokens(MODELS.get(name, "model.name"))]
        raise ConfigError(
            "model.name",
            f"{model_cfg.name} does not read token ids (the inputs of data=text); use one of: {', '.join(readers)}",
        )
    if getattr(model_cfg, "init_from", None):
        load_encoder(model, model_cfg.init_from)
    return model


def reads_tokens(build) -> bool:
    """Whether a builder takes token ids: it has a `tokens` argument."""
    return takes(build, "tokens")


def takes(build, argument: str) -> bool:
    return argument in inspect.signature(build).parameters


def check_model(model_cfg, reg_cfg, input_shape, num_outputs, tokens: bool = False, vocabulary=None) -> torch.nn.Module:
    """Build the model on the meta device (no memory, no compute) and pass it one
    zero input of shape (1, *input_shape): a config that cannot fit the input
    (a kernel or pool larger than its feature map, an init_from checkpoint of the
    wrong shape) raises ConfigError naming the key, before any data is loaded.
    Returns the meta model (what else the preflight asks of it: runner/build/assemble.py)."""
    input_shape = tuple(int(s) for s in input_shape)
    with torch.device("meta"):
        model = build_model(model_cfg, reg_cfg, input_shape, num_outputs, tokens, vocabulary)
        model.eval()
        try:
            out = model(torch.zeros((1, *input_shape), dtype=torch.long if tokens else None))
        except (RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(
                "model", f"{model_cfg.name} does not fit inputs of shape {input_shape}: {first}"
            ) from None
    expected = (1, *task_of(model).output_shape(input_shape, num_outputs))
    if tuple(out.shape) != expected:
        raise ConfigError(
            "model",
            f"{model_cfg.name} gives outputs of shape {tuple(out.shape)} for one input of shape {input_shape}, expected {expected}",
        )
    return model
