"""Reading any picture Pillow opens as 8-bit grey: every mode at its right scale, transparency
over white paper, phone rotation applied, and a pixel limit instead of Pillow's bomb error."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import open_regular
from .errors import DataFileError

MAX_PIXELS = 50_000_000  # a 50-megapixel photo; larger pictures are refused, not decoded


def read_gray(path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The picture at `path` as uint8 grey (H, W), 0 black .. 255 white. Raises DataFileError
    naming the file when it is missing, unreadable, or above `max_pixels`."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # a tool library, loaded when used

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our limit is lower
            with open_regular(path, DataFileError) as f, Image.open(f) as image:  # no FIFO
                width, height = image.size
                if width * height > max_pixels:
                    raise DataFileError(f"{path}: {width}x{height} pixels, more than "
                                        f"{max_pixels:,} (the most this reads); make the "
                                        "picture smaller")
                image.load()  # decode now, so a truncated file fails here, under its own name
                return to_gray(ImageOps.exif_transpose(image))
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except Image.DecompressionBombError:
        raise DataFileError(f"{path}: too many pixels for a picture of a digit (more than "
                            f"{max_pixels:,}); make the picture smaller") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataFileError(f"{path}: cannot read image ({exc})") from None


def to_gray(image: Any) -> np.ndarray:
    """A Pillow image of any mode as uint8 grey (H, W): 16-bit grey scaled by 255/65535, 32-bit
    integers the same when they exceed 255, floats in [0, 1] scaled to 0..255 (other floats
    clipped), and anything with transparency composited over white, so that ink drawn on a
    transparent background stays ink."""
    from PIL import Image

    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.float64)
        scale = 257.0 if mode != "I" or values.max(initial=0) > 255 else 1.0
        return _round(values / scale)
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0)
        in_unit = values.size and 0.0 <= values.min() and values.max() <= 1.0
        return _round(values * 255.0 if in_unit else values)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.uint8)
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(paper, rgba).convert("L"), dtype=np.uint8)
    return np.asarray(image.convert("RGB").convert("L"), dtype=np.uint8)


def _round(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
