"""Argument helpers shared by ops and layers: the array behind an argument, axis arguments and
int-or-pair hyper-parameters."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

Axis = int | np.integer | tuple[int, ...] | None


def array_of(x: Any) -> Any:
    """The array behind an op argument: a Tensor's `.data`, anything else as given (an ndarray's
    and a NumPy scalar's own `.data` is a memoryview, so those are passed through first)."""
    return x if isinstance(x, (np.ndarray, np.generic)) else getattr(x, "data", x)


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a Tensor, array, scalar or nested list."""
    return np.shape(array_of(x))


def dtype_of(x: Any) -> np.dtype:
    """The dtype of a Tensor or array (NumPy's choice for a scalar or list)."""
    return np.asarray(array_of(x)).dtype


def normalize_axis(axis: Any, shape: tuple[int, ...], op: str, rank: int | None = None) -> int:
    """`axis` as a non-negative index into a tensor of `rank` dims (default len(shape)); raise
    IndexError like PyTorch's "Dimension out of range" naming the op, the axis and the shape.
    A 0-d tensor accepts 0 and -1 (as PyTorch), which come back as 0."""
    if not is_integer(axis):
        raise TypeError(f"{op}: an axis must be an int, got {axis!r}")
    bound = max(len(shape) if rank is None else rank, 1)
    if not -bound <= axis < bound:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-bound}, {bound - 1}], but got {axis}) for a tensor of shape {shape}")
    return int(axis) % bound


def normalize_axes(axis: Axis, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """An int, a tuple of ints or None (every axis) as a sorted tuple of distinct non-negative
    axes; () for a 0-d tensor, whose only valid axes are 0 and -1."""
    if axis is None:
        return tuple(range(len(shape)))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    found = [normalize_axis(a, shape, op) for a in axes]
    if len(set(found)) != len(found):
        raise ValueError(f"{op}: axis {axis} names a dimension more than once (shape {shape})")
    return tuple(sorted(found)) if shape else ()


def as_pair(value: Any, name: str, minimum: int | None = None) -> tuple[int, int]:
    """An int or a pair of ints (PyTorch's convention for stride, padding, kernel sizes), each at
    least `minimum` when given; `name` says whose argument it is in the error."""
    if type(value) is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int:
        if minimum is None or min(value) >= minimum:
            return value  # the common case (nn layers store pairs): no further checks needed
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if not isinstance(pair, (tuple, list)) or not all(is_integer(v) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if minimum is not None and min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


# NumPy's names for PyTorch's, both accepted: x.sum(axis=1, keepdims=True) is x.sum(dim=1,
# keepdim=True). PyTorch's are the parameters' names; NumPy's are aliases.
NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim"}


def numpy_names(fn: Callable) -> Callable:
    """Let `fn` (whose parameters are PyTorch's `dim` and `keepdim`) also take NumPy's `axis=`
    and `keepdims=`."""
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, name in NUMPY_NAMES.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {name}= and {alias}=")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return call


def as_count(value: Any, name: str) -> int:
    """A size such as in_features or num_features: an int >= 0 (zero is allowed, as PyTorch's
    layers allow it); `name` says whose argument it is in the error."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def as_flag(value: Any, name: str) -> bool:
    """A yes/no argument such as keepdims: a bool (NumPy's bool too), never a string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
