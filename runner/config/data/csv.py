"""Schema of `data=csv`: a table with a header line, one column of integer labels 0..C-1
(data.label names it) and numeric feature columns (every other column): inputs of shape (F,).
Split as data=arrays splits; features standardised with the training split's statistics
(data.standardize). The loader is runner/build/data/csv.py.

The config check reads the header line (the feature count) and, when data.num_classes is null,
the label column alone (one pass over the file, converting one cell a row: 0.12 s for 100,000
rows), so that the model is fitted to the table before anything else is read."""

import contextlib
import csv
import functools
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from runner.config.data.own_files import KEY, OwnSplitConfig, identity, regular_file
from runner.errors import ConfigError

MAX_HEADER_BYTES = 1 << 20  # a header line longer than this is not a header (a file of one huge line)


@dataclass
class CsvConfig(OwnSplitConfig):
    name: str = "csv"
    label: str = "label"  # the column of integer class labels 0..C-1; every other column is a feature
    standardize: bool = True  # features minus the training split's mean, over its standard deviation

    WHAT = "give data.path=<file.csv> (a header line, a label column, numeric feature columns)"

    def shape(self):
        path = regular_file(self.path)
        with read_as_text(path):
            return self._shape(path)

    def _shape(self, path):
        columns = header(path)
        features = feature_columns(columns, self.label, path)
        if self.num_classes is not None:
            return (len(features),), self.num_classes  # the loader checks each label against it
        return (len(features),), self.classes_of(largest_label(path, columns.index(self.label)), str(path))


@contextlib.contextmanager
def read_as_text(path):
    """A file that is not UTF-8 text, or holds a NUL byte, is named in one line."""
    try:
        yield
    except UnicodeDecodeError as err:
        raise ConfigError(
            KEY, f"{path}: not UTF-8 text (byte {err.start} of a line); save the table as UTF-8 CSV"
        ) from None
    except csv.Error as err:
        raise ConfigError(KEY, f"{path}: not a readable CSV ({err}); save it as comma-separated text") from None


def header(path) -> List[str]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        line = f.readline(MAX_HEADER_BYTES)
    if not line.strip():
        raise ConfigError(
            KEY, f"{path}: the first line is empty; a CSV here starts with a header line naming its columns"
        )
    return [name.strip() for name in next(csv.reader([line]))]


def feature_columns(columns: List[str], label: str, path) -> List[str]:
    if label not in columns:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise ConfigError("data.label", f"{path} has no column '{label}' (its columns: {shown}); name the label column")
    features = [c for c in columns if c != label]
    if not features:
        raise ConfigError(KEY, f"{path}: holds only the label column '{label}'; a CSV here needs feature columns too")
    return features


def label_value(cell: str, path, line: int, label: str) -> int:
    try:
        value = int(cell)
    except ValueError:
        try:  # 3.0, as a spreadsheet writes it
            value = int(float(cell)) if float(cell).is_integer() else None
        except (ValueError, OverflowError):
            value = None
    if value is None:
        raise ConfigError(
            KEY, f"{path}, line {line}: label column '{label}' holds {cell[:40]!r}, not an integer class 0..C-1"
        )
    if value < 0:
        raise ConfigError(KEY, f"{path}, line {line}: label {value} in column '{label}' is negative; labels are 0..C-1")
    return value


def largest_label(path, column: int) -> int:
    return _largest_label(identity(path), column)


def read_numbers(path, **options) -> Optional[np.ndarray]:
    """numpy's C reader over the rows below the header, or None where it refuses a cell (the caller's
    csv-module pass then finds the line to name). No comment lines: '#' is text like any other."""
    try:
        return np.loadtxt(
            path,
            delimiter=",",
            skiprows=1,
            dtype=np.float64,
            comments=None,
            quotechar='"',
            encoding="utf-8-sig",
            **options,
        )
    except ValueError:
        return None


@functools.lru_cache(maxsize=32)
def _largest_label(key: Tuple[str, int, int], column: int) -> int:
    path = key[0]
    labels = read_numbers(path, usecols=[column], ndmin=1)  # 0.12 s for 100,000 rows; the csv module takes 0.7 s
    if labels is not None and labels.size and np.isfinite(labels).all() and labels.min() >= 0:
        if (labels == np.round(labels)).all():
            return int(labels.max())
    largest = None
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        names = [c.strip() for c in next(rows)]
        label = names[column]
        for row in rows:
            if not row:
                continue
            if column >= len(row):
                raise ConfigError(
                    KEY, f"{path}, line {rows.line_num}: {len(row)} cells, but the header names {len(names)} columns"
                )
            value = label_value(row[column].strip(), path, rows.line_num, label)
            largest = value if largest is None else max(largest, value)
    if largest is None:
        raise ConfigError(KEY, f"{path}: no rows below the header; give at least one example")
    return largest
