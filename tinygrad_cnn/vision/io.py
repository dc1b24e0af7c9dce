"""torchvision.io's image readers: `decode_image(path)` and `read_image(path)` give a uint8
Tensor (C, H, W), read with Pillow (loaded when called) from regular files only."""

from __future__ import annotations

import os
from enum import Enum

import numpy as np

from ..fileio import open_regular
from ..tensor import Tensor


class ImageReadMode(Enum):
    """What `decode_image` converts to: the file's own channels, gray (1) or RGB (3)."""

    UNCHANGED = "unchanged"
    GRAY = "L"
    GRAY_ALPHA = "LA"
    RGB = "RGB"
    RGB_ALPHA = "RGBA"


def decode_image(path: str | os.PathLike[str],
                 mode: ImageReadMode = ImageReadMode.UNCHANGED) -> Tensor:
    """The image file at `path` as a uint8 Tensor (C, H, W); RuntimeError naming the file when
    it is not a regular file (a FIFO would block) or not an image Pillow reads, as torchvision
    raises."""
    from PIL import Image, UnidentifiedImageError  # a tool library: loaded when an image is read

    path = os.fspath(path)
    try:
        with open_regular(path, RuntimeError) as f, Image.open(f) as image:
            if mode is not ImageReadMode.UNCHANGED:
                image = image.convert(mode.value)
            array = np.asarray(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError) as exc:
        raise RuntimeError(f"decode_image: cannot read {path!r} as an image ({exc})") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return Tensor(np.ascontiguousarray(array.transpose(2, 0, 1)), dtype=None)


read_image = decode_image  # torchvision's older name
