"""Finding and reading a dataset's own files (fashion_mnist, kmnist, cifar10) without trusting them:
the folder a config names must be a folder, each file a regular file (a FIFO or a device would
block the read forever), no file larger than a bound (a gzip or tar bomb cannot fill the memory),
and a tar archive is read member by member in memory, never extracted, refusing links, devices,
absolute paths and '..'. Every problem is a ConfigError at data.root naming the file."""

import errno
import gzip
import hashlib
import os
import stat
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Sequence

from runner.build.data.splits import cache_dir
from runner.errors import ConfigError

KEY = "data.root"
MAX_FILE_BYTES = 128 << 20  # the largest file or archive member read (the largest real one: 47 MB)


def data_root(root: Optional[str]) -> Path:
    """The folder a config's data.root names (default $RUNNER_CACHE_DIR or ~/.cache/runner)."""
    return (Path(root).expanduser() if root else cache_dir()).absolute()


def check_folder(root: Path) -> None:
    if not root.exists():
        raise ConfigError(KEY, f"{root} does not exist")
    if not root.is_dir():
        raise ConfigError(KEY, f"{root} is not a folder")


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_regular(path: Path) -> None:
    """A path that exists must be a regular file; os.stat never blocks, open on a FIFO would."""
    if os.path.lexists(path) and not is_regular_file(path):
        raise ConfigError(KEY, f"{path} is not a regular file (a FIFO, device, folder or broken link cannot be read)")


def first_present(folder: Path, names: Sequence[str]) -> Optional[Path]:
    """The first of `names` (say x.gz, then x) that is in `folder`; a non-regular one is refused."""
    for name in names:
        path = folder / name
        check_regular(path)
        if is_regular_file(path):
            return path
    return None


def find_in(folders: Iterable[Path], wanted: Dict[str, Sequence[str]]) -> Optional[Dict[str, Path]]:
    """{file: its path} from the first folder holding every wanted file (each as any of its names)."""
    for folder in folders:
        found = {key: first_present(folder, names) for key, names in wanted.items()}
        if all(found.values()):
            return found
    return None


def lacking(folders: Iterable[Path], wanted: Dict[str, Sequence[str]]) -> str:
    """For a message: the folder holding the most of the wanted files and which it lacks ('' if none holds any)."""
    best = None
    for folder in folders:
        missing = [names[0] for names in wanted.values() if not any(is_regular_file(folder / n) for n in names)]
        if len(missing) < len(wanted) and (best is None or len(missing) < len(best[1])):
            best = (folder, missing)
    return f"{best[0]} lacks {listing(best[1])}" if best else ""


def identity(paths: Iterable[Path]) -> str:
    """What the cache of decoded files is keyed on: each file's real path, size and modification time
    (new or changed files get a new key, so a stale cache is never read)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        info = os.stat(path)
        digest.update(f"{os.path.realpath(path)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def read_file(path: Path) -> bytes:
    """The bytes of a data file, ungzipped if its name ends in .gz."""
    check_regular(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise ConfigError(KEY, f"{path}: cannot be read ({_reason(err)})") from None
    _check_size(len(data), path)
    return data


def tar_members(path: Path, wanted: Dict[str, str]) -> Dict[str, bytes]:
    """{key: bytes} of the wanted members ({key: member name}) of a .tar.gz, read in memory. Every member
    is looked at, and an archive holding a link, a device or a path that leaves its folder is refused."""
    check_regular(path)
    names = {name: key for key, name in wanted.items()}
    found: Dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                _check_member(member, path)
                if member.isreg() and member.name in names:
                    _check_size(member.size, f"{path}: member {member.name}")
                    found[names[member.name]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise ConfigError(KEY, f"{path}: not a readable tar archive ({_reason(err)})") from None
    missing = [name for key, name in wanted.items() if key not in found]
    if missing:
        raise ConfigError(KEY, f"{path}: the archive lacks {', '.join(missing)}")
    return found


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    parts = PurePosixPath(member.name).parts
    if member.name.startswith(("/", "\\")) or ".." in parts:
        raise ConfigError(KEY, f"{archive}: refused: member {member.name!r} points outside the archive's folder")
    if not (member.isreg() or member.isdir()):
        raise ConfigError(KEY, f"{archive}: refused: member {member.name!r} is a link or device, not a file")


def _check_size(size: int, where) -> None:
    if size > MAX_FILE_BYTES:
        raise ConfigError(KEY, f"{where}: larger than {MAX_FILE_BYTES >> 20} MiB, more than any dataset file here")


def listing(names: List[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _reason(err: Exception) -> str:
    if isinstance(err, OSError) and err.errno is not None:
        return f"{err.strerror or err} [{errno.errorcode.get(err.errno, err.errno)}]"
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__
