"""Property-based (hypothesis): configs with `_target_`, `_args_`, interpolations and paths in
random nodes. Whatever the policy accepts, Hydra's instantiate, run on it, never locates
anything outside the allow-list; whatever it refuses is refused with a ConfigError."""

import hydra._internal.instantiate._instantiate2 as instantiate2
import pytest
from hydra.utils import instantiate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from runner.config import policy as config_policy
from runner.errors import ConfigError
from runner.launch.preflight import PreflightError, check

DANGEROUS = [
    "os.system",
    "subprocess.run",
    "builtins.eval",
    "pathlib.Path.touch",
    "hydra.experimental.callbacks.Path",
    "hydra.experimental.callbacks.Path.write_text",
    "runner.launch.sweep_manifest.os.system",
    "hydra.utils.call",
    "runner.launch.sweep_manifest.SweepManifest.__init__.__globals__",
    "logging.config.listen",
]
TARGETS = st.sampled_from(DANGEROUS + sorted(config_policy.HYDRA_TARGETS))
TEXT = st.sampled_from(["x", "/tmp/owned", "../../x", "${now:%H}", "${oc.env:HOME}", "${hydra:runtime.cwd}"])
INTERPOLATION = st.builds(
    lambda r, t: f'${{{r}:"{{_target_: {t}}}"}}',
    st.sampled_from(["oc.decode", "oc.create", "oc.select", "now"]),
    TARGETS,
)
KEYS = st.sampled_from(["_target_", "_args_", "_partial_", "_recursive_", "class", "()", "stream", "a", "b"])


def values(depth: int):
    leaves = st.one_of(TARGETS, TEXT, INTERPOLATION, st.integers(-3, 3), st.booleans(), st.just("ext://os.system"))
    if depth == 0:
        return leaves
    inner = values(depth - 1)
    return st.one_of(leaves, st.dictionaries(KEYS, inner, max_size=3), st.lists(inner, max_size=2))


NODES = st.dictionaries(
    st.sampled_from(["x", "y"]), st.dictionaries(KEYS, values(2), min_size=1, max_size=4), min_size=1, max_size=2
)


def accepted(hydra_node: dict) -> bool:
    cfg = OmegaConf.create({"hydra": hydra_node})
    try:
        config_policy.check_resolvers(OmegaConf.to_container(cfg, resolve=False))
        config_policy.check_hydra(cfg.hydra)
    except ConfigError:
        return False
    return True


@pytest.fixture
def located(monkeypatch):
    """Every name Hydra's instantiate resolves to an object."""
    names = []
    real = instantiate2._locate

    def spy(path):
        names.append(path)
        return real(path)

    monkeypatch.setattr(instantiate2, "_locate", spy)
    return names


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(callbacks=NODES)
def test_what_is_accepted_never_locates_code_outside_the_allow_list(callbacks, located, tmp_path):
    if not accepted({"callbacks": callbacks}):
        return
    resolved = config_policy.resolved_hydra(OmegaConf.create({"callbacks": callbacks}))["callbacks"]
    for node in resolved.values():
        try:
            instantiate(node)
        except Exception:  # noqa: BLE001 (wrong arguments for an allowed class: refused by it, harmless)
            pass
    assert set(located) <= config_policy.HYDRA_TARGETS


@settings(max_examples=200, deadline=None)
@given(node=values(3))
def test_code_keys_and_node_making_resolvers_never_pass(node):
    """An accepted hydra.callbacks node, resolved, holds no code key but an allowed `_target_`."""
    if not accepted({"callbacks": {"x": node}}):
        return
    resolved = config_policy.resolved_hydra(OmegaConf.create({"callbacks": {"x": node}}))
    for where, key, value in config_policy.walk(resolved):
        assert key not in config_policy.CODE_KEYS[1:], where
        if key == "_target_":
            assert value in config_policy.HYDRA_TARGETS, where
        if isinstance(value, str):
            assert not value.startswith("ext://") or value in config_policy.LOGGING_STREAMS


OVERRIDE_KEYS = st.sampled_from(
    [
        "+hydra.callbacks.x._target_",
        "hydra.callbacks.sweep_manifest._target_",
        "+hydra.callbacks.x._args_",
        "hydra.job_logging.handlers.file.filename",
        "hydra.output_subdir",
        "hydra.run.dir",
        "+model.note",
        "+hydra.job.env_set.LD_PRELOAD",
        "hydra.job.name",
        "+experiment",
    ]
)
OVERRIDE_VALUES = st.sampled_from(
    [*DANGEROUS, "../../x", "/etc", "'${oc.env:HOME}'", "x", "runner.launch.sweep_manifest.SweepManifest"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(OVERRIDE_KEYS, OVERRIDE_VALUES), min_size=1, max_size=3, unique_by=lambda p: p[0]))
def test_the_real_preflight_lets_no_dangerous_target_through(pairs, outputs):
    overrides = ["data=synthetic", *(f"{k}={v}" for k, v in pairs)]
    try:
        (cfg,) = check(overrides, keep_hydra=True)
    except PreflightError:
        return
    plain = OmegaConf.to_container(cfg.hydra.callbacks, resolve=True)
    for where, key, value in config_policy.walk(plain):
        assert key != "_target_" or value in config_policy.HYDRA_TARGETS, (overrides, where)
    assert config_policy.inside(str(cfg.hydra.run.dir), config_policy.outputs_root())
