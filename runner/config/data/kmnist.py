"""Schema of `data=kmnist` (Kuzushiji-MNIST: 60,000 training and 10,000 test images, 28x28 grey, 10
classes; the last 10,000 training images validate, as for MNIST); the loader is runner/build/data/kmnist.py."""

from dataclasses import dataclass

from runner.config.data.official_files import OfficialFilesConfig


@dataclass
class KmnistConfig(OfficialFilesConfig):
    name: str = "kmnist"

    def shape(self):
        """(input shape, number of classes), known without loading anything."""
        return (1, 28, 28), 10
