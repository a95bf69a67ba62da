"""`runner train --help`: the template in conf/config.yaml (hydra.help), and the
`group: option, option` lines it lists.

Hydra renders that template too (`runner train --help --config-dir DIR`), but before
it does, it lists every config group of the config store for placeholders this
template does not use: about 900 copies of the store, 20 s and more of a 2-core
machine. runner/cli.py prints the same text from here in well under a second.
"""

import os
import textwrap
from pathlib import Path

from omegaconf import OmegaConf

from runner.paths import CONF_DIR

HELP_WIDTH = 79  # a line of the help never reaches an 80-column terminal's edge


def config_groups(width: int = HELP_WIDTH) -> str:
    """`group: option, option` lines (the schema groups are internal), wrapped between options
    within `width` columns and continued under a hanging indent. Options named `_*` (scratch
    experiments, git-ignored) are left out: they still work, unlisted."""
    lines = []
    folders = sorted(Path(root) for root, _, _ in os.walk(CONF_DIR, followlinks=True))  # conf/experiment is a link
    for folder in folders[1:]:
        group = folder.relative_to(CONF_DIR).as_posix()
        if group.startswith("hydra") or "results" in group:
            continue
        options = sorted(f.stem for f in folder.glob("*.yaml") if not f.stem.startswith("_"))
        if options:
            lines += textwrap.wrap(
                f"{group}: {', '.join(options)}",
                width,
                initial_indent="  ",
                subsequent_indent="      ",
                break_long_words=False,
                break_on_hyphens=False,
            )
    return "\n".join(lines)


OmegaConf.register_new_resolver("runner_config_groups", config_groups, replace=True)


def train_help() -> str:
    """The help as Hydra prints it from conf/config.yaml, resolved here (only that one node)."""
    return str(OmegaConf.load(CONF_DIR / "config.yaml").hydra.help.template)
