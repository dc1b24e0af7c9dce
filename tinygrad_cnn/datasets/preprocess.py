"""Turn a user's photo or drawing of a digit into an MNIST-style 28x28 image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DataFileError


def load_digit_image(path: str | os.PathLike[str], digit: bool = True) -> np.ndarray:
    """Read an image file and preprocess it like MNIST was made; uint8 (28, 28), white ink on
    black. With `digit=False` (Fashion-MNIST: whole objects, not strokes) it is only inverted when
    the background is light and resized to 28x28. Raises DataFileError naming the file when it
    can't be read or holds no ink."""
    from PIL import Image, UnidentifiedImageError  # loaded when used: the core stays NumPy-only

    path = Path(path)
    try:
        with Image.open(path) as image:
            gray = np.asarray(image.convert("L"), dtype=np.float32)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable image ({exc})") from None
    try:
        return mnistify(gray) if digit else _dark_background_28(gray)
    except ValueError as exc:
        raise DataFileError(f"{path}: {exc}") from None


def _dark_background_28(gray: np.ndarray) -> np.ndarray:
    """Fashion-MNIST's look: the object light on a black background, 28x28."""
    from PIL import Image

    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    light = np.median(border) > 127
    image = Image.fromarray(np.uint8(255 - gray if light else gray))
    return np.asarray(image.resize((28, 28), Image.Resampling.LANCZOS), dtype=np.uint8)


def mnistify(gray: np.ndarray) -> np.ndarray:
    """MNIST's recipe on a grayscale array: invert when the background is light, crop to the ink,
    scale the ink's bounding box into 20x20 (keeping its aspect ratio), then place it in 28x28 so
    that its centre of mass is the image centre."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    from PIL import Image

    # the border is background: a light border means dark ink on light paper, so invert; taking
    # the background level away also removes a grey paper tone
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = np.median(border)
    ink = np.clip(background - gray if background > 127 else gray - background, 0, None)
    rows, cols = np.nonzero(ink > 0.1 * ink.max()) if ink.max() > 0 else ((), ())
    if len(rows) == 0:
        raise ValueError("the image holds no ink (it is blank)")
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    box = Image.fromarray(np.uint8(255 * ink / ink.max())).resize(size, Image.Resampling.LANCZOS)
    box = np.asarray(box, dtype=np.float32)
    return _centre_by_mass(box)


def _centre_by_mass(box: np.ndarray) -> np.ndarray:
    """Paste `box` (at most 20x20) into 28x28 with its centre of mass at the image centre
    (13.5, 13.5 in pixel-index coordinates), as near as whole-pixel shifts and the border allow."""
    h, w = box.shape
    total = box.sum()
    cy = (box.sum(axis=1) @ np.arange(h)) / total
    cx = (box.sum(axis=0) @ np.arange(w)) / total
    top = int(np.clip(round(13.5 - cy), 0, 28 - h))
    left = int(np.clip(round(13.5 - cx), 0, 28 - w))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top:top + h, left:left + w] = box
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def save_gray(images: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write uint8 images (N, 28, 28) as one PNG, side by side (one image: exactly 28x28)."""
    from PIL import Image

    from ..fileio import atomic_write

    strip = np.concatenate(list(np.asarray(images, np.uint8)), axis=1)
    with atomic_write(path) as f:
        Image.fromarray(strip).save(f, format="PNG")
    return Path(path)
