"""The decoded-dataset cache: a dataset's splits decoded once, read back on later runs.

One torch.save file of plain tensors, read with weights_only=True (nothing in it can run), with
a header saying what it holds: each split's shapes, dtypes and a sha256 of its bytes. A cache
that is truncated, corrupt, of another format or shape, or whose bytes changed, is reported in
one line and decoded afresh; a run never trains on a damaged copy of the data.
"""

import errno
import hashlib
import logging
import warnings
from pathlib import Path
from typing import Callable, Optional, Tuple

import torch

from runner.io import atomic_torch_save

log = logging.getLogger("runner")

CACHE_FORMAT = (
    "runner-mnist-cache/2"  # the name is older than the other datasets: kept, so that MNIST caches stay valid
)
SPLITS = ("train", "val", "test")


def cached_splits(
    cache: Path,
    image_shape: Tuple[int, ...],
    decode: Callable[[], dict],
    what: str,
    dtype: torch.dtype = torch.uint8,
    label_shape: Tuple[int, ...] = (),
) -> dict:
    """{split: (inputs (N, *image_shape) of `dtype`, int64 labels (N, *label_shape))}, from `cache` or from
    `decode()` (then cached). Images are cached as uint8 bytes; generated float signals (MNIST-1D) as float32;
    text as int64 token ids with (N, context) next-token targets."""
    splits = read_cache(cache, image_shape, what, dtype, label_shape)
    if splits is None:
        splits = decode()
        write_cache(splits, cache, what)
    return splits


def _header(splits: dict) -> dict:
    def describe(x, y):
        digest = hashlib.sha256()
        for tensor in (x, y):
            if tensor.numel():  # an empty split (a dataset without one, as MNIST-1D's validation) hashes as no bytes
                digest.update(memoryview(tensor.contiguous().numpy()).cast("B"))
        return {
            "x_shape": list(x.shape),
            "x_dtype": str(x.dtype),
            "y_shape": list(y.shape),
            "y_dtype": str(y.dtype),
            "sha256": digest.hexdigest(),
        }

    return {name: describe(*splits[name]) for name in SPLITS}


def read_cache(
    cache: Path,
    image_shape: Tuple[int, ...],
    what: str,
    dtype: torch.dtype = torch.uint8,
    label_shape: Tuple[int, ...] = (),
) -> Optional[dict]:
    """The cached splits, or None (missing, or unusable: logged)."""
    if not cache.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = torch.load(cache, map_location="cpu", weights_only=True)
        splits = _checked(stored, tuple(image_shape), dtype, tuple(label_shape))
    except Exception as err:  # noqa: BLE001 (whatever torch raises on a damaged file: the data are decoded again)
        text = str(err).strip().splitlines()
        log.warning(
            f"dataset cache {cache} is unusable ({text[0][:160] if text else type(err).__name__}): decoding {what} afresh"
        )
        return None
    return splits


def _checked(stored, image_shape: Tuple[int, ...], dtype: torch.dtype = torch.uint8, label_shape=()) -> dict:
    """The splits of a cache file, or ValueError saying what does not match its header."""
    if not isinstance(stored, dict) or stored.get("format") != CACHE_FORMAT:
        raise ValueError(f"not a {CACHE_FORMAT} file (written by another runner version?)")
    raw = stored.get("splits")
    if not isinstance(raw, dict) or any(not isinstance(raw.get(n), dict) for n in SPLITS):
        raise ValueError("its splits are missing")
    splits = {n: (raw[n].get("x"), raw[n].get("y")) for n in SPLITS}
    wanted = " x ".join(str(s) for s in image_shape)
    for name, (x, y) in splits.items():
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise ValueError(f"split {name} is not a pair of tensors")
        if (
            x.dtype != dtype
            or y.dtype != torch.int64
            or tuple(x.shape[1:]) != image_shape
            or y.shape != (len(x), *label_shape)
        ):
            raise ValueError(
                f"split {name} holds {tuple(x.shape)} {x.dtype} inputs and {tuple(y.shape)} {y.dtype} labels, not N x {wanted} {str(dtype).removeprefix('torch.')} and N int64"
            )
    if _header(splits) != stored.get("header"):
        raise ValueError("its contents do not match its header (checksum or shapes)")
    return splits


def write_cache(splits: dict, cache: Path, what: str) -> None:
    """Best effort: a cache folder that cannot be written costs the decoding time on every run, not the run."""
    stored = {
        "format": CACHE_FORMAT,
        "header": _header(splits),
        "splits": {n: {"x": x, "y": y} for n, (x, y) in splits.items()},
    }
    try:
        atomic_torch_save(stored, cache)
    except OSError as err:
        reason = f"{err.strerror or err} [{errno.errorcode.get(err.errno, err.errno)}]"
        log.warning(
            f"cannot write the dataset cache {cache} ({reason}): {what} is decoded again on every run; set RUNNER_CACHE_DIR to a folder you may write to"
        )
