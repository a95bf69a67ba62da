"""The IDX format of MNIST and its siblings (Fashion-MNIST, KMNIST), decoded with numpy: a
big-endian header (magic number, then one 32-bit size per dimension) and the bytes. Images are
magic 2051 (uint8, 3 dimensions: count x rows x columns), labels 2049 (uint8, 1 dimension)."""

from pathlib import Path

import numpy as np

from runner.build.data.source_files import KEY, read_file
from runner.errors import ConfigError

IMAGES, LABELS = 2051, 2049
DIMENSIONS = {IMAGES: 3, LABELS: 1}
KINDS = {IMAGES: "images", LABELS: "labels"}


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array an IDX file (gzipped or not) holds, its header checked against its size."""
    data = read_file(path)
    dims = DIMENSIONS[magic]
    header = 4 * (1 + dims)
    if len(data) < header:
        raise ConfigError(KEY, f"{path}: {len(data)} bytes, shorter than an IDX {KINDS[magic]} header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ConfigError(
            KEY, f"{path}: IDX magic number {found}, expected {magic} ({KINDS[magic]}): not an IDX {KINDS[magic]} file"
        )
    shape = tuple(int.from_bytes(data[4 * i : 4 * i + 4], "big") for i in range(1, dims + 1))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise ConfigError(
            KEY,
            f"{path}: its header says {' x '.join(map(str, shape))} = {expected} bytes of {KINDS[magic]},"
            f" the file holds {len(data) - header} (truncated or damaged)",
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)
