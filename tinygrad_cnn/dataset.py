"""PyTorch's map-style datasets, for `DataLoader(dataset, batch_size=...)`: `Dataset` to
subclass (`__getitem__` and `__len__`), `TensorDataset(x, y)` over arrays or Tensors, and
`collate`, which stacks a list of samples into a batch as torch's default_collate does."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .tensor import Tensor


class Dataset:
    """Subclass it and define `__getitem__(i)` (one sample: an array, a number, a Tensor, or a
    tuple, list or dict of them) and `__len__()`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


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
        return tuple(Tensor(a[index], dtype=None) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def batch(self, rows: np.ndarray) -> tuple[Tensor, ...]:
        """Samples `rows` at once: one gather per tensor instead of one per sample."""
        return tuple(Tensor(a[rows], dtype=None) for a in self.arrays)


def is_dataset(value: Any) -> bool:
    """A map-style dataset (not an array or a Tensor): it has __getitem__ and __len__."""
    return (not isinstance(value, (np.ndarray, Tensor, list, tuple)) and hasattr(value, "__len__")
            and hasattr(value, "__getitem__"))


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
    if isinstance(first, (bool, np.bool_)):
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
