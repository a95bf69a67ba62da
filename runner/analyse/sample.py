"""`runner sample RUN_DIR [--prompt TEXT] [--length N] [--temperature T] [--top-k K] [--seed S]`:
text drawn from a language model's saved weights, from the run folder alone: the model rebuilt
from .hydra/config.yaml and vocab.json (the text file itself is not read), the weights from
checkpoints/best.pt (--checkpoint last: last.pt), drawn on the CPU by runner/build/sampling.py.
Options not given take the run's sample.* values. A prompt with characters (or words) outside
the vocabulary is one `runner sample:` line naming them, exit code 2."""

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
from omegaconf.errors import OmegaConfBaseException

from runner.analyse.evaluate import Compose, EvaluateError, run_config
from runner.errors import CheckpointError, ConfigError
from runner.record.run_folder import RunFolder

OPTIONS = {"prompt": str, "length": int, "temperature": float, "top_k": int, "seed": int}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="runner sample", description="Draw text from a language model's checkpoint (a run on data=text)."
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    parser.add_argument("--prompt", help="text to continue (default: the run's sample.prompt)")
    parser.add_argument("--length", type=int, help="tokens to draw (default: sample.length)")
    parser.add_argument("--temperature", type=float, help="divides the logits (default: sample.temperature)")
    parser.add_argument("--top-k", dest="top_k", type=int, help="draw among the k likeliest; 0 = all")
    parser.add_argument("--seed", type=int, help="the draw's seed (default: sample.seed, else the run's seed)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which weights (default best)")
    return parser.parse_args(argv)


def draw(run_dir: Path, args, compose: Compose) -> str:
    from runner.build.layout import default_dtype
    from runner.build.models import build_model
    from runner.build.sampling import sample_text
    from runner.config.data.text_classification import classifies_tokens
    from runner.config.data.text_corpus import prompt_ids
    from runner.config.schema import validate
    from runner.record.checkpoint import load_checkpoint, load_weights

    folder = RunFolder(run_dir)
    vocab = folder.vocabulary()
    if vocab is None:
        raise EvaluateError(f"{run_dir}: no readable vocab.json; runner sample draws from runs on data=text")
    checkpoint = folder.checkpoint(args.checkpoint)
    if not checkpoint.exists():
        raise EvaluateError(f"{checkpoint}: no such checkpoint (was the run trained with trainer.checkpoints=false?)")
    run_cfg = validate(run_config(run_dir, [], compose))
    if classifies_tokens(run_cfg.data):
        raise EvaluateError(
            f"{run_dir}: a classifier of texts (data=text_classification); runner sample draws from language models (data=text)"
        )
    given = {key: getattr(args, key) for key in OPTIONS if getattr(args, key) is not None}
    try:
        sample = dataclasses.replace(run_cfg.sample, **given)
    except ConfigError as err:
        raise ConfigError(f"--{err.key.replace('_', '-')}", err.problem) from None
    itos, tokens = vocab["itos"], vocab["tokens"]
    prompt_ids(sample.prompt, itos, tokens, key="--prompt")  # before loading anything
    seed = run_cfg.seed if sample.seed is None else sample.seed
    with default_dtype(run_cfg.trainer.precision):
        context = run_cfg.data.context
        model = build_model(run_cfg.model, run_cfg.regularization, (context,), len(itos), tokens=True)
        load_weights(model, load_checkpoint(checkpoint, keys=("model",))["model"], checkpoint)
        return sample_text(model, itos, tokens, sample, seed, context)


def main(argv, compose: Compose) -> int:
    args = parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"runner sample: no such folder: {args.run_dir}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # one token at a time: more threads only add overhead
    try:
        text = draw(args.run_dir, args, compose)
    except (EvaluateError, ConfigError, CheckpointError, OmegaConfBaseException) as err:
        print(f"runner sample: {err}", file=sys.stderr)
        return 2
    print(text)
    return 0
