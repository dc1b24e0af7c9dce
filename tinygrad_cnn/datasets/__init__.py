"""Datasets as NumPy arrays: MNIST, Fashion-MNIST, IDX files, image folders and .npz archives.

Every loader returns (images uint8 (N, 28, 28), labels int64 (N,)); `tinygrad_cnn.data.DataLoader`
turns them into batches of Tensors.
"""

from __future__ import annotations

from .cache import data_dir
from .checks import check_images, check_labels
from .errors import DataFileError, DatasetError, IDXError
from .fashion import fashion_mnist
from .folder import export_image_folder, load_image_folder
from .idx import load_idx_pair, load_idx_split, read_idx, write_idx
from .mnist_digits import mnist
from .npz import load_npz

__all__ = [
    "DataFileError",
    "DatasetError",
    "IDXError",
    "check_images",
    "check_labels",
    "data_dir",
    "export_image_folder",
    "fashion_mnist",
    "load_idx_pair",
    "load_idx_split",
    "load_image_folder",
    "load_npz",
    "mnist",
    "read_idx",
    "write_idx",
]
