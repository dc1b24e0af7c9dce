"""Turn a user's photo or drawing of a digit into an MNIST-style 28x28 image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DataFileError
from .images import read_gray


def load_digit_image(path: str | os.PathLike[str], digit: bool = True) -> np.ndarray:
    """Read an image file (any mode Pillow reads, see images.read_gray) and preprocess it like
    MNIST was made; uint8 (28, 28), white ink on black. With `digit=False` (Fashion-MNIST: whole
    objects, not strokes) it is only inverted when the background is light and resized to
    28x28. Raises DataFileError naming the file when it can't be read or holds no ink."""
    path = Path(path)
    gray = read_gray(path).astype(np.float32)
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
    """MNIST's recipe on a grayscale photo or drawing: find the ink (the uneven light of a photo
    estimated and taken away, an Otsu threshold, the largest ink components kept, specks and
    shadows dropped), crop to it, scale its bounding box into 20x20 (keeping its aspect ratio),
    then place it in 28x28 so that its centre of mass is the image centre."""
    from PIL import Image

    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    ink = ink_map(_shrink(gray, WORK_SIZE))
    mask = ink > otsu_threshold(ink)
    if mask.all() or not mask.any() or ink[mask].mean() - ink[~mask].mean() < MIN_CONTRAST:
        raise ValueError("the image holds no ink (it is blank)")
    mask = _main_components(mask)
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    strokes = np.where(_dilate(mask), ink, 0)[top:bottom, left:right]
    strokes = np.clip(strokes / np.percentile(ink[mask], 90), 0, 1)  # full ink is 255
    scale = 20.0 / max(strokes.shape)
    size = (max(1, round(strokes.shape[1] * scale)), max(1, round(strokes.shape[0] * scale)))
    box = Image.fromarray(np.uint8(np.round(255 * strokes))).resize(size, Image.Resampling.LANCZOS)
    return _centre_by_mass(np.asarray(box, dtype=np.float32))


WORK_SIZE = 256  # photos are analysed at most this large: plenty for a 20x20 digit
MIN_CONTRAST = 40.0  # grey levels between ink and paper; less is paper noise, a blank image


def ink_map(gray: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds (>= 0). The border is paper, so a light border means dark
    ink (inverted). The paper's level is either flat (a drawing) or uneven (a photo's light and
    shadows: estimated by a grey opening, a min then max filter wider than the strokes, then
    smoothed); whichever leaves ink and paper better separated (Otsu's measure) is taken away."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    light = np.median(border) > 127
    ink = (255.0 - gray if light else gray) - np.median(255.0 - border if light else border)
    flat = np.clip(ink, 0, None)
    size = _odd(min(gray.shape) / 6)
    if size < 3:
        return flat
    paper = _box_blur(_max_filter(_min_filter(ink, size), size), size)
    uneven = np.clip(ink - paper, 0, None)
    return uneven if separation(uneven) > separation(flat) else flat


def separation(values: np.ndarray) -> float:
    """Otsu's measure of how two-toned `values` are: between-class over total variance at the
    best threshold, 0 (one tone) .. 1 (exactly two)."""
    total = values.var()
    return _otsu(values)[1] / total if total > 0 else 0.0


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold: the level that best splits `values` into two classes (the largest
    between-class variance of a 256-bin histogram)."""
    return _otsu(values)[0]


def _otsu(values: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """(threshold, between-class variance there)."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts).astype(np.float64)
    mass = np.cumsum(counts * centres)
    total, total_mass = weight[-1], mass[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (weight * total_mass / total - mass) ** 2 / (weight * (total - weight))
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    best = int(np.argmax(between))
    return float(centres[best]), float(between[best])


def _main_components(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected ink component, and any other at least a tenth its size whose box
    lies near its box (a stroke the pen lifted off), without specks and distant smudges."""
    labels, sizes, boxes = _components(mask)
    if not sizes:
        return mask
    big = int(np.argmax(sizes))
    top, bottom, left, right = boxes[big]
    margin_y, margin_x = (bottom - top) // 2, (right - left) // 2
    keep = [big] + [i for i, (size, box) in enumerate(zip(sizes, boxes)) if i != big
                    and size >= 0.1 * sizes[big] and box[0] >= top - margin_y
                    and box[1] <= bottom + margin_y and box[2] >= left - margin_x
                    and box[3] <= right + margin_x]
    return np.isin(labels, np.array(keep) + 1)


def _components(mask: np.ndarray) -> tuple[np.ndarray, list[int], list[tuple[int, ...]]]:
    """8-connected components of `mask`: labels (0 = none, k + 1 = component k), each one's
    size and (top, bottom, left, right) box. A flood fill with an explicit stack."""
    labels = np.zeros(mask.shape, np.int32)
    h, w = mask.shape
    sizes, boxes = [], []
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        label, stack, pixels = len(sizes) + 1, [start], []
        labels[start] = label
        while stack:
            y, x = stack.pop()
            pixels.append((y, x))
            for ny in (y - 1, y, y + 1):
                for nx in (x - 1, x, x + 1):
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = label
                        stack.append((ny, nx))
        ys, xs = np.array(pixels).T
        sizes.append(len(pixels))
        boxes.append((int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1))
    return labels, sizes, boxes


def _shrink(gray: np.ndarray, longest: int) -> np.ndarray:
    """`gray` reduced (area average) so that its longest side is at most `longest`."""
    from PIL import Image

    factor = max(gray.shape) / longest
    if factor <= 1:
        return gray
    size = (max(1, round(gray.shape[1] / factor)), max(1, round(gray.shape[0] / factor)))
    return np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX))


def _odd(value: float) -> int:
    return int(value) // 2 * 2 + 1


def _sliding(values: np.ndarray, size: int, reduce, pad: float) -> np.ndarray:
    """`reduce` over a size x size window at every pixel (separable), padded with `pad`."""
    half = size // 2
    for axis in (0, 1):
        widths = [(0, 0), (0, 0)]
        widths[axis] = (half, half)
        padded = np.pad(values, widths, constant_values=pad)
        windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=axis)
        values = reduce(windows, axis=-1)
    return values


def _min_filter(values: np.ndarray, size: int) -> np.ndarray:
    return _sliding(values, size, np.min, np.inf)


def _max_filter(values: np.ndarray, size: int) -> np.ndarray:
    return _sliding(values, size, np.max, -np.inf)


def _box_blur(values: np.ndarray, size: int) -> np.ndarray:
    """The mean over a size x size window at every pixel (separable running sums)."""
    half = size // 2
    for axis in (0, 1):
        widths = [(0, 0), (0, 0)]
        widths[axis] = (half + 1, half)
        sums = np.cumsum(np.pad(values, widths, mode="edge"), axis=axis)
        values = (np.take(sums, np.arange(size, sums.shape[axis]), axis=axis)
                  - np.take(sums, np.arange(sums.shape[axis] - size), axis=axis)) / size
    return values


def _dilate(mask: np.ndarray) -> np.ndarray:
    """`mask` grown by one pixel in every direction (its anti-aliased edge)."""
    return _max_filter(mask.astype(np.float32), 3) > 0


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
    from PIL import Image, PngImagePlugin

    from ..fileio import atomic_write

    images = np.asarray(images, np.uint8)
    if images.ndim != 3 or not len(images):
        raise ValueError(f"save_gray: expected images (N, H, W) with N >= 1, got shape "
                         f"{images.shape}")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "tinygrad_cnn")  # the mark the CLI knows its own outputs by
    with atomic_write(path) as f:
        Image.fromarray(np.concatenate(list(images), axis=1)).save(f, format="PNG", pnginfo=info)
    return Path(path)
