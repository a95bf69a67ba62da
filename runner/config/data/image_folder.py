"""Schema of `data=image_folder`: torchvision's ImageFolder layout, one sub-folder per class
(`path/cat/1.png`, `path/dog/x.jpg`; classes in sorted order, 0..C-1; folders whose names start
with '.' are skipped), every image converted to data.channels (1: Pillow's 'L', 3: 'RGB') and
resized to data.image_size x data.image_size. Split as data=arrays splits a file without given
splits, stratified by class. The loader is runner/build/data/image_folder.py.

The config check lists the class folders: the shape is (channels, image_size, image_size)."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List

from runner.config.data.own_files import KEY, OwnSplitConfig, user_path
from runner.errors import ConfigError, require

CHANNELS = {1: "L", 3: "RGB"}  # data.channels -> the Pillow mode every image is converted to


@dataclass
class ImageFolderConfig(OwnSplitConfig):
    name: str = "image_folder"
    image_size: int = 32  # every image is resized to image_size x image_size (bilinear, antialiased)
    channels: int = 3  # 3: RGB, 1: greyscale (Pillow's 'L')

    WHAT = "give data.path=<folder> holding one sub-folder of images per class"

    def __post_init__(self):
        super().__post_init__()
        require(1 <= self.image_size <= 1024, "image_size", f"between 1 and 1024 pixels, got {self.image_size}")
        require(self.channels in CHANNELS, "channels", f"1 (greyscale) or 3 (RGB), got {self.channels}")

    def shape(self):
        classes = class_folders(self.path)
        if self.num_classes is not None and self.num_classes != len(classes):
            raise ConfigError(
                "data.num_classes",
                f"{self.num_classes}, but {user_path(self.path)} holds {len(classes)} class folders; leave it null",
            )
        return (self.channels, self.image_size, self.image_size), len(classes)


def class_folders(path) -> List[Path]:
    """The class sub-folders of the folder data.path names, in sorted order (their labels 0..C-1)."""
    root = user_path(path)
    if not root.is_dir():
        reason = "is not a folder" if os.path.lexists(root) else "does not exist"
        raise ConfigError(KEY, f"{root} {reason}; name the folder that holds one sub-folder of images per class")
    with os.scandir(root) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    if len(names) < 2:
        raise ConfigError(
            KEY,
            f"{root} holds {len(names)} class folder{'' if len(names) == 1 else 's'} ({', '.join(names) or 'none'});"
            " a classifier needs two or more: one sub-folder of images per class",
        )
    return [root / name for name in names]
