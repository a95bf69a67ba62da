"""`runner <command> [args]`: the first word picks the command."""

import sys

USAGE = """usage: runner <command> [args...]

commands:
  train [overrides...]   train one run, or a sweep with -m (a Hydra app; see `runner train --help`)
  compare PATH... [--sort COLUMN] [--out DIR]
                         compare the runs of a sweep: groups, mean ± std, Welch tests, plots
  evaluate RUN_DIR [overrides...]
                         re-test a run's best checkpoint: test accuracy and confusion matrix
  reproduce [ROWS...] [--seeds N] [--quick] [--report]
                         train the documented MNIST results and report documented vs obtained
  gradcheck [overrides...] [--examples N] [--entries N] [--tol X]
                         compare the model's autograd gradients with finite differences

examples:
  runner train                                        # the default experiment: MLP on MNIST
  runner train model.hidden_sizes=[256,128] optimizer=momentum optimizer.lr=0.05
  runner train data=synthetic trainer.epochs=3        # seconds, for a smoke test
  runner train -m model.activation=tanh,relu seed=0,1,2
  runner train -m hydra/launcher=joblib +experiment=tanh_vs_relu   # 2 runs at a time
  runner compare outputs/sweeps/<date>/<time>
  runner evaluate outputs/sweeps/<date>/<time>/0
  runner gradcheck model=cnn data=synthetic          # check a model's gradients

Runs land in outputs/; watch them with `tensorboard --logdir outputs`.
"""


def train(args) -> int:
    multirun = any(a in ("-m", "--multirun") for a in args)
    from runner.resume import ResumeFolderError, expand_resume_folder

    try:
        args = expand_resume_folder(args, multirun)  # trainer.resume=<run dir>
    except ResumeFolderError as err:
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    if not any(a in ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c") or a.startswith("--info") for a in args):
        from runner.preflight import PreflightError, check

        overrides = [a for a in args if not a.startswith("-")]
        try:
            configs = check(overrides, multirun=multirun)
        except PreflightError as err:
            print(f"runner: config error: {err}", file=sys.stderr)
            return 2
        from runner import distributed  # under torchrun (trainer.strategy=ddp): rank 0 alone writes the run folder

        problem = distributed.launch_problem(configs[0].trainer.strategy, multirun)
        if problem:
            print(f"runner: config error: {problem}", file=sys.stderr)
            return 2
        args = [*args, *distributed.hydra_overrides(args)]
        if multirun:
            from runner.resumable_sweep import ResumableSweepError, prepare, wants_resumable_folder

            if wants_resumable_folder(overrides):  # the same command must find the same numbered folders
                try:
                    folder = prepare(overrides)
                except ResumableSweepError as err:
                    print(f"runner: {err}", file=sys.stderr)
                    return 2
                print(f"runner: resumable sweep in {folder} (launch the same command again to resume it)", flush=True)
                args = [*args, f"hydra.sweep.dir={folder}"]
    from runner.app import train_app

    sys.argv = ["runner train", *args]
    train_app()
    return 0


def compare(args) -> int:
    from runner.compare import main as compare_main

    return compare_main(args)


def evaluate(args) -> int:
    from runner.evaluate import main as evaluate_main

    return evaluate_main(args)


def reproduce(args) -> int:
    from runner.reproduce import main as reproduce_main

    return reproduce_main(args)


def gradcheck(args) -> int:
    from runner.gradcheck import main as gradcheck_main

    return gradcheck_main(args)


COMMANDS = {"train": train, "compare": compare, "evaluate": evaluate, "reproduce": reproduce, "gradcheck": gradcheck}


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
