"""Atomic file writes: a reader never sees a half-written file (temp file + rename).

A write that fails (a full disk above all) raises OSError naming the file, and leaves the
file it would have replaced as it was and no temp file behind."""

import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask now. Linux shows it in /proc; elsewhere os.umask can only read it by
    setting it, which leaves a moment when another thread's new file would get 022."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; other files the run writes follow the umask (0644)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        raise _naming(err, path) from None
    except RuntimeError as err:  # torch.save reports a failed write as "unexpected pos ..." (see _write_error)
        error = _write_error(err, path)  # before the temp file goes: it may hold the space that ran out
        _remove(tmp)
        raise error
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str) -> None:
    if os.path.exists(tmp):
        os.unlink(tmp)


def _naming(err: OSError, path: Path) -> OSError:
    """The same error with the file's path (a failed write() or fsync() has none)."""
    if err.filename is not None or err.errno is None:
        return err
    return type(err)(err.errno, err.strerror or os.strerror(err.errno), str(path))


def _write_error(err: RuntimeError, path: Path) -> BaseException:
    """torch.save writes through C++: when the file's write fails, torch raises RuntimeError
    ("[enforce fail at inline_container.cc] unexpected pos 704 vs 598", "file write failed") and
    keeps the OSError, if any, only as its __context__. Give back that OSError; without one, a
    folder with no free space means ENOSPC; anything else is torch's own error."""
    cause = err.__context__
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, OSError):
        return _naming(cause, path)
    if _no_free_space(path.parent):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return err


def _no_free_space(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20  # less than a MiB: what a failed write leaves
    except OSError:
        return False


def atomic_torch_save(obj, path) -> None:
    import torch  # here: readers of run folders (runner compare, runner diagnose RUN_DIR) never load torch

    _atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(path, text: str) -> None:
    _atomic_write(path, lambda f: f.write(text.encode()))


def finite(obj):
    """NaN and infinities become null: JSON has no such numbers, and readers choke on them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(finite(obj), indent=2, allow_nan=False) + "\n")
