"""metrics.csv: one row per epoch, a column per metric (runner/config/metric_names.py).

Written whole each epoch (atomically, by RunFolder). Read two ways: strictly, to resume
from (a row that does not parse means a damaged or foreign file, refused rather than
resumed from a guess), and leniently, to show (a blank or damaged value is NaN, a
file that cannot be read is a problem line, never an exception).
"""

import csv
import io
import math
from pathlib import Path
from typing import List

from runner.config.metric_names import EPOCH


class MetricsUnreadable(ValueError):
    """metrics.csv cannot be read as a run's metrics (the message says where and why)."""


def to_csv(rows: List[dict]) -> str:
    out = io.StringIO()
    # Every row's columns, in order of first appearance: a run resumed with trainer.diagnostics
    # switched on has rows with more columns than its first ones (a missing value is blank).
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read_strictly(path: Path) -> List[dict]:
    """The rows as numbers (epoch an int, a blank None); [] without a file; MetricsUnreadable otherwise."""
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            return [_parse_row(row, reader.line_num) for row in reader]
    except (csv.Error, UnicodeDecodeError, ValueError) as err:
        raise MetricsUnreadable(one_line(err)) from None


def _parse_row(row: dict, line: int) -> dict:
    if None in row:  # DictReader keeps the fields beyond the header under the key None
        raise ValueError(f"line {line} has more fields than the header")
    if any(value is None for value in row.values()):
        raise ValueError(f"line {line} has fewer fields than the header")
    if row.get(EPOCH) in (None, ""):
        raise ValueError(f"line {line} has no epoch")
    try:
        return {k: _strict_number(k, v) for k, v in row.items()}
    except ValueError as err:
        raise ValueError(f"line {line}: {err}") from None


def _strict_number(key: str, text: str):
    if text == "":
        return None
    return int(text) if key == EPOCH else float(text)


def read_leniently(path: Path, problems: List[str], results_exist: bool) -> List[dict]:
    """The rows with every value a float (NaN if blank or damaged), rows without an epoch left out.
    What is wrong goes into `problems`; a missing file only when the run has results."""
    if not path.exists():
        if results_exist:
            problems.append(f"{path}: missing (no curves for this run)")
        return []
    try:
        with open(path, newline="") as f:
            rows = [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(f)]
    except (csv.Error, OSError, UnicodeDecodeError) as err:
        problems.append(f"{path}: not readable CSV ({one_line(err)})")
        return []
    if rows and EPOCH not in rows[0]:
        problems.append(f"{path}: no 'epoch' column (no curves for this run)")
        return []
    return [row for row in rows if not math.isnan(row[EPOCH])]


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # blank (a metric not computed that epoch), or None
        return math.nan


def one_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
