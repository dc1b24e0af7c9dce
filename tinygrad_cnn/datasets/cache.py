"""The on-disk dataset cache: where it lives, atomic writes, and array fingerprints."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..fileio import atomic_write, make_folder
from .errors import DataFileError

ENV_VAR = "TINYGRAD_CNN_DATA"
DEFAULT_DIR = Path("~/.cache/tinygrad_cnn")


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: `root` if given, else `$TINYGRAD_CNN_DATA`, else ~/.cache/tinygrad_cnn."""
    if root is None:
        root = os.environ.get(ENV_VAR) or DEFAULT_DIR
    return Path(root).expanduser()


@contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """`fileio.atomic_write(path)` after creating the missing cache folders above `path`."""
    make_folder(Path(path).parent)
    with atomic_write(path) as f:
        yield f


def sha256_array(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (the fingerprint the dataset tables publish)."""
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def verify_array(
    array: np.ndarray, shape: tuple[int, ...], sha256: str | None, origin: str
) -> None:
    """Check a decoded uint8 array against its expected shape and SHA-256; `origin` names the
    file or source in the error, so a corrupt cache entry says which file to delete."""
    if array.dtype != np.uint8:
        raise DataFileError(f"{origin}: expected uint8 data, found {array.dtype}")
    if array.shape != shape:
        raise DataFileError(f"{origin}: expected shape {shape}, found {array.shape}")
    if sha256 is not None and sha256_array(array) != sha256:
        raise DataFileError(f"{origin}: contents do not match the published SHA-256 "
                            f"{sha256[:16]}...")
