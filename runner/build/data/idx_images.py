"""The MNIST-format members (fashion_mnist, kmnist): the four official IDX files, gzipped or not,
flat in data.root or where torchvision's download puts them (data.root/<Class>/raw/)."""

from functools import partial
from pathlib import Path
from typing import Dict, Optional

import torch

from runner.build.data.idx import IMAGES, LABELS, read_idx
from runner.build.data.official import Located, check_labels, locate
from runner.build.data.source_files import KEY, find_in, lacking, listing
from runner.errors import ConfigError

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
IMAGE_SHAPE = (1, 28, 28)


WANTED = {key: (f"{name}.gz", name) for key, name in FILES.items()}  # gzipped as published, or extracted


def locate_idx(cfg, title: str, torchvision_class: str) -> Located:
    def expected(root: Path):
        names = listing([f"{name}.gz" for name in FILES.values()])
        folders = [root, root / torchvision_class / "raw"]
        return f"{names} (or their extracted files) in {root} or in {folders[1]}", lacking(folders, WANTED)

    def find(root: Path) -> Optional[Located]:
        found = find_in([root, root / torchvision_class / "raw"], WANTED)
        return Located(title, list(found.values()), IMAGE_SHAPE, partial(_decode, found)) if found else None

    return locate(cfg, title, find, partial(_download, torchvision_class), expected)


def _download(torchvision_class: str, root: Path) -> None:
    import torchvision.datasets

    getattr(torchvision.datasets, torchvision_class)(str(root), train=True, download=True)  # fetches all four files


def _decode(found: Dict[str, Path]) -> dict:
    return {split: _pair(found[f"{split}_x"], found[f"{split}_y"]) for split in ("train", "test")}


def _pair(images_file: Path, labels_file: Path):
    x = read_idx(images_file, IMAGES)
    y = read_idx(labels_file, LABELS)
    if x.shape[1:] != IMAGE_SHAPE[1:]:
        raise ConfigError(KEY, f"{images_file}: images of {x.shape[1]}x{x.shape[2]} pixels, expected 28x28")
    if len(x) != len(y):
        raise ConfigError(KEY, f"{images_file} holds {len(x)} images but {labels_file} {len(y)} labels")
    check_labels(y, str(labels_file))
    return torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype("int64"))
