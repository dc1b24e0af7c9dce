"""torchvision.io's image readers: `decode_image(path)` and `read_image(path)` give a uint8
Tensor (C, H, W), read with Pillow (loaded when called)."""

from __future__ import annotations

import os
from enum import Enum

import numpy as np

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
    """The image file at `path` as a uint8 Tensor (C, H, W)."""
    from PIL import Image  # a tool library: loaded when an image is read

    with Image.open(path) as image:
        if mode is not ImageReadMode.UNCHANGED:
            image = image.convert(mode.value)
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    return Tensor(np.ascontiguousarray(array.transpose(2, 0, 1)), dtype=None)


read_image = decode_image  # torchvision's older name
