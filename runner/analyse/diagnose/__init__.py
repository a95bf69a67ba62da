"""`runner diagnose [overrides...]`: checks of a model before training, on the config `runner train`
would train (composed and checked the same way) and on the parts it would train with.

    checks.py   initial loss, overfit one batch, real vs zeroed inputs, batch independence
    layers.py   gradient ratio across depth, dead/saturated units, update/weight ratio
    probe.py    the assembled parts, the examples, fresh copies of model and optimizer
    report.py   the table and --json

Exit status 0 when no check is a problem, 1 otherwise, 2 for a bad command line or config.
Thresholds and sources: docs/diagnose.md."""

import argparse
import sys
from typing import Callable, List

from runner.analyse.diagnose.probe import MIN_EXAMPLES, Sizes

Compose = Callable[[List[str]], object]  # runner/cli.py's _checked_config (launch/ sits above analyse/)


class OneLineParser(argparse.ArgumentParser):
    """A bad command line is one line naming the problem, exit 2 (not argparse's usage block)."""

    def error(self, message):
        print(f"runner: diagnose: {message} (see runner diagnose --help)", file=sys.stderr)
        sys.exit(2)


def parse_args(args: List[str]) -> argparse.Namespace:
    parser = OneLineParser(
        prog="runner diagnose",
        description="Check a model before training: initial loss, overfitting one batch, zeroed inputs, "
        "batch independence, gradient scale across depth, dead/saturated units, update/weight ratio.",
        epilog="example: runner diagnose model.activation=sigmoid model.hidden_sizes=[30,30,30,30]",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for `runner train`")
    parser.add_argument(
        "--examples", type=int, default=256, help="training examples measured (default 256, at least 32)"
    )
    parser.add_argument("--batch", type=int, default=16, help="examples of the batch to overfit (default 16)")
    parser.add_argument("--steps", type=int, default=100, help="steps on that batch (default 100)")
    parser.add_argument(
        "--update-steps", type=int, default=10, help="steps the update ratio is averaged over (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parsed = parser.parse_intermixed_args(args)
    for key, least in (("examples", MIN_EXAMPLES), ("batch", 1), ("steps", 1), ("update_steps", 1)):
        if getattr(parsed, key) < least:
            parser.error(f"--{key.replace('_', '-')} must be at least {least}")
    return parsed


def main(args: List[str], compose: Compose) -> int:
    if any(a in ("-m", "--multirun") for a in args):  # before argparse, which would only say "unrecognized"
        print("runner: diagnose checks one config; drop -m and the sweep lists", file=sys.stderr)
        return 2
    opts = parse_args(args)
    from runner.config.schema import validate
    from runner.errors import ConfigError, PreflightError

    try:
        cfg = validate(compose(opts.overrides))
    except PreflightError as err:
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    sizes = Sizes(opts.examples, opts.batch, opts.steps, opts.update_steps)
    try:
        checks, probe = run_checks(cfg, sizes)
    except ConfigError as err:  # found while building (e.g. a kernel larger than the image)
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    from runner.analyse.diagnose import report

    if opts.json:
        print(report.as_json(checks, about(cfg, probe)))
    else:
        print(report.table(checks, heading(cfg, probe)))
        print("\n" + report.layer_table(checks))
    return 1 if any(c.verdict == "problem" for c in checks) else 0


def run_checks(cfg, sizes: Sizes):
    import torch

    from runner.analyse.diagnose import checks, layers
    from runner.analyse.diagnose.probe import make_probe

    torch.set_num_threads(cfg.trainer.threads or 1)  # small batches: more threads only add overhead (and contend)
    probe = make_probe(cfg, sizes)
    found = [checks.initial_loss(probe), *checks.overfit_and_zero_input(probe), checks.batch_independence(probe)]
    found += [layers.gradient_norms(probe), layers.activations(probe), layers.update_ratios(probe)]
    return found, probe


def about(cfg, probe) -> dict:
    s = probe.sizes
    return {
        "model": cfg.model.name,
        "data": cfg.data.name,
        "loss": cfg.loss,
        "optimizer": cfg.optimizer.name,
        "lr": cfg.optimizer.lr,
        "device": str(probe.device),
        "sizes": {
            "examples": s.examples,
            "batch": s.batch,
            "steps": s.steps,
            "update_steps": s.update_steps,
            "update_batch": min(cfg.trainer.batch_size, s.examples),
        },
    }


def heading(cfg, probe) -> str:
    a, s = about(cfg, probe), probe.sizes
    return (
        f"runner diagnose: model {a['model']}, data {a['data']}, {a['loss']}, {a['optimizer']} lr {a['lr']:g}\n"
        f"measured on {s.examples} training examples ({a['device']}); overfit: {s.batch} examples,\n"
        f"{s.steps} steps; update ratio: mean of {s.update_steps} steps, batches of {a['sizes']['update_batch']}"
    )
