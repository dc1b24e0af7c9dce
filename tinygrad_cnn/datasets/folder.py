"""A folder of images with one sub-folder per label (dir/0/*.png ... dir/9/*.png): load, export.

Policy, so that one bad entry never ends in a NumPy or Pillow traceback:
- a file without an image suffix, a hidden entry (.DS_Store), a loose file beside the label
  folders, or a folder nested in a label folder is skipped, with one warning naming them;
- a label folder whose name is not a non-negative integer is an error naming it (skipping it
  would silently drop a class);
- an image Pillow cannot read is an error naming the file (skipping would silently shrink the
  data set: fix or delete the file);
- an empty label folder is a warning; no image at all is an error naming the folder;
- images that are not 28x28 are resized (Lanczos), with one warning saying how many.
Images are converted to 8-bit grey at their right scale (datasets.images.read_gray: 16-bit,
float, transparent); order is by label, then by file name.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .cache import atomic_open
from .errors import DataFileError
from .images import read_gray

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                            ".pgm", ".ppm", ".pbm"})
SIZE = (28, 28)
PROGRESS_MIN = 2000  # show a progress bar only for folders this large


def load_image_folder(directory: str | os.PathLike[str], num_classes: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Read dir/<label>/<image> into (images uint8 (N, 28, 28), labels int64 (N,)). With
    `num_classes`, a label folder outside 0..num_classes-1 is an error naming it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataFileError(f"{directory}: not a directory")
    label_dirs, skipped = _label_dirs(directory)
    for label, label_dir in label_dirs:
        if num_classes is not None and label >= num_classes:
            raise DataFileError(f"{label_dir}: label folder {label} is not a class "
                                f"0..{num_classes - 1}")
    files: list[tuple[int, Path]] = []
    empty = []
    for label, label_dir in label_dirs:
        images, others = _image_files(label_dir)
        skipped += others
        if not images:
            empty.append(label_dir.name)
        files += [(label, path) for path in images]
    if not files:
        raise DataFileError(f"{directory}: no images found; expected label folders 0, 1, ... "
                            f"holding image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    _warn_list(f"skipped {len(skipped)} entries under {directory} that are not images", skipped)
    _warn_list(f"label folders under {directory} with no images", empty)
    images = np.empty((len(files), *SIZE), np.uint8)
    resized = []
    from tqdm import tqdm  # a tool library: loaded when a folder is read, not on import

    rows = tqdm(files, desc=directory.name, leave=False, disable=len(files) < PROGRESS_MIN)
    for i, (_, path) in enumerate(rows):
        images[i], (width, height) = _read_image(path)
        if (width, height) != SIZE:
            resized.append(f"{path.relative_to(directory)} ({width}x{height})")
    _warn_list(f"resized {len(resized)} of {len(files)} images under {directory} to 28x28",
               resized)
    return images, np.array([label for label, _ in files], np.int64)


def export_image_folder(images: np.ndarray, labels: np.ndarray,
                        directory: str | os.PathLike[str]) -> None:
    """Write images (uint8 (N, H, W) or (N, 1, H, W)) as dir/<label>/<index>.png, the layout
    `load_image_folder` reads. Zero-padded indices keep name order equal to index order.
    Refuses a non-empty directory, whose old files would mix into the new set."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} "
                         f"{images.shape}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"expected {len(images)} integer labels, got {labels.dtype} "
                         f"{labels.shape}")
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative: they become folder names")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise DataFileError(f"{directory}: is a file; export into a new or empty directory")
    if directory.exists() and any(directory.iterdir()):
        raise DataFileError(f"{directory}: not empty; export into a new or empty directory")
    width = max(5, len(str(len(images) - 1)))
    from PIL import Image
    from tqdm import tqdm

    rows = tqdm(range(len(images)), desc="export", leave=False, disable=len(images) < PROGRESS_MIN)
    for i in rows:
        with atomic_open(directory / str(int(labels[i])) / f"{i:0{width}d}.png") as f:
            Image.fromarray(images[i]).save(f, format="PNG")


def _label_dirs(directory: Path) -> tuple[list[tuple[int, Path]], list[str]]:
    """Label folders sorted by label number, and the entries beside them that are skipped."""
    label_dirs, skipped = [], []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            skipped.append(entry.name)
        elif entry.name.isascii() and entry.name.isdigit():
            label_dirs.append((int(entry.name), entry))
        else:
            raise DataFileError(f"{entry}: label folder name {entry.name!r} is not a "
                                f"non-negative integer; name label folders 0, 1, 2, ...")
    return sorted(label_dirs), skipped


def _image_files(label_dir: Path) -> tuple[list[Path], list[str]]:
    """Image files of one label folder in name order, and the names of skipped entries."""
    images, skipped = [], []
    for entry in sorted(label_dir.iterdir()):
        is_image = entry.suffix.lower() in IMAGE_SUFFIXES and not entry.name.startswith(".")
        if is_image and entry.is_file():
            images.append(entry)
        else:
            skipped.append(f"{label_dir.name}/{entry.name}")
    return images, skipped


def _read_image(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """One image as uint8 28x28 grayscale (any mode, see images.read_gray), and its original
    (width, height)."""
    from PIL import Image  # loaded when an image is read, so `import tinygrad_cnn` stays NumPy-only

    gray = read_gray(path)
    original_size = (gray.shape[1], gray.shape[0])
    if original_size != SIZE:
        resized = Image.fromarray(gray).resize(SIZE, Image.Resampling.LANCZOS)
        gray = np.asarray(resized, dtype=np.uint8)
    return gray, original_size


def _warn_list(message: str, items: list[str], shown: int = 5) -> None:
    """One warning for a whole list of items, naming the first few."""
    if not items:
        return
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    warnings.warn(f"{message}: {', '.join(items[:shown])}{more}", stacklevel=3)
