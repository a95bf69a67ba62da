"""One source of defaults: the values a conf/<group>/<member>.yaml restates (beside the comments
that document them) are its schema's defaults, so a default changed in one place and not the
other fails here; and composing every member gives what it gave before the schemas moved to
runner/config/ (tests/fixtures/composed_members.yaml)."""

import dataclasses
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from runner.config.schema import MEMBER_GROUPS, RunConfig
from runner.launch.compose import compose, config_tree
from runner.paths import CONF_DIR

GROUPS = ("data", "model", "optimizer", "scheduler", "regularization", "early_stopping", "trainer")
ONE_SHAPE = {
    f.name: f.default_factory for f in dataclasses.fields(RunConfig) if f.name in GROUPS and f.name not in MEMBER_GROUPS
}
MEMBER_FILES = sorted(f"{group}/{path.stem}" for group in GROUPS for path in (Path(CONF_DIR) / group).glob("*.yaml"))

# Presets: members that exist to set some keys of a schema away from its defaults (the schema's own
# member, e.g. optimizer/sgd, or regularization/none, restates the defaults). Each lists those keys.
PRESETS = {
    "optimizer/momentum": ("lr", "momentum"),
    "optimizer/nesterov": ("lr", "momentum", "nesterov"),
    "model/keras_cnn": ("conv", "fc", "dropout"),
    "model/lenet5": ("conv", "fc", "activation", "pooling"),
    "model/conv_autoencoder": ("kind", "conv"),
    "model/denoising_autoencoder": ("hidden_sizes", "variant"),
    "model/sparse_autoencoder": ("variant",),
    "model/contractive_autoencoder": ("code_activation", "variant", "contractive_weight"),
    "early_stopping/patience": ("policy", "patience"),
    "early_stopping/no_improvement_in_n": ("policy", "patience"),
    "early_stopping/time_limit": ("max_minutes",),
    "regularization/augment": ("augment_shift", "augment_rotate"),
    "regularization/augment_crop_flip": ("augment_shift", "augment_flip"),
    "regularization/clip": ("clip_grad_norm",),
    "regularization/dropout": ("dropout",),
    "regularization/l1": ("l1",),
    "regularization/l2": ("l2",),
    "regularization/label_smoothing": ("label_smoothing",),
    "regularization/max_norm": ("max_norm",),
    "regularization/noise": ("input_noise", "weight_noise"),
}
# Keys whose YAML value differs from the dataclass default on purpose, with the reason.
DELIBERATE = {
    (
        "scheduler/cosine",
        "t_max",
    ): "the YAML follows the run's length, ${trainer.epochs}; a dataclass default cannot interpolate",
}


def schema_of(member: str) -> type:
    group, name = member.split("/")
    if group not in MEMBER_GROUPS:
        return ONE_SHAPE[group]
    (selected,) = [
        d
        for d in OmegaConf.load(Path(CONF_DIR) / f"{member}.yaml").get("defaults", [])
        if str(d).startswith(f"/schema/{group}/")
    ]
    return MEMBER_GROUPS[group].schemas[selected.split("/")[3].split("@")[0]]


def keys_away_from_defaults(member: str) -> set:
    schema = schema_of(member)
    values = OmegaConf.to_container(OmegaConf.load(Path(CONF_DIR) / f"{member}.yaml"), resolve=False)
    values.pop("defaults", None)
    literal = {k: v for k, v in values.items() if not (isinstance(v, str) and "${" in v)}
    defaults = OmegaConf.to_container(OmegaConf.structured(schema))
    merged = OmegaConf.to_container(
        OmegaConf.merge(OmegaConf.structured(schema), literal)
    )  # conv layers filled in, 1 == 1.0
    return {k for k in values if k not in literal or merged[k] != defaults[k]}


@pytest.mark.parametrize("member", MEMBER_FILES)
def test_every_value_a_conf_file_restates_is_its_schema_default(member):
    expected = set(PRESETS.get(member, ())) | {key for (where, key) in DELIBERATE if where == member}
    assert keys_away_from_defaults(member) == expected, (
        f"conf/{member}.yaml and {schema_of(member).__name__}'s defaults differ: make them agree, or list the key in PRESETS or DELIBERATE"
    )


def test_the_tables_name_only_members_that_exist():
    assert set(PRESETS) <= set(MEMBER_FILES) and {where for where, _ in DELIBERATE} <= set(MEMBER_FILES)


def test_composing_every_member_gives_what_it_gave_before():
    before = yaml.safe_load((Path(__file__).parent / "fixtures" / "composed_members.yaml").read_text())
    now = {}
    with config_tree("train"):
        now["no_override"] = OmegaConf.to_container(compose([]), resolve=False)
        for member in MEMBER_FILES:
            group, name = member.split("/")
            now[f"{group}={name}"] = OmegaConf.to_container(compose([f"{group}={name}"])[group], resolve=False)
    assert sorted(now) == sorted(before), "a conf member was added or removed: add its composition to the fixture"
    for override in before:
        assert now[override] == before[override], override
