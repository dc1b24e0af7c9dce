"""Mini-batches of Tensors from image/label arrays, and vectorised NumPy transforms.

A transform is any callable `transform(x, rng) -> array` on a whole batch x (B, 1, H, W); `rng`
is a `np.random.Generator` derived from (seed, epoch, batch index), so augmentation is exactly
reproducible and resumable. Transforms return new arrays and never modify `x` in place.
Order matters: shift uint8 images first (zero fill = black background), then `Normalize()`.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import rng as global_rng
from .dataset import (  # noqa: F401 (Dataset, Subset, random_split: for users)
    Dataset,
    Subset,
    TensorDataset,
    collate,
    is_dataset,
    random_split,
)
from .ops import compiled
from .tensor import Tensor

# uint8 -> float32 in [0, 1] as a 256-entry lookup table: one gather instead of convert + divide
UNIT_TABLE = (np.arange(256) / 255.0).astype(np.float32)

# SeedSequence treats [a, b] and [a, b, 0] alike, so the two streams get distinct nonzero tags
ORDER_STREAM, AUGMENT_STREAM = 1, 2


class Transform(Protocol):
    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


class Normalize:
    """uint8 pixels -> float32 (x / 255 - mean) / std; float input must already be in [0, 1]
    (anything else raises, rather than being standardised on the wrong scale). The defaults
    are MNIST's training-set mean and standard deviation."""

    def __init__(self, mean: float = 0.1307, std: float = 0.3081) -> None:
        self.mean, self.std = float(mean), float(std)
        if not (math.isfinite(self.mean) and math.isfinite(self.std) and self.std > 0):
            raise ValueError(f"Normalize: mean must be finite and std finite and > 0, got "
                             f"mean={mean}, std={std}")
        # x * scale + shift in float64 then rounded: equal to the float64 formula rounded to
        # float32 for all 256 values (tests check it), and faster than a 256-entry table
        # lookup, whose uint8 -> intp index conversion dominates (docs/benchmarks.md); one
        # compiled pass with the same roundings when the compiled tier is on (ops/compiled.py)
        self.scale, self.shift = 1.0 / (255.0 * self.std), -self.mean / self.std

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if x.dtype == np.uint8:
            if compiled.enabled():
                out = np.empty(x.shape, np.float32)
                compiled.kernels("data").normalize_uint8(
                    np.ascontiguousarray(x).reshape(-1), self.scale, self.shift, out.reshape(-1))
                return out
            wide = np.multiply(x, self.scale, out=np.empty(np.shape(x)))  # float64, also 0-d
            np.add(wide, self.shift, out=wide)
            return wide.astype(np.float32)
        x = np.asarray(x, np.float32)
        if x.size and not (0.0 <= x.min() and x.max() <= 1.0):  # 0..255 floats would pass silently
            raise ValueError(f"Normalize: float images must lie in [0, 1], found "
                             f"{x.min():g}..{x.max():g}; pass uint8 pixels or divide by 255")
        return (x - np.float32(self.mean)) / np.float32(self.std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomShift:
    """Translate each image by its own random integer (dy, dx) in [-max_shift, max_shift],
    filling the uncovered border with zeros."""

    def __init__(self, max_shift: int = 2) -> None:
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        offsets = rng.integers(-self.max_shift, self.max_shift + 1, size=(len(x), 2))
        return shift_images(x, offsets, self.max_shift)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class Compose:
    """Apply transforms in order, each receiving the same batch generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for transform in self.transforms:
            x = transform(x, rng)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


def shift_images(x: np.ndarray, offsets: np.ndarray, max_shift: int) -> np.ndarray:
    """out[i, ..., y, x] = x[i, ..., y - dy_i, x - dx_i], zero outside; offsets (N, 2) = (dy, dx).
    Pads the batch once, then gathers every image's window from a strided view: no Python loop."""
    offsets = np.asarray(offsets)
    if offsets.shape != (len(x), 2) or (offsets.size and np.abs(offsets).max() > max_shift):
        raise ValueError(f"offsets must have shape ({len(x)}, 2) and entries in "
                         f"[-{max_shift}, {max_shift}]")
    m = max_shift
    H, W = x.shape[-2:]
    padded = np.zeros((*x.shape[:-2], H + 2 * m, W + 2 * m), x.dtype)
    padded[..., m:m + H, m:m + W] = x
    # windows[i, ..., a, b] = padded[i, ..., a:a+H, b:b+W], a read-only view (no copy)
    windows = sliding_window_view(padded, (H, W), axis=(-2, -1))
    rows = np.arange(len(x))
    # advanced indices on the batch and window axes, slices elsewhere: result (N, ..., H, W)
    return windows[rows, ..., m - offsets[:, 0], m - offsets[:, 1], :, :]


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels scaled to float32 [0, 1]; anything else cast to float32 as is."""
    if x.dtype == np.uint8:
        return UNIT_TABLE[x]
    return np.asarray(x, np.float32)


def _checked_arrays(images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images as (N, C, H, W) (a view adds C to (N, H, W)) and labels as int64 (N,)."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim not in (3, 4) or labels.shape != (len(images),):
        raise ValueError(f"expected images (N, H, W) or (N, C, H, W) and labels (N,), got "
                         f"{images.shape} and {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers (class numbers), got {labels.dtype}")
    return (images[:, None] if images.ndim == 3 else images), labels.astype(np.int64)


class DataLoader:
    """Iterate (x, y) batches: x a float32 Tensor (B, 1, H, W), y an int64 Tensor (B,); or, as
    PyTorch's `DataLoader(dataset, batch_size=1, shuffle=False)`, batches of a map-style dataset
    (dataset.py: `TensorDataset`, or any object with __getitem__ and __len__) collated as
    torch's default_collate, dtypes kept and no scaling.

    images: uint8 (N, H, W) or (N, 1, H, W) (or float already scaled); labels: integers (N,).
    Without a transform uint8 pixels become x / 255; `transform=Normalize()` gives the usual
    MNIST input. Each `iter()` (each `for` loop) starts a new epoch, except the first one after
    `load_state_dict`, which continues the saved epoch. With `shuffle`, epoch e visits the examples
    in the order `default_rng([seed, 1, e]).permutation(N)`, so `state_dict()` (plain integers:
    the seed, the epoch and the next batch index) is all it takes to resume exactly, even
    mid-epoch.
    `seed=None` draws a seed from `tinygrad_cnn.rng`, so `manual_seed` makes loaders repeatable.
    """

    def __init__(self, images: Any, labels: Any = None, batch_size: int | None = None,
                 shuffle: bool = False, drop_last: bool = False, seed: int | None = None,
                 transform: Transform | None = None, *, collate_fn: Any = None,
                 num_workers: int = 0, pin_memory: bool = False,
                 persistent_workers: bool = False, prefetch_factor: int | None = None,
                 timeout: float = 0, worker_init_fn: Any = None) -> None:
        # num_workers, pin_memory and the worker settings are PyTorch's: accepted, and batches
        # are made in this process (a batch is one NumPy gather), there is no GPU memory to pin
        # a dataset when it is one of ours, or array-free with no labels beside it (labels may
        # be PyTorch's second positional argument, batch_size: DataLoader(dataset, 64, True))
        dataset_call = labels is None or isinstance(labels, int) and not isinstance(labels, bool)
        self.dataset = images if isinstance(images, Dataset) or (
            dataset_call and is_dataset(images)) else None
        if collate_fn is not None and self.dataset is None:
            raise TypeError("DataLoader: collate_fn applies to a dataset, not to image arrays")
        self.collate_fn = collate_fn
        if self.dataset is not None:
            if labels is not None:
                if not dataset_call or batch_size not in (None, True, False):
                    raise TypeError("DataLoader(dataset, ...): a dataset brings its own labels; "
                                    "pass batch_size, shuffle and drop_last by name")
                shuffle = shuffle or bool(batch_size)  # PyTorch's third positional: shuffle
                labels, batch_size = None, labels
            if transform is not None:
                raise TypeError("DataLoader(dataset, ...): a transform applies to image arrays; "
                                "a dataset transforms its samples in __getitem__")
            self.images = self.labels = None
            self.num_samples = len(self.dataset)
        else:
            self.images, self.labels = _checked_arrays(images, labels)
            self.num_samples = len(self.images)
        if batch_size is None:  # PyTorch's default for datasets; ours for image arrays
            batch_size = 1 if self.dataset is not None else 128
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or \
                batch_size < 1:
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if seed is None:
            seed = int(global_rng.generator().integers(2**63))
        if not 0 <= seed < 2**63:
            raise ValueError(f"seed must lie in [0, 2**63) so it fits an int64, got {seed}")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.seed, self.transform = int(seed), transform
        self.epoch, self.batch = 0, 0  # the next batch to yield
        self._resumed = False  # set by load_state_dict: the next iter() continues mid-epoch

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(self.num_samples, self.batch_size)
        if rest and not self.drop_last:
            return full + 1
        return full

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        """Start an epoch now (not at the first `next`): the next one if the previous loop took
        any batch, so a peek with `next(iter(loader))` never shortens the following loop. Only
        right after `load_state_dict` does it continue the saved epoch from the saved batch."""
        resumed, self._resumed = self._resumed, False
        if self.batch >= len(self) or (self.batch > 0 and not resumed):
            self.epoch, self.batch = self.epoch + 1, 0
        return self._batches()

    def _batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.order(self.epoch)
        while self.batch < len(self):
            index = self.batch
            # advance before yielding, so a state saved in the loop body resumes after this batch
            self.batch += 1
            yield self.get_batch(order, self.epoch, index)
        self.epoch, self.batch = self.epoch + 1, 0

    def order(self, epoch: int) -> np.ndarray:
        """The example indices in the order epoch `epoch` visits them."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, ORDER_STREAM, epoch]).permutation(self.num_samples)

    def get_batch(self, order: np.ndarray, epoch: int, index: int) -> tuple[Tensor, Tensor]:
        """Batch `index` of an epoch, augmented by a generator seeded from (seed, epoch, index)."""
        rows = order[index * self.batch_size:(index + 1) * self.batch_size]
        if self.dataset is not None:
            if self.collate_fn is not None:
                return self.collate_fn([self.dataset[int(i)] for i in rows])
            if isinstance(self.dataset, Dataset) and hasattr(self.dataset, "batch"):
                return self.dataset.batch(rows)  # TensorDataset, vision: one gather, not B samples
            return collate([self.dataset[int(i)] for i in rows])
        x = self.images[rows]
        if self.transform is not None:
            x = self.transform(x, np.random.default_rng([self.seed, AUGMENT_STREAM, epoch, index]))
        return Tensor(to_float(x)), Tensor(self.labels[rows], dtype=None)

    def state_dict(self) -> dict[str, int]:
        """Position and seed as plain ints (savable with np.savez, no pickle), plus the settings
        that shape the batch sequence so `load_state_dict` can refuse a mismatched loader."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch,
                "num_samples": self.num_samples, "batch_size": self.batch_size,
                "shuffle": int(self.shuffle), "drop_last": int(self.drop_last)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict()` output (values may be 0-d arrays read back from an .npz).
        A state missing a key, holding a non-integer, or a position past the epoch's end
        raises ValueError naming it, and leaves the loader as it was."""
        mine = self.state_dict()
        missing = sorted(set(mine) - set(state))
        if missing:
            raise ValueError(f"DataLoader.load_state_dict: the state has no {', '.join(missing)} "
                             f"(it needs {', '.join(mine)})")
        try:
            state = {key: operator.index(np.asarray(state[key])[()]) for key in mine}
        except TypeError:
            raise ValueError(f"DataLoader.load_state_dict: every value should be an integer, got "
                             f"{dict(state)!r:.200}") from None
        if state["epoch"] < 0 or not 0 <= state["batch"] <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: epoch {state['epoch']}, batch "
                             f"{state['batch']} is no position of a loader with {len(self)} "
                             "batches per epoch")
        for key in ("num_samples", "batch_size", "shuffle", "drop_last"):
            if state[key] != mine[key]:
                raise ValueError(f"state is for a loader with {key}={state[key]}, this one has "
                                 f"{key}={mine[key]}")
        self.seed, self.epoch, self.batch = state["seed"], state["epoch"], state["batch"]
        self._resumed = True

    def __repr__(self) -> str:
        return (f"DataLoader(n={self.num_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, transform={self.transform})")
