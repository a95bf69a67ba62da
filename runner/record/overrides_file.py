""".hydra/overrides.yaml: the run's command line as a YAML list of override strings.

The folder may come from someone else: read strictly where the overrides are used again
(resume, evaluate: anything but a list of strings is refused, not coerced), leniently
where they only label a run (compare: a problem line, and results.json's copy instead).
"""

from pathlib import Path
from typing import List

import yaml

from runner.record.metrics_file import one_line


def read_strictly(file: Path) -> List[str]:
    """A list of override strings ([] without a file), or ValueError naming the file."""
    if not file.exists():
        return []
    try:
        overrides = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if err.problem_mark else ""
        raise ValueError(f"{file}: not readable YAML ({err.problem or err.context}{where})") from None
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"{file}: not readable YAML ({one_line(err)})") from None
    if overrides is None:
        return []
    if not isinstance(overrides, list):
        raise ValueError(f"{file}: expected a list of overrides (key=value strings), got {type(overrides).__name__}")
    for number, item in enumerate(overrides):
        if not isinstance(item, str):
            raise ValueError(
                f"{file}: entry {number} ({item!r}) is {type(item).__name__}, not an override string (key=value)"
            )
    return overrides


def read_leniently(file: Path, problems: List[str]) -> List[str]:
    """The overrides as strings; [] (and a line in `problems` if the file is damaged) otherwise."""
    if file.exists():
        try:
            overrides = yaml.safe_load(file.read_text())
            if isinstance(overrides, list):
                return [str(o) for o in overrides]
            problems.append(f"{file}: expected a list of overrides")
        except (yaml.YAMLError, OSError) as err:
            problems.append(f"{file}: not readable YAML ({one_line(err)})")
    return []
