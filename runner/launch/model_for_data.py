"""`model=cnn` on sentences is Kim's sentence CNN, `model=text_cnn`.

model=cnn's keys describe a stack of convolutions over an image (or a signal); Kim's (2014)
sentence CNN is a bank of parallel filters of several widths over token embeddings, with keys
of its own (embedding_size, widths, maps). A user who writes `model=cnn data=text_classification`
means the sentence CNN, so the command line's model choice is read as `model=text_cnn` before
anything is composed: the composed config, the run folder's overrides, TensorBoard's run name
and results.json then all say what runs, and `model.widths=[3,4,5]` on the same line is a key
of the model that runs. Only the data and model chosen on the command line or in the
`+experiment=` file's defaults list are read; a sweep over data members keeps model=cnn (each
text point then fails in one line naming model=text_cnn)."""

from pathlib import Path
from typing import List, Optional, Tuple

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep
from hydra.errors import HydraException

from runner.launch import yaml_guard
from runner.paths import CONF_DIR

SENTENCE_DATA = frozenset({"text_classification"})  # token sequences with one label each
ON_SENTENCES = {"cnn": "text_cnn"}
NOTE = (
    "model=cnn on sentences is Kim's sentence CNN: running model=text_cnn "
    "(keys embedding_size, widths, maps, dropout, init; docs/models.md)"
)


def for_sentences(overrides: List[str], config_dir: Optional[str] = None) -> Tuple[List[str], Optional[str]]:
    """(overrides with the model choice read for sentence data, the line to print) or (overrides, None)."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return list(overrides), None  # the preflight names the override that does not parse
    data = _choice(parsed, "data")
    experiment = _choice(parsed, "experiment")
    chosen = _experiment_choices(experiment, config_dir) if isinstance(experiment, str) else {}
    if (data if data is not None else chosen.get("data")) not in SENTENCE_DATA:
        return list(overrides), None
    out, changed = [], False
    for text, override in zip(overrides, parsed):
        replaced = _renamed(text, override) if override.key_or_group == "model" else text
        changed |= replaced != text
        out.append(replaced)
    if _choice(parsed, "model") is None and chosen.get("model") in ON_SENTENCES:
        out.append(
            f"model={ON_SENTENCES[chosen['model']]}"
        )  # the experiment's choice, overridden as a command line does
        changed = True
    return out, (NOTE if changed else None)


def _choice(parsed, group: str):
    """The group's value on the command line: a name, a list of names for a plain sweep, or None."""
    for override in parsed:
        if override.key_or_group == group and not override.is_delete():
            value = override.value()
            return list(value.list) if isinstance(value, ChoiceSweep) else value
    return None


def _renamed(text: str, override) -> str:
    value = override.value()
    names = list(value.list) if isinstance(value, ChoiceSweep) else [value]
    if not all(isinstance(n, str) for n in names) or not any(n in ON_SENTENCES for n in names):
        return text
    prefix = text[: len(text) - len(text.lstrip("+"))]
    return f"{prefix}model={','.join(ON_SENTENCES.get(n, n) for n in names)}"


def _experiment_choices(name: str, config_dir: Optional[str]) -> dict:
    """{group: option} of an experiment file's `override /group: option` defaults entries."""
    if "/" in name or "\\" in name or ".." in name:
        return {}  # not an option name: the preflight refuses it before reading anything
    folders = ([Path(config_dir) / "experiment"] if config_dir else []) + [CONF_DIR / "experiment"]
    path = next((f / f"{name}.yaml" for f in folders if (f / f"{name}.yaml").is_file()), None)
    if path is None:
        return {}  # the preflight says the experiment does not exist
    try:
        yaml_guard.check_file(str(path))
        defaults = (yaml.safe_load(path.read_text()) or {}).get("defaults") or []
    except (OSError, yaml.YAMLError, ValueError, AttributeError):
        return {}  # the preflight reports the file
    out = {}
    for entry in defaults:
        if isinstance(entry, dict):
            for key, option in entry.items():
                group = str(key).removeprefix("override").strip().lstrip("/")
                if group in ("data", "model") and isinstance(option, str):
                    out[group] = option
    return out
