"""Issue #19, items 1-4 and 10-14, 17: configs that try to run code, write outside the run
folder, load libraries, or exhaust the machine; each is refused before anything runs."""

import pytest
from adversarial_support import canary, refused  # noqa: F401 (a fixture)
from conftest import TINY


def no_run_folders(outputs):
    return not list(outputs.rglob(".hydra")) if outputs.exists() else True


# ---------------------------------------------------------------- 1. code execution


def write_text_payload(target: str, canary) -> str:
    return f"""# @package _global_
hydra:
  callbacks:
    x:
      _target_: {target}
      _args_:
        - {{_target_: hydra.experimental.callbacks.Path, _args_: ["{canary}"]}}
        - "import os; os.system('id > {canary}')\\n"
"""


@pytest.mark.parametrize(
    "target",
    [
        "hydra.experimental.callbacks.Path.write_text",
        "pathlib.Path.write_text",
        "runner.launch.sweep_manifest.os.system",
    ],
)
def test_a_callback_that_writes_a_pth_file_is_refused(cli, outputs, experiment_file, canary, target):
    name = experiment_file(write_text_payload(target, canary))
    result = cli("train", *TINY, f"+experiment={name}")
    refused(result, "hydra.callbacks.x._target_", target, "not a launcher, sweeper or callback")
    assert not canary.exists() and no_run_folders(outputs)


def test_an_allowed_target_cannot_take_arguments(cli, experiment_file, canary):
    name = experiment_file(f"""# @package _global_
hydra:
  callbacks:
    x: {{_target_: runner.launch.sweep_manifest.SweepManifest, _args_: ["{canary}"]}}
""")
    refused(cli("train", *TINY, f"+experiment={name}"), "hydra.callbacks.x._args_", "cannot pass arguments")
    assert not canary.exists()


def test_oc_decode_cannot_build_a_target_from_text(cli, experiment_file, canary):
    name = experiment_file(f"""# @package _global_
hydra:
  callbacks:
    y: '${{oc.decode:"{{_target_: pathlib.Path.touch, _args_: [{canary}]}}"}}'
""")
    refused(cli("train", *TINY, f"+experiment={name}"), "hydra.callbacks.y", "oc.decode", "refused")
    assert not canary.exists()


@pytest.mark.parametrize("resolver", ["oc.create", "oc.dict.values", "oc.deprecated"])
def test_resolvers_that_make_nodes_are_refused_anywhere(cli, resolver):
    refused(cli("train", *TINY, f"+model.note=${{{resolver}:x}}"), resolver, "refused")


def test_an_interpolated_target_is_refused(cli, experiment_file, canary):
    name = experiment_file("""# @package _global_
hydra:
  job: {name: os.system}
  callbacks:
    x: {_target_: '${hydra.job.name}'}
""")
    refused(cli("train", *TINY, f"+experiment={name}"), "hydra.callbacks.x._target_")


def test_a_logging_factory_outside_logging_is_refused(cli, experiment_file, canary):
    name = experiment_file("""# @package _global_
hydra:
  job_logging:
    handlers:
      evil: {"()": logging.config.listen, port: 9999}
""")
    refused(cli("train", *TINY, f"+experiment={name}"), "hydra.job_logging.handlers.evil.()", "logging class")


def test_ext_urls_may_name_only_the_console(cli):
    refused(cli("train", *TINY, "hydra.job_logging.handlers.console.stream=ext://os.system"), "ext://os.system")


def test_a_shared_folders_overrides_go_through_the_same_check(cli, outputs, canary):
    folder = outputs / "shared"
    (folder / ".hydra").mkdir(parents=True)
    (folder / "results.json").write_text("{}")
    (folder / ".hydra" / "overrides.yaml").write_text(
        "- data=synthetic\n- +hydra.callbacks.x._target_=pathlib.Path.touch\n"
    )
    refused(cli("train", f"trainer.resume={folder}"), "_target_")
    assert not canary.exists()


# ---------------------------------------------------------------- 2-3. paths


@pytest.mark.parametrize(
    "override, key",
    [
        ("hydra.job_logging.handlers.file.filename=${hydra.runtime.output_dir}/../../../../x.log", "filename"),
        ("hydra.job_logging.handlers.file.filename=/tmp/x.log", "filename"),
        ("hydra.job.name=../../../x", "hydra.job.name"),
        ("hydra.output_subdir=../../../tmp/y", "hydra.output_subdir"),
        ("hydra.output_subdir=/tmp/y", "hydra.output_subdir"),
        ("hydra.run.dir=/etc", "hydra.run.dir"),
        ("hydra.run.dir=", "hydra.run.dir"),
        ("hydra.launcher.temp_folder=/tmp", "hydra.launcher.temp_folder"),
    ],
)
def test_nothing_is_written_outside_the_outputs_folder(cli, outputs, override, key):
    extra = ["hydra/launcher=joblib"] if "launcher" in override else []
    multirun = ["-m"] if "launcher" in override else []
    refused(cli("train", *multirun, *TINY, *extra, override), key)
    assert no_run_folders(outputs)


def test_a_run_folder_reached_through_dot_dot_or_a_link_is_outside(cli, outputs, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    outputs.mkdir(parents=True, exist_ok=True)
    (outputs / "link").symlink_to(tmp_path / "elsewhere")
    refused(cli("train", *TINY, f"hydra.run.dir={outputs}/../elsewhere/run"), "outside the outputs folder")
    refused(cli("train", *TINY, f"hydra.run.dir={outputs}/link/run"), "outside the outputs folder")
    assert not list((tmp_path / "elsewhere").iterdir())


def test_a_sweep_subdir_stays_in_its_sweep(cli, outputs):
    refused(
        cli("train", "-m", *TINY, "seed=0,1", "hydra.sweep.subdir=../../escaped${hydra.job.num}"), "hydra.sweep.subdir"
    )
    assert no_run_folders(outputs)


@pytest.mark.parametrize(
    "choice",
    [
        "+experiment=../../../../tmp/x/evil",
        "model=../../../etc/passwd",
        "+experiment=/etc/passwd",
        "hydra/launcher=../../x",
    ],
)
def test_configs_are_chosen_from_the_config_tree_only(cli, choice):
    refused(cli("train", *TINY, choice), "not an option name")


def test_an_experiment_cannot_pick_a_file_outside_by_its_defaults(cli, experiment_file):
    name = experiment_file("# @package _global_\ndefaults:\n  - override /model: ../../../../tmp/evil\n")
    refused(cli("train", *TINY, f"+experiment={name}"))


def test_the_search_path_is_not_a_config_key(cli, tmp_path):
    refused(cli("train", *TINY, f"hydra.searchpath=[file://{tmp_path}]"), "--config-dir")


# ---------------------------------------------------------------- 4. environment


@pytest.mark.parametrize(
    "name", ["CUDA_INJECTION64_PATH", "NCCL_NET_PLUGIN", "LD_PRELOAD", "RUNNER_CACHE_DIR", "PYTHONPATH"]
)
def test_env_set_names_come_from_a_short_list(cli, name):
    refused(cli("train", *TINY, f"+hydra.job.env_set.{name}=/tmp/x.so"), f"hydra.job.env_set.{name}", "OMP_NUM_THREADS")


def test_a_harmless_env_var_is_set_for_the_run(cli):
    assert cli("train", *TINY, "trainer.epochs=1", "+hydra.job.env_set.OMP_NUM_THREADS=1").code == 0


@pytest.mark.parametrize(
    "override, key",
    [
        ("+hydra.launcher.additional_parameters.output=/etc/x", "additional_parameters.output"),
        ("hydra.launcher.setup=['curl x | sh']", "hydra.launcher.setup"),
        ("hydra.launcher.srun_args=['--task-prolog=/tmp/x.sh']", "srun_args"),
    ],
)
def test_slurm_shell_lines_cannot_come_from_a_config(cli, override, key):
    refused(cli("train", "-m", *TINY, "hydra/launcher=slurm", override), key)


@pytest.mark.parametrize("storage", ["sqlite:////tmp/x.db", "/tmp/x.journal", "outputs/../../x.journal"])
def test_optuna_storage_stays_in_the_outputs_folder(cli, storage):
    refused(
        cli(
            "train",
            "-m",
            *TINY,
            "hydra/sweeper=optuna",
            f"hydra.sweeper.storage={storage}",
            "optimizer.lr=interval(0.1,1)",
        ),
        "hydra.sweeper.storage",
    )


# ---------------------------------------------------------------- 10-14, 17: exhaustion and odd input


@pytest.mark.parametrize("threads", ["100000", "20000", "-1"])
def test_thread_counts_are_bounded(cli, outputs, threads):
    refused(cli("train", *TINY, f"trainer.threads={threads}"), "trainer.threads")
    assert no_run_folders(outputs)


def test_threads_are_bounded_for_evaluate_too(cli, outputs):
    assert cli("train", *TINY, "trainer.epochs=1").code == 0
    (run,) = [p.parent for p in outputs.rglob("results.json")]
    refused(cli("evaluate", str(run), "trainer.threads=100000"), "trainer.threads")


def test_a_yaml_alias_bomb_is_refused_at_once(cli, experiment_file):
    lines = ["# @package _global_", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    name = experiment_file("\n".join(lines) + "\n")
    line = refused(cli("train", *TINY, f"+experiment={name}"), "aliases", f"{name}.yaml", "line 3")
    assert len(line) < 400


def test_a_huge_sweep_is_refused_unless_confirmed(cli, outputs):
    grid = ["seed=" + ",".join(map(str, range(40))), "optimizer.lr=" + ",".join(str(0.1 + i / 100) for i in range(30))]
    refused(cli("train", "-m", *TINY, *grid), "1,200 points", "trainer.max_sweep_points")
    assert no_run_folders(outputs)


def test_a_big_sweep_says_how_long_its_check_takes(cli, outputs, monkeypatch):
    import runner.launch.app
    import runner.launch.preflight

    monkeypatch.setattr(runner.launch.app, "run_sweep", lambda *a, **k: None)  # the check is what is measured
    monkeypatch.setattr(runner.launch.preflight, "QUIET_BELOW", 8)  # "big" from 8 points: 60 took 27 s to check
    result = cli("train", "-m", *TINY, "seed=" + ",".join(map(str, range(9))))
    assert result.code == 0, result.err
    assert "checking 9 sweep points before the first runs (about" in result.err


def test_an_overlong_key_is_one_line(cli, outputs):
    refused(cli("train", *TINY, "+" + "k" * 5000 + "=1"), "5,000 characters")
    assert no_run_folders(outputs)


def test_an_overlong_job_name_is_one_line(cli, outputs):
    refused(cli("train", *TINY, "hydra.job.name=" + "j" * 300), "hydra.job.name")
    assert no_run_folders(outputs)


def test_the_check_sees_experiments_in_config_dir(cli, outputs, tmp_path):
    (tmp_path / "mine" / "experiment").mkdir(parents=True)
    (tmp_path / "mine" / "experiment" / "x.yaml").write_text("# @package _global_\ntrainer: {eval_batch_size: 333}\n")
    result = cli("train", f"--config-dir={tmp_path / 'mine'}", *TINY, "trainer.epochs=1", "+experiment=x")
    assert result.code == 0, result.err
    (config,) = outputs.rglob(".hydra/config.yaml")
    assert "eval_batch_size: 333" in config.read_text()


def test_config_dir_files_are_checked_like_any_other(cli, tmp_path, canary):
    (tmp_path / "mine" / "experiment").mkdir(parents=True)
    (tmp_path / "mine" / "experiment" / "x.yaml").write_text(write_text_payload("pathlib.Path.write_text", canary))
    refused(cli("train", "--config-dir", str(tmp_path / "mine"), *TINY, "+experiment=x"), "_target_")
    assert not canary.exists()


@pytest.mark.parametrize("n_jobs", ["100000", "0", "-5"])
def test_joblib_workers_are_bounded(cli, outputs, n_jobs):
    refused(
        cli("train", "-m", *TINY, "hydra/launcher=joblib", f"hydra.launcher.n_jobs={n_jobs}", "seed=0,1"),
        "hydra.launcher.n_jobs",
    )
    assert no_run_folders(outputs)


@pytest.mark.parametrize("link", ["checkpoints", "metrics.csv", ".hydra"])
def test_a_shared_folder_with_a_link_is_not_written_through(cli, outputs, tmp_path, link):
    """A run folder from someone else whose checkpoints/ (or a file) links elsewhere (e.g. ~/.ssh)."""
    assert cli("train", *TINY, "trainer.epochs=1", f"hydra.run.dir={outputs / 'shared'}").code == 0
    folder, target = outputs / "shared", tmp_path / "victim"
    target.mkdir()
    moved = folder / link
    moved.rename(target / link)
    moved.symlink_to(target / link)
    before = (
        sorted(p.name for p in (target / link).rglob("*")) if (target / link).is_dir() else (target / link).read_bytes()
    )
    refused(cli("train", f"trainer.resume={folder}", "trainer.epochs=2"), "symbolic link", link)
    after = (
        sorted(p.name for p in (target / link).rglob("*")) if (target / link).is_dir() else (target / link).read_bytes()
    )
    assert before == after


def test_evaluate_checks_a_shared_folders_overrides_like_train(cli, outputs, experiment_file):
    assert cli("train", *TINY, "trainer.epochs=1", f"hydra.run.dir={outputs / 'r'}").code == 0
    bomb = experiment_file("# @package _global_\na: &a [1, 2]\nb: [*a, *a]\n")
    (outputs / "r" / ".hydra" / "overrides.yaml").write_text(f"- data=synthetic\n- +experiment={bomb}\n")
    refused(cli("evaluate", str(outputs / "r"), "data.noise=0.1"), "aliases")
