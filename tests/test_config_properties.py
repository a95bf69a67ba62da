"""Property: whatever a user types, the preflight either accepts it — and then `validate` accepts
every config it returns — or refuses it with PreflightError and a short message. Never another
exception (a traceback), whatever the keys (real ones, typos, new ones), values (right and wrong
types, out of range, NaN, huge), group choices (real and unknown) and prefixes (+, ++, ~).

Hypothesis draws the command lines from the real config tree; a failure prints the smallest one."""

import functools
import string

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, ListConfig, OmegaConf

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from runner.config.schema import validate  # noqa: E402
from runner.launch.preflight import PreflightError, check  # noqa: E402
from runner.paths import CONF_DIR  # noqa: E402

# Group choices whose keys the generated overrides may touch (each adds its own keys to the tree).
CHOICES = [
    [],
    ["model=cnn"],
    ["model=lstm"],
    ["model=autoencoder"],
    ["optimizer=sgd"],
    ["scheduler=step"],
    ["scheduler=plateau"],
    ["early_stopping=time_limit"],
]
UNKNOWN_NAMES = ["transformer", "Adam", "", "mlp2", "none ", "../model/mlp"]


@functools.lru_cache(maxsize=None)
def config_tree():
    """(leaf keys with a sample value, group -> options) of the real config tree."""
    leaves = {}
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for choice in CHOICES:
            cfg = compose(config_name="config", overrides=["data=synthetic", *choice])
            _leaves(cfg, "", leaves)
    GlobalHydra.instance().clear()
    groups = {}
    for group in ("data", "model", "optimizer", "scheduler", "regularization", "early_stopping", "trainer"):
        groups[group] = sorted(f.stem for f in (CONF_DIR / group).glob("*.yaml"))
    return sorted(leaves.items()), groups


def _leaves(node, prefix, out):
    items = node.items() if isinstance(node, DictConfig) else enumerate(node) if isinstance(node, ListConfig) else []
    for key, _ in items:
        name = (
            f"{prefix}.{key}" if prefix and isinstance(node, DictConfig) else f"{prefix}[{key}]" if prefix else str(key)
        )
        child = node._get_node(key)
        if (
            isinstance(child, (DictConfig, ListConfig))
            and not OmegaConf.is_missing(node, key)
            and child._content is not None
            and len(child)
        ):
            out.setdefault(name, None)  # a whole node can be overridden too
            if isinstance(child, DictConfig):
                _leaves(child, name, out)
        else:
            out.setdefault(name, None if OmegaConf.is_missing(node, key) else child._value())


def typo(key: str, draw) -> str:
    """One edit of a real key: a dropped, doubled or changed character, or a new last part."""
    how = draw(st.sampled_from(["drop", "double", "change", "suffix", "new_leaf"]))
    i = draw(st.integers(0, max(len(key) - 1, 0)))
    if how == "drop" and len(key) > 1:
        return key[:i] + key[i + 1 :]
    if how == "double":
        return key[:i] + key[i] + key[i:]
    if how == "change":
        return key[:i] + draw(st.sampled_from("abcxyz_")) + key[i + 1 :]
    if how == "suffix":
        return key + draw(st.sampled_from(["s", "_", "2", ".x"]))
    return (
        key.rpartition(".")[0] + "." + draw(st.text(string.ascii_lowercase + "_", min_size=1, max_size=8))
        if "." in key
        else key + "x"
    )


def scalar_text():
    """Values as a user types them: right and wrong types, out of range, special numbers, odd strings."""
    return st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.integers(-3, 300).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(
            lambda x: repr(x) if x == x and abs(x) != float("inf") else str(x)
        ),
        st.sampled_from(["nan", "inf", "-inf", "1e309", "-0.0", "0", "1", "-1", "0.5", "1.5", "1e-12"]),
        st.sampled_from(
            [
                "true",
                "false",
                "null",
                "???",
                "''",
                "relu",
                "tanh",
                "cpu",
                "cuda",
                "auto",
                "sgd",
                "mse",
                "val/loss",
                "pixels",
                "conv",
            ]
        ),
        st.text(string.ascii_letters + string.digits + "_-./", min_size=1, max_size=12),
        st.sampled_from(
            [
                "${trainer.epochs}",
                "${nope}",
                "${oc.env:NO_SUCH_VAR_RUNNER}",
                "${oc.decode:'[1,2'}",
                "[",
                "]",
                "{a:",
                "a=b",
                "a,b",
                "'",
                "x y",
            ]
        ),
    )


def value_text():
    element = st.one_of(
        st.integers(-5, 300).map(str),
        st.sampled_from(
            [
                "0.5",
                "a",
                "null",
                "true",
                "{channels: 4}",
                "{channels: 4, kernel: 3}",
                "{kernel: 99, channels: 2, pool: 2}",
            ]
        ),
    )
    return st.one_of(
        scalar_text(),
        st.lists(element, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(
            st.sampled_from(["a", "lr", "epochs", "_target_", "channels"]), st.integers(-2, 5).map(str), max_size=3
        ).map(lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"),
    )


def typed_text(default):
    """A value of the key's own type: in range or not (a wrong-type value is `value_text`'s job)."""
    if isinstance(default, bool):
        return st.sampled_from(["true", "false"])
    if isinstance(default, int):
        return st.one_of(st.integers(-2, 2 * default + 3), st.integers(-(2**64), 2**64)).map(str)
    if isinstance(default, float):
        return st.one_of(
            st.floats(-1.0, 2 * default + 1.0), st.sampled_from(["0.0", "1e-08", "0.999", "1.0", "2.0", "-0.1", "nan"])
        ).map(str)
    if isinstance(default, str):
        return st.sampled_from(
            [
                default,
                "relu",
                "tanh",
                "sigmoid",
                "auto",
                "none",
                "max",
                "min",
                "val/loss",
                "val/accuracy",
                "rows",
                "pixels",
                "mlp",
                "conv",
                "zeros",
            ]
        )
    return value_text()


@st.composite
def override(draw):
    leaves, groups = config_tree()
    kind = draw(
        st.sampled_from(
            [
                "typed",
                "typed",
                "typed",
                "value",
                "value",
                "typo",
                "group",
                "group",
                "group_unknown",
                "add",
                "delete",
                "sweep_like",
            ]
        )
    )
    if kind == "typed":
        key, default = draw(st.sampled_from([(k, v) for k, v in leaves if v is not None]))
        return f"{key}={draw(typed_text(default))}"
    if kind in ("group", "group_unknown"):
        group = draw(st.sampled_from(sorted(groups)))
        name = draw(st.sampled_from(groups[group])) if kind == "group" else draw(st.sampled_from(UNKNOWN_NAMES))
        return f"{group}={name}"
    key = draw(st.sampled_from([k for k, _ in leaves]))
    if kind == "typo":
        key = typo(key, draw)
    if kind == "delete":
        return f"~{key}"
    prefix = {"add": draw(st.sampled_from(["+", "++"]))}.get(kind, "")
    if kind == "sweep_like":  # a comma list without -m: Hydra refuses it as a single run
        return f"{key}={draw(scalar_text())},{draw(scalar_text())}"
    return f"{prefix}{key}={draw(value_text())}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(override(), min_size=1, max_size=4))
def test_preflight_accepts_valid_configs_or_explains_in_one_line(overrides):
    overrides = ["data=synthetic", *overrides]
    try:
        configs = check(overrides)
    except PreflightError as err:
        message = str(err)
        assert message.strip(), f"empty message for {overrides}"
        assert "Traceback" not in message
        assert len(message.strip().splitlines()) <= 2, (
            f"{overrides}: message of {len(message.splitlines())} lines:\n{message}"
        )
        return
    for cfg in configs:
        validate(cfg)  # raises if the preflight let through something validate refuses


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(override(), min_size=1, max_size=3), st.lists(scalar_text(), min_size=2, max_size=3))
def test_sweeps_too(overrides, values):
    """The same for -m: every point is composed and checked, a bad one is named."""
    key = "optimizer.lr" if len(values) % 2 else "trainer.epochs"
    sweep = f"{key}=" + ",".join(v.replace(",", "") or "1" for v in values)
    try:
        configs = check(["data=synthetic", *overrides, sweep], multirun=True)
    except PreflightError as err:
        assert str(err).strip() and len(str(err).strip().splitlines()) <= 2, str(err)
        return
    for cfg in configs:
        validate(cfg)
