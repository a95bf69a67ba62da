"""Start-up (issue 7): `runner train` composes its config once, in the preflight, and runs that
config; what it leaves behind is what Hydra's own app (@hydra.main) leaves; nothing that the
first training step does not need is imported before it."""

import subprocess
import sys
import textwrap

from conftest import TINY
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from omegaconf import OmegaConf


def hydra_files(run_dir) -> str:
    """The run folder's .hydra/*.yaml as text (unresolved: ${now:...} stays as written), without
    what differs between any two runs (the folder, the working directory)."""
    hydra = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml")
    hydra.hydra.run.dir = hydra.hydra.runtime.output_dir = hydra.hydra.runtime.cwd = None
    hydra.hydra.overrides.hydra = [o for o in hydra.hydra.overrides.hydra if not o.startswith("hydra.run.dir=")]
    return "".join(
        (run_dir / ".hydra" / name).read_text() for name in ("config.yaml", "overrides.yaml")
    ) + OmegaConf.to_yaml(hydra)


def counting_compositions(monkeypatch) -> list:
    calls = []
    real = ConfigLoaderImpl.load_configuration

    def load_configuration(self, *args, **kwargs):
        calls.append(kwargs.get("overrides"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", load_configuration)
    return calls


def test_a_run_composes_its_config_once(cli, monkeypatch):
    compositions = counting_compositions(monkeypatch)
    result = cli("train", *TINY, "trainer.epochs=1")
    assert result.code == 0, result.err
    assert len(compositions) == 1  # the preflight's; Hydra used to compose the same command twice more
    assert (result.run_dir() / "results.json").exists()


def test_a_sweep_is_not_composed_again_only_to_read_hydra_mode(cli, monkeypatch):
    compositions = counting_compositions(monkeypatch)
    result = cli("train", "-m", *TINY, "trainer.epochs=1", "seed=0,1")
    assert result.code == 0, result.err
    # preflight: the fixed part + 2 points; Hydra: the sweep, its sweeper's check of the
    # 2 points, the 2 jobs. @hydra.main composed the sweep once more first.
    assert len(compositions) == 3 + 1 + 2 + 2
    assert len(result.run_dirs()) == 2


def test_the_run_folder_is_the_one_hydras_own_app_leaves(cli, outputs):
    direct = cli("train", *TINY, "trainer.epochs=1", f"hydra.run.dir={outputs / 'direct'}")
    # A Hydra flag (--run is Hydra's default mode) sends the command through @hydra.main.
    through_hydra = cli("train", "--run", *TINY, "trainer.epochs=1", f"hydra.run.dir={outputs / 'hydra'}")
    assert direct.code == 0 and through_hydra.code == 0, direct.err + through_hydra.err
    assert hydra_files(outputs / "direct") == hydra_files(outputs / "hydra")
    for run in ("direct", "hydra"):
        assert "test loss" in (outputs / run / "train.log").read_text()


def test_hydra_verbose_still_prints_hydras_composition_report(cli_process):
    # (a process of its own: hydra.verbose leaves the root logger at DEBUG)
    result = cli_process("train", *TINY, "trainer.epochs=1", "hydra.verbose=true")
    assert result.code == 0, result.err
    assert "Config search path" in result.out + result.err


def test_a_config_error_stops_before_any_folder_is_made(cli):
    result = cli("train", *TINY, "optimizer.lrr=0.1")
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]  # one line
    assert result.err.startswith("runner: config error: optimizer.lrr: unknown key 'lrr'")
    assert not result.outputs.exists() or not any(result.outputs.rglob("*.yaml"))


# Run in a fresh interpreter: which modules are loaded when the first training step starts.
FIRST_STEP_IMPORTS = textwrap.dedent(
    """
    import gc
    import sys
    import runner.fit.loop
    from runner.cli import main

    real = runner.fit.loop.train_epoch
    NOT_NEEDED = ("torchvision", "tensorboard", "torch.utils.tensorboard", "matplotlib", "scipy", "submitit", "optuna", "pandas")

    def first_epoch(*args, **kwargs):
        print("loaded before the first step:", sorted(m for m in NOT_NEEDED if m in sys.modules), flush=True)
        print("collector enabled:", gc.isenabled(), "objects frozen:", gc.get_freeze_count() > 100_000, flush=True)
        runner.fit.loop.train_epoch = real
        return real(*args, **kwargs)

    runner.fit.loop.train_epoch = first_epoch
    main(sys.argv[1:])
    """
)


def test_nothing_the_first_step_does_not_need_is_imported_before_it(outputs):
    args = ["train", *TINY, "trainer.epochs=1"]
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_STEP_IMPORTS, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "loaded before the first step: []" in proc.stdout, proc.stdout
    # The imports ran with the cyclic garbage collector paused (runner/launch/startup.py); it is back on for training.
    assert "collector enabled: True objects frozen: True" in proc.stdout, proc.stdout
    assert list(outputs.rglob("events.out.tfevents*")), "TensorBoard events are still written (after the first epoch)"
