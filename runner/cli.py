"""`runner <command> [args]`: the first word picks the command."""

import sys

USAGE = """usage: runner <command> [args...]

commands:
  train [overrides...]   train one run, or a sweep with -m (a Hydra app; see `runner train --help`)

examples:
  runner train                                        # the default experiment: MLP on MNIST
  runner train model.hidden_sizes=[256,128] optimizer=momentum optimizer.lr=0.05
  runner train data=synthetic trainer.epochs=3        # seconds, for a smoke test
  runner train -m model.activation=tanh,relu seed=0,1,2

Runs land in outputs/; watch them with `tensorboard --logdir outputs`.
"""


def train(args) -> int:
    multirun = any(a in ("-m", "--multirun") for a in args)
    if not any(a in ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c") or a.startswith("--info") for a in args):
        from runner.preflight import PreflightError, check

        overrides = [a for a in args if not a.startswith("-")]
        try:
            check(overrides, multirun=multirun)
        except PreflightError as err:
            print(f"runner: config error: {err}", file=sys.stderr)
            return 2
    from runner.app import train_app

    sys.argv = ["runner train", *args]
    train_app()
    return 0


COMMANDS = {"train": train}


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"runner: unknown command '{command}'; choose one of: {', '.join(COMMANDS)}\n", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[command](args))
