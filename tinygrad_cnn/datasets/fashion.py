"""Fashion-MNIST (Zalando's clothing images): from the cache, Debian's package, or the mirror."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np

from .idx_dataset import (
    IDXDataset,
    as_int64_labels,
    check_split,
    load_from_dir,
    load_from_mirror,
    save_to_cache,
)
from .sources import Pair, Source, first_available

MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# `apt-get install dataset-fashion-mnist` puts the gzipped IDX files here
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# MD5s: the mirror's files, from the dataset's README. SHA-256s: the decoded arrays, computed from
# Debian's copy (Debian recompresses the files, so only the decoded contents can match both).
FASHION_MNIST = IDXDataset(
    name="Fashion-MNIST",
    subdir="fashion-mnist",
    files={"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")},
    counts={"train": 60000, "test": 10000},
    md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    sha256={"train-images-idx3-ubyte":
            "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
            "train-labels-idx1-ubyte":
            "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
            "t10k-images-idx3-ubyte":
            "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
            "t10k-labels-idx1-ubyte":
            "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"},
)


def fashion_mnist(split: str = "train", root: str | os.PathLike[str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST `split` ('train': 60,000, 'test': 10,000) as (images uint8 (N, 28, 28),
    labels int64 (N,)); label k names `CLASSES[k]`. Tries the cache, Debian's
    dataset-fashion-mnist package, then the official mirror; verifies and caches what it finds.
    Raises `DatasetError` listing each source and why it failed."""
    check_split(split)
    cache = FASHION_MNIST.cache_dir(root)
    sources = [
        Source(f"cache {cache}", partial(load_from_dir, FASHION_MNIST, split, cache, warn=True)),
        Source(f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})",
               partial(_from_debian, split, root)),
        Source(f"mirror {MIRROR}", partial(_from_mirror, split, root)),
    ]
    help_text = (FASHION_MNIST.manual_help(root)
                 + " (or run: apt-get install dataset-fashion-mnist)")
    return as_int64_labels(first_available(f"Fashion-MNIST {split}", sources, help_text))


def _from_debian(split: str, root: str | os.PathLike[str] | None) -> Pair:
    pair = load_from_dir(FASHION_MNIST, split, DEBIAN_DIR)
    save_to_cache(FASHION_MNIST, split, pair, root)
    return pair


def _from_mirror(split: str, root: str | os.PathLike[str] | None) -> Pair:
    pair = load_from_mirror(FASHION_MNIST, split, MIRROR)
    save_to_cache(FASHION_MNIST, split, pair, root)
    return pair
