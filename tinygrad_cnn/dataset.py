"""PyTorch's map-style datasets, for `DataLoader(dataset, batch_size=...)`: `Dataset` to
subclass (`__getitem__` and `__len__`), `TensorDataset(x, y)` over arrays or Tensors, `Subset`
and `random_split`, and `collate`, which stacks a list of samples into a batch as torch's
default_collate does."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import rng
from .tensor import Tensor


class Dataset:
    """Subclass it and define `__getitem__(i)` (one sample: an array, a number, a Tensor, or a
    tuple, list or dict of them) and `__len__()`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _check_index(index: Any, size: int) -> Any:
    """An integer index must lie in -size..size-1 (PyTorch's IndexError wording); slices and
    index arrays pass to NumPy, which checks them."""
    if isinstance(index, numbers.Integral) and not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension 0 with size {size}")
    return index


class TensorDataset(Dataset):
    """Sample i is (t[i] for t in tensors); every tensor has the same first dimension."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        sizes = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in sizes or len(set(sizes)) != 1:
            shapes = [a.shape for a in self.arrays]
            raise ValueError(f"TensorDataset: size mismatch between tensors: every tensor needs "
                             f"the same first dimension, got shapes {shapes}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        _check_index(index, len(self))
        return tuple(Tensor(a[index], dtype=None) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def batch(self, rows: np.ndarray) -> list[Tensor]:
        """Samples `rows` at once, one gather per tensor instead of one per sample; a list, as
        default_collate makes of tuple samples."""
        return [Tensor(a[rows], dtype=None) for a in self.arrays]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Any) -> None:
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[_check_index(index, len(self))]]

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, rows: np.ndarray) -> Any:
        """Samples `rows` collated, through the dataset's own `batch` when it has one (a
        random_split of a vision dataset keeps its one-gather batches)."""
        inner = np.asarray(self.indices, dtype=np.int64)[rows]
        if isinstance(self.dataset, Dataset) and hasattr(self.dataset, "batch"):
            return self.dataset.batch(inner)
        return collate([self.dataset[int(i)] for i in inner])


def random_split(dataset: Any, lengths: Any, seed: int | None = None) -> list[Subset]:
    """Disjoint random Subsets of the given lengths (or fractions summing to 1, the remainder
    dealt one by one from the first, as PyTorch), shuffled by `tinygrad_cnn.manual_seed`'s
    generator, or by `seed`."""
    n, lengths = len(dataset), list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-9 and (
            sum(lengths) != n):
        counts = [int(f * n) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(size < 0 for size in lengths):
        raise ValueError(f"random_split: lengths must be >= 0, got {lengths}")
    if sum(lengths) != n or any(int(size) != size for size in lengths):
        raise ValueError(f"random_split: the lengths {lengths} sum to {sum(lengths)}, the "
                         f"dataset has {n} samples")
    lengths = [int(size) for size in lengths]
    generator = np.random.default_rng(seed) if seed is not None else rng.generator()
    order = generator.permutation(n)
    starts = np.cumsum([0] + lengths[:-1])
    return [Subset(dataset, order[start:start + size]) for start, size in zip(starts, lengths)]


def is_dataset(value: Any) -> bool:
    """A map-style dataset: a list or tuple of samples, or an object with __getitem__ and
    __len__ that is not an array (NumPy's, ours, or any with __array__ such as PyTorch's)."""
    if isinstance(value, (list, tuple)):
        return bool(value) and isinstance(value[0], (tuple, list, dict))
    return (not isinstance(value, (np.ndarray, Tensor)) and not hasattr(value, "__array__")
            and hasattr(value, "__len__") and hasattr(value, "__getitem__"))


def collate(samples: list[Any]) -> Any:
    """torch's default_collate: Tensors and arrays stack along a new first axis (keeping their
    dtype), Python floats become float64, ints int64, bools bool; tuples, lists and dicts
    collate field by field; strings stay a list."""
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        arrays = [s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"collate: samples have different shapes {sorted(shapes)}; stack "
                             "needs equal shapes")
        return Tensor(np.stack(arrays), dtype=None)
    if isinstance(first, np.generic):  # NumPy scalars keep their dtype, as default_collate
        return Tensor(np.array(samples), dtype=None)
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=np.bool_), dtype=None)
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(samples, dtype=np.int64), dtype=None)
    if isinstance(first, numbers.Real):
        return Tensor(np.array(samples, dtype=np.float64), dtype=None)
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        return {key: collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if len({len(s) for s in samples}) != 1:
            raise ValueError("collate: each sample must have the same number of fields")
        fields = [collate(list(field)) for field in zip(*samples)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # as torch: a list
    raise TypeError(f"collate: cannot batch samples of type {type(first).__name__}; return "
                    "arrays, numbers, Tensors, or tuples/lists/dicts of them")
