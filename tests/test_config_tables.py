"""The config floor's tables of names (runner/config) and the builders' registries (runner/build)
name the same things: every schema has exactly one builder and every builder a schema."""

import dataclasses

import pytest

from runner.build.data import DATASETS
from runner.build.losses import LOSSES
from runner.build.models import MODELS
from runner.build.models.activations import ACTIVATIONS
from runner.build.models.init import INITS
from runner.build.optim import OPTIMIZERS
from runner.build.schedulers import SCHEDULERS
from runner.config.losses import LOSS_KIND, LOSS_NAMES
from runner.config.models.names import ACTIVATION_KIND, ACTIVATION_NAMES, INIT_KIND, INIT_NAMES
from runner.config.schema import MEMBER_GROUPS
from runner.errors import ConfigError

BUILDERS = {"data": DATASETS, "model": MODELS, "optimizer": OPTIMIZERS, "scheduler": SCHEDULERS}


@pytest.mark.parametrize("group", sorted(MEMBER_GROUPS))
def test_every_schema_has_one_builder_and_every_builder_a_schema(group):
    members, registry = MEMBER_GROUPS[group], BUILDERS[group]
    assert registry.names() == members.names(), f"{group}: schemas without a builder or builders without a schema"
    assert registry.kind == members.kind
    with pytest.raises(RuntimeError, match="registered twice"):  # one builder a name
        registry.register(members.names()[0])(lambda *args: None)


@pytest.mark.parametrize("group", sorted(MEMBER_GROUPS))
def test_each_schema_is_named_as_its_table_names_it(group):
    for name, schema in MEMBER_GROUPS[group].schemas.items():
        assert {f.name: f.default for f in dataclasses.fields(schema)}["name"] == name, schema.__name__


@pytest.mark.parametrize(
    "registry,kind,names",
    [(ACTIVATIONS, ACTIVATION_KIND, ACTIVATION_NAMES), (INITS, INIT_KIND, INIT_NAMES), (LOSSES, LOSS_KIND, LOSS_NAMES)],
    ids=["activations", "inits", "losses"],
)
def test_every_name_a_config_may_choose_has_a_builder(registry, kind, names):
    assert registry.names() == sorted(names) and registry.kind == kind


def test_an_unknown_name_reads_the_same_from_the_schema_table_and_the_registry():
    with pytest.raises(ConfigError) as from_schemas:
        MEMBER_GROUPS["model"].schema("mlpp", "model.name")
    with pytest.raises(ConfigError) as from_builders:
        MODELS.get("mlpp", "model.name")
    assert str(from_schemas.value) == str(from_builders.value)
    assert str(from_schemas.value).startswith("model.name: unknown model 'mlpp'; choose one of: autoencoder, cnn, gru")
