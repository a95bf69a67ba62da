"""Tiny files in the official formats of Fashion-MNIST/KMNIST (IDX, gzipped) and CIFAR-10 (the python
version: pickled batches, as a .tar.gz or extracted), written by the tests: nothing downloads."""

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_NAMES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}
CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def learnable(n: int, shape, seed: int):
    """n uint8 images whose label is which tenth of the image is bright (a model can learn it)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, *shape))
    flat = x.reshape(n, -1)
    width = flat.shape[1] // 10
    for i, label in enumerate(y):
        flat[i, label * width : (label + 1) * width] += 180
    return x.astype(np.uint8), y.astype(np.uint8)


def write_idx(folder: Path, train: int = 12, test: int = 4, gz: bool = True, seed: int = 0) -> dict:
    """The four IDX files in `folder`; returns {key: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    (train_x, train_y), (test_x, test_y) = learnable(train, (28, 28), seed), learnable(test, (28, 28), seed + 1)
    arrays = {
        "train_x": (train_x, 2051),
        "train_y": (train_y, 2049),
        "test_x": (test_x, 2051),
        "test_y": (test_y, 2049),
    }
    paths = {}
    for key, (array, magic) in arrays.items():
        data = idx_bytes(array, magic)
        name = IDX_NAMES[key] if gz else IDX_NAMES[key].removesuffix(".gz")
        paths[key] = folder / name
        paths[key].write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return paths


class Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 pickled its str (BINSTRING), as the published CIFAR-10 batches were written:
    read back with encoding latin1 they are str (the keys 'data', 'labels'), and numpy rebuilds its arrays."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def python2_pickle(obj) -> bytes:
    out = io.BytesIO()
    Python2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def cifar_batches(per_batch: int = 4, seed: int = 0, python2: bool = False) -> dict:
    """{name: pickled bytes} of the six batches: dicts {b'data': uint8 (N, 3072), b'labels': [ints]}
    (Python 3's pickle; python2: as the published files, with str keys)."""
    batches = {}
    for i, name in enumerate(CIFAR_BATCHES):
        x, y = learnable(per_batch, (3072,), seed + i)
        entry = {b"batch_label": name.encode(), b"data": x, b"labels": [int(v) for v in y]}
        batches[name] = python2_pickle(entry) if python2 else pickle.dumps(entry)
    return batches


def write_cifar_folder(root: Path, batches: dict = None) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (batches or cifar_batches()).items():
        (folder / name).write_bytes(data)
    return folder


def write_cifar_tar(root: Path, batches: dict = None, extra=()) -> Path:
    """cifar-10-python.tar.gz holding cifar-10-batches-py/<batch>; `extra`: more (TarInfo, bytes) members."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (batches or cifar_batches()).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path
