"""A run's readable name for TensorBoard: what was overridden, as one safe folder name.

TensorBoard names a run by the folder its events file lies in, so the name is a folder
inside the run folder (RunFolder.tensorboard_dir). It is built from override text, which the
user (or a shared experiment file) chose: '/', '..', a newline, an emoji or 5,000 characters
must all still give one plain folder name inside the run folder, never a path.
"""

import hashlib
import re

MAX_LENGTH = 150  # TensorBoard shows it in a side bar; a file name may have at most 255 bytes
DEFAULT = "defaults"  # a run with nothing overridden
# What stays as typed: ASCII letters and digits and the characters that overrides read with.
UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+@%-]+")


def folder_name(overrides) -> str:
    """['model.activation=tanh', 'seed=0'] -> 'model.activation=tanh,seed=0': one folder name,
    ASCII, no '/', no '..', not hidden, at most MAX_LENGTH characters (a cut name ends in a
    hash of the whole, so two names that differ only past the cut stay apart)."""
    latest = {}  # a key given twice (trainer.epochs=3 ... trainer.epochs=1): the run has the last value
    for override in (str(o).lstrip("+~") for o in overrides):
        latest.pop(override.partition("=")[0], None)
        latest[override.partition("=")[0]] = override
    text = ",".join(latest.values())
    name = UNSAFE.sub("_", text)
    name = re.sub(r"\.{2,}", ".", name).strip("._-,") or DEFAULT
    if len(name) > MAX_LENGTH:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        name = name[: MAX_LENGTH - 9].rstrip("._-,") + "-" + digest
    return name
