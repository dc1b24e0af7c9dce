"""Checks of loaded data before training: labels are class numbers, images are pixels."""

from __future__ import annotations

import numpy as np

from .errors import DataFileError


def check_labels(labels: np.ndarray, num_classes: int, source: str) -> None:
    """Raise DataFileError naming `source` and the first bad index unless every label is an
    integer in 0..num_classes-1 (a float label would be truncated, a large one would index out
    of the model's outputs)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataFileError(f"{source}: expected labels of shape (N,), found {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataFileError(f"{source}: labels are {labels.dtype}; they must be integers "
                            f"0..{num_classes - 1}")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DataFileError(f"{source}: label {labels[bad[0]]} at index {bad[0]} is not a class "
                            f"0..{num_classes - 1} ({bad.size} such labels)")


def check_images(images: np.ndarray, source: str, shape: tuple[int, int] = (28, 28)) -> None:
    """Raise DataFileError naming `source` unless images are (N, *shape), N >= 1, and either
    uint8 pixels or floats in [0, 1] (floats in 0..255 would be normalised as if in [0, 1])."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != shape or len(images) == 0:
        raise DataFileError(f"{source}: expected images of shape (N, {shape[0]}, {shape[1]}) "
                            f"with N >= 1, found {images.shape}")
    if images.dtype == np.uint8:
        return
    if not np.issubdtype(images.dtype, np.floating):
        raise DataFileError(f"{source}: images are {images.dtype}; expected uint8 pixels "
                            "0..255 or floats in [0, 1]")
    low, high = float(images.min()), float(images.max())
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low and high <= 1.0):
        raise DataFileError(f"{source}: float images must lie in [0, 1], found values "
                            f"{low:g}..{high:g} (divide by 255, or store uint8)")
