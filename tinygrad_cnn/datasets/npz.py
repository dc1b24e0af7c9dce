"""Image/label arrays from a NumPy .npz archive (loaded without pickle)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..fileio import read_npz
from .errors import DataFileError

# Key pairs tried in order when none are given: ours, generic, Keras' mnist.npz
KEY_PAIRS = (("images", "labels"), ("x", "y"), ("x_train", "y_train"))


def load_npz(path: str | os.PathLike[str], images_key: str | None = None,
             labels_key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read (images uint8 (N, H, W), labels int64 (N,)) from an .npz archive. Without keys the
    first of `KEY_PAIRS` present is used (pass x_test/y_test for Keras' test split). Images may
    be stored as (N, H, W), (N, 1, H, W) or (N, 784); integers in 0..255 or floats in [0, 1]."""
    path, keys = Path(path), []

    def choose(names: list[str]) -> list[str]:  # only the two arrays are read (bounded)
        arrays = [name.removesuffix(".npy") for name in names if name.endswith(".npy")]
        keys.extend(_choose_keys(path, arrays, images_key, labels_key))
        return [f"{key}.npy" for key in keys]

    arrays = read_npz(path, DataFileError, "dataset", choose)
    images, labels = arrays[keys[0]], arrays[keys[1]]
    images = as_uint8_images(images, f"{path}[{keys[0]!r}]")
    labels = as_int64_labels(labels, f"{path}[{keys[1]!r}]")
    if len(images) != len(labels):
        raise DataFileError(f"{path}: count mismatch: {len(images)} images in {keys[0]!r} but "
                            f"{len(labels)} labels in {keys[1]!r}")
    return images, labels


def as_uint8_images(array: np.ndarray, origin: str) -> np.ndarray:
    """Images as uint8 (N, H, W), from any of the layouts and value ranges `load_npz` accepts."""
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 2 and array.shape[1] == 28 * 28:
        array = array.reshape(-1, 28, 28)
    if array.ndim != 3:
        raise DataFileError(f"{origin}: expected images of shape (N, H, W), (N, 1, H, W) or "
                            f"(N, 784), found {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        if array.size and not (array.min() >= 0.0 and array.max() <= 1.0):  # also catches NaN
            raise DataFileError(f"{origin}: float images must lie in [0, 1]")
        return np.rint(array * 255.0).astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise DataFileError(f"{origin}: expected integer or float images, found {array.dtype}")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise DataFileError(f"{origin}: integer images must lie in 0..255")
    return array.astype(np.uint8, copy=False)


def as_int64_labels(array: np.ndarray, origin: str) -> np.ndarray:
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DataFileError(f"{origin}: expected integer labels of shape (N,), found "
                            f"{array.dtype} {array.shape}")
    return array.astype(np.int64, copy=False)


def _choose_keys(path: Path, files: list[str], images_key: str | None,
                 labels_key: str | None) -> tuple[str, str]:
    if images_key is not None or labels_key is not None:
        wanted = (images_key or "images", labels_key or "labels")
        missing = [key for key in wanted if key not in files]
        if missing:
            raise DataFileError(f"{path}: missing keys {missing}; the archive holds {files}")
        return wanted
    for pair in KEY_PAIRS:
        if pair[0] in files and pair[1] in files:
            return pair
    raise DataFileError(f"{path}: no image/label arrays; expected one of the key pairs "
                        f"{list(KEY_PAIRS)}, found keys {files}")
