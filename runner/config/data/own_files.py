"""What the members that read the user's own files share (arrays, csv, image_folder): the keys of
the split, the check that a path names a regular file (a FIFO or /dev/zero would block or read
forever: os.stat never opens), and .npy headers read without reading the arrays.

Nothing here opens more than a file's header or its labels: the config check learns the input
shape and the number of classes this way; the data themselves are read by runner/build/data/."""

import functools
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from runner.config.data.common import check_folds
from runner.errors import ConfigError, require

KEY = "data.path"
Header = Tuple[Tuple[int, ...], np.dtype]  # an array's shape and dtype, as its .npy header says


@dataclass
class OwnSplitConfig:
    """The split of data that come without one (each split a file lacks is carved out of its
    training data, seeded: the same split whatever the run's seed; stratified by class where
    every class can be). Fractions are of all the examples the training data hold."""

    name: str = ""
    path: Optional[str] = None  # the file (or folder) to read; relative to the folder runner is started in
    num_classes: Optional[int] = None  # null: the largest label + 1 (one pass over the labels only)
    val_fraction: float = 0.1  # held out to validate, when the data give no validation split
    test_fraction: float = 0.1  # held out to test, when the data give no test split
    split_seed: int = 0  # seed of that split
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    def __post_init__(self):
        require(self.path is not None and str(self.path).strip() != "", "path", f"not set: {self.WHAT}")
        require(
            self.num_classes is None or self.num_classes >= 2,
            "num_classes",
            f"at least 2 (or null: the largest label + 1), got {self.num_classes}",
        )
        for key in ("val_fraction", "test_fraction"):
            value = getattr(self, key)
            require(0 < value < 1, key, f"between 0 and 1 (a fraction of the examples), got {value}")
        require(
            self.val_fraction + self.test_fraction < 1,
            "test_fraction",
            f"val_fraction + test_fraction = {self.val_fraction + self.test_fraction:g} leaves nothing to train on; keep it below 1",
        )
        check_folds(self.cv_folds, self.cv_fold)

    WHAT = "the data to read"  # what data.path names, for the message when it is missing

    def classes_of(self, largest_label: int, where: str) -> int:
        """The number of classes: data.num_classes (labels checked against it) or the largest label + 1."""
        if self.num_classes is None:
            if largest_label < 1:
                raise ConfigError(
                    KEY, f"{where}: every label is {largest_label}: a classifier needs two classes or more"
                )
            return largest_label + 1
        if largest_label >= self.num_classes:
            raise ConfigError(
                KEY,
                f"{where}: label {largest_label} is outside 0..{self.num_classes - 1} (data.num_classes={self.num_classes});"
                " raise data.num_classes or leave it null",
            )
        return self.num_classes


def user_path(path: str) -> Path:
    return Path(os.path.expanduser(str(path))).absolute()


def regular_file(path, key: str = KEY, what: str = "file") -> Path:
    """`path` as a Path, or ConfigError: missing, a folder, a FIFO, a device or a broken link."""
    path = user_path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        hint = "check the path (relative paths start from the folder runner is started in)"
        reason = "does not exist" if not os.path.lexists(path) else f"cannot be read ({err.strerror})"
        raise ConfigError(key, f"{path}: {reason}; {hint}") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(key, f"{path} is a folder; name the {what} itself")
    if not stat.S_ISREG(mode):
        raise ConfigError(
            key, f"{path} is not a regular file (a FIFO or device would block or never end); name a {what}"
        )
    return path


def identity(path: Path) -> Tuple[str, int, int]:
    """What in-process memos of a file's header or labels are keyed on: a changed file is read again."""
    info = os.stat(path)
    return str(os.path.realpath(path)), info.st_size, info.st_mtime_ns


def _header_of(f, where: str) -> Header:
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = read(f)
    except (ValueError, OSError, EOFError) as err:
        raise ConfigError(
            KEY, f"{where}: not a .npy array ({str(err).strip()[:120]}); save it with numpy.save"
        ) from None
    if dtype.hasobject:
        raise ConfigError(
            KEY,
            f"{where}: holds Python objects (dtype {dtype}), which only a pickle can load and a pickle can run code;"
            " save numbers (e.g. x.astype('float32'))",
        )
    return tuple(shape), dtype


@functools.lru_cache(maxsize=32)
def _npz_headers(key: Tuple[str, int, int]) -> Dict[str, Header]:
    path = key[0]
    try:
        with zipfile.ZipFile(path) as archive:
            _check_expansion(archive, path)
            headers = {}
            for info in archive.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with archive.open(info) as f:
                    headers[name] = _header_of(f, f"{path}: array '{name}'")
                    _check_holds(headers[name], info.file_size - f.tell(), f"{path}: array '{name}'")
            return headers
    except (zipfile.BadZipFile, OSError) as err:
        raise ConfigError(KEY, f"{path}: not a readable .npz archive ({err}); save it with numpy.savez") from None


def npz_headers(path: Path) -> Dict[str, Header]:
    """{array name: (shape, dtype)} of an .npz, from each member's header alone."""
    return _npz_headers(identity(path))


@functools.lru_cache(maxsize=32)
def _npy_header(key: Tuple[str, int, int]) -> Header:
    with open(key[0], "rb") as f:
        header = _header_of(f, key[0])
        _check_holds(header, key[1] - f.tell(), key[0])
        return header


def physical_memory() -> int:
    """Bytes of RAM on this machine (what decompressed arrays must fit in)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _check_holds(header: Header, data_bytes: int, where: str) -> None:
    """numpy allocates what a header declares before it reads: a 1 KB file declaring 10^12 values
    would ask for terabytes. The data after the header must be as long as the header says."""
    shape, dtype = header
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
    if declared > data_bytes:
        raise ConfigError(
            KEY,
            f"{where}: its header declares {shape} {dtype} ({declared:,} bytes) but {max(data_bytes, 0):,} bytes follow;"
            " the file is truncated or altered: save it again with numpy.save/savez",
        )


def _check_expansion(archive: zipfile.ZipFile, path: str) -> None:
    """A zip bomb: a few MB that decompress to more than the machine's memory. Refused from the
    archive's directory (the sizes it declares; zipfile stops reading a member at its declared size)."""
    expanded, memory = sum(info.file_size for info in archive.infolist()), physical_memory()
    if expanded > memory:
        raise ConfigError(
            KEY,
            f"{path}: decompresses to {expanded:,} bytes, more than this machine's memory ({memory:,} bytes);"
            " refused before reading (a zip bomb, or data too large to load here)",
        )


def npy_header(path: Path) -> Header:
    return _npy_header(identity(path))
