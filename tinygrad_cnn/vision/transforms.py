"""torchvision.transforms' shape: ToTensor, PILToTensor, Normalize, Compose, Lambda, RandomCrop
and RandomHorizontalFlip, with torchvision's semantics on one sample (a PIL image, an HWC array
or a CHW Tensor).

A transform that can also run on a whole batch at once defines `batch(x)`: the same arithmetic
on a stack of samples, always laid out (B, C, H, W) (uint8 pixels before `ToTensor`, float32
after), so a dataset whose transforms all have it makes a batch with one gather instead of B
images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import rng
from ..data import shift_images
from ..tensor import Tensor

_SCALE = np.float32(255)  # torchvision's ToTensor: uint8 -> float32, then a float32 division


def pil_to_array(pic: Any) -> np.ndarray:
    """An image (PIL or array-like) as an HWC array; a 2-D array gains a channel axis."""
    array = np.asarray(pic)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an image (H, W) or (H, W, C), got shape {array.shape}")
    return array


def _scaled(x: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 x / 255 (float32 division, as torchvision); others as they are."""
    if x.dtype == np.uint8:
        return np.divide(x, _SCALE, dtype=np.float32)
    return np.ascontiguousarray(x)


class ToTensor:
    """PIL image or HWC array -> CHW float32 Tensor; uint8 pixels are divided by 255 (to [0, 1]),
    other dtypes are kept, as torchvision's (a 1-bit PIL image is 0 or 255 first, so 0. or 1.)."""

    def __call__(self, pic: Any) -> Tensor:
        array = pil_to_array(pic)
        if getattr(pic, "mode", None) == "1":  # NumPy reads 1-bit pixels as bools
            array = array.astype(np.uint8) * np.uint8(255)
        return Tensor(_scaled(array.transpose(2, 0, 1)), dtype=None)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return _scaled(x)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL image -> CHW Tensor of its own dtype (uint8), no scaling."""

    def __call__(self, pic: Any) -> Tensor:
        array = np.ascontiguousarray(pil_to_array(pic).transpose(2, 0, 1))
        return Tensor(array, dtype=None)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return x

    def __repr__(self) -> str:
        return "PILToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] per channel of a float (..., C, H, W) Tensor, in its dtype (a
    one-element mean or std applies to every channel). Integer tensors are refused, as
    torchvision's: apply ToTensor first."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float,
                 inplace: bool = False) -> None:
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to float, "
                             f"leading to division by zero (std={std})")
        self.inplace = inplace  # accepted; the result is always a new tensor

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (apply ToTensor first), got "
                            f"{type(tensor).__name__}")
        return Tensor(self.batch(tensor.data), dtype=None)

    def batch(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {x.dtype}")
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor (..., C, H, W), got shape {x.shape}")
        mean = np.asarray(self.mean, x.dtype)[:, None, None]
        std = np.asarray(self.std, x.dtype)[:, None, None]
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x

    def batch(self, x: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            x = transform.batch(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """A user function as a transform (one sample at a time: it has no batch form)."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)

    def __repr__(self) -> str:
        return "Lambda()"


def _to_pil_like(array: np.ndarray, like: Any) -> Any:
    """`array` (HWC) back in the input's kind: a PIL image if `like` was one, else the array."""
    if hasattr(like, "getbands"):  # a PIL image: PIL is loaded already
        from PIL import Image

        return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    return array


class RandomCrop:
    """A random `size` crop after zero padding by `padding` on every side; with size equal to
    the image size it is a random shift in [-padding, padding] (our RandomShift), zero filled.
    Samples are PIL images, HWC arrays or CHW Tensors."""

    def __init__(self, size: int | Sequence[int], padding: int = 0) -> None:
        self.size = (int(size), int(size)) if np.ndim(size) == 0 else tuple(int(s) for s in size)
        self.padding = int(padding)

    def __call__(self, img: Any) -> Any:
        if isinstance(img, Tensor):
            return Tensor(self._crop(img.data[None])[0], dtype=None)
        array = pil_to_array(img)
        chw = np.moveaxis(array, -1, 0)[None]
        return _to_pil_like(np.moveaxis(self._crop(chw)[0], 0, -1), img)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return self._crop(x)

    def _crop(self, x: np.ndarray) -> np.ndarray:
        """A batch (B, C, H, W): each image's own random (top, left) in the padded image."""
        H, W = x.shape[-2:]
        p, (OH, OW) = self.padding, self.size
        if OH > H + 2 * p or OW > W + 2 * p:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded image "
                             f"({H + 2 * p}, {W + 2 * p})")
        if (OH, OW) == (H, W):
            offsets = rng.generator().integers(-p, p + 1, size=(len(x), 2))
            return shift_images(x, offsets, p)
        padded = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)])
        tops = rng.generator().integers(0, H + 2 * p - OH + 1, size=len(x))
        lefts = rng.generator().integers(0, W + 2 * p - OW + 1, size=len(x))
        return np.stack([image[..., t:t + OH, s:s + OW]
                         for image, t, s in zip(padded, tops, lefts)])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability p (each sample drawn on its own)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, img: Any) -> Any:
        if rng.generator().random() >= self.p:
            return img
        if isinstance(img, Tensor):
            return Tensor(np.ascontiguousarray(img.data[..., ::-1]), dtype=None)
        return _to_pil_like(np.ascontiguousarray(pil_to_array(img)[:, ::-1]), img)

    def batch(self, x: np.ndarray) -> np.ndarray:
        flip = rng.generator().random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def batchable(transform: Any) -> bool:
    """Whether `transform` (None, one transform or a Compose) can run on a whole batch."""
    if transform is None:
        return False
    if isinstance(transform, Compose):
        return all(batchable(t) for t in transform.transforms)
    return callable(getattr(transform, "batch", None))
