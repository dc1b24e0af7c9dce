"""Between NumPy/Python and Tensors: what Tensor() accepts, and NumPy calls on Tensors
(operators run as our ops, in the graph; other ufuncs and functions see the data)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .engine import Node

_NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: what a Tensor may hold
# ufuncs that ndarray's operators call (ndarray + Tensor runs np.add): they stay Tensor ops
_OPERATORS = {
    np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
    np.power: ops.pow, np.matmul: ops.matmul, np.maximum: ops.maximum, np.minimum: ops.minimum,
    np.less: ops.lt, np.less_equal: ops.le, np.greater: ops.gt, np.greater_equal: ops.ge,
    np.equal: ops.eq, np.not_equal: ops.ne,
}


def ufunc(t: Node, fn: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """What `fn(*inputs)` gives when an input is a Tensor: our op for the operators above, else
    NumPy's result on the data (an ndarray); PyTorch's numpy() error if a Tensor requires grad."""
    op = _OPERATORS.get(fn)
    if op is not None and method == "__call__" and not kwargs:
        return op(*inputs)
    if any(isinstance(x, Node) for x in kwargs.get("out", ())):
        raise TypeError(f"np.{fn.__name__}(..., out=Tensor) is not supported; compute into an "
                        "array and use tensor.copy_(array)")
    return getattr(fn, method)(*_arrays(inputs), **kwargs)


def function(func: Any, args: tuple, kwargs: dict) -> Any:
    """A NumPy function (np.sum, np.concatenate) on the data of every Tensor in its arguments."""
    return func(*_arrays(args), **{key: _arrays(value) for key, value in kwargs.items()})


def _arrays(value: Any) -> Any:
    """Tensors (also inside lists and tuples) as their arrays, through __array__'s check."""
    if isinstance(value, Node):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_arrays(v) for v in value)
    return value


def as_array(data: Any, dtype: Any, what: str = "Tensor()") -> np.ndarray:
    """`data` as a numeric ndarray; a TypeError showing what was given otherwise (None, strings,
    dicts, ragged lists and object arrays are not tensors, as in PyTorch). Python numbers that
    an integer `dtype` cannot hold (300 in int8, NaN) raise as torch.tensor does."""
    if isinstance(dtype, str):  # np.dtype would take "float32"; torch.dtype arguments are not str
        raise _string_dtype(dtype, what)
    if type(data) is np.ndarray and data.dtype.kind in _NUMERIC_KINDS and (
            dtype is None or data.dtype == dtype):
        return data  # the common case: used as is
    if dtype is not None:
        dtype = _dtype(dtype)
    if isinstance(data, Node):
        return np.array(data.data, dtype=dtype)  # torch.tensor(t) copies too
    try:
        array = np.asarray(data)
    except ValueError:  # NumPy's words for a ragged list
        raise TypeError(f"{what} needs a rectangular nested list of numbers; got "
                        f"{_shown(data)} (rows of different lengths)") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{what} needs numbers (a number, a nested list of numbers or a "
                        f"numeric array); got {_shown(data)} ({type(data).__name__})")
    if dtype is not None and dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        _check_fits(array, dtype)
    return array if dtype is None else array.astype(dtype, copy=False)


def as_dtype(dtype: Any, what: str = "Tensor()") -> np.dtype:
    """A dtype argument as a NumPy dtype: strings and non-numeric kinds refused (TypeError)."""
    if isinstance(dtype, str):
        raise _string_dtype(dtype, what)
    return _dtype(dtype)


def _string_dtype(dtype: str, what: str) -> TypeError:
    return TypeError(f"{what}: argument 'dtype' must be a dtype (tg.float32, np.float32), not "
                     f"str {dtype!r}")


def _check_fits(array: np.ndarray, dtype: np.dtype) -> None:
    """Python numbers going into an integer dtype: each must be finite and in its range (NumPy
    would wrap 300 to 44 in int8 and make NaN the int64 minimum)."""
    if not array.size or array.dtype.kind == "b":
        return
    info = np.iinfo(dtype)
    values = array.astype(np.float64) if array.dtype.kind == "f" else array
    if not (np.all(np.isfinite(values)) and values.min() >= info.min and values.max() <= info.max):
        raise RuntimeError(f"value cannot be converted to type {dtype} without overflow")


def _dtype(dtype: Any) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"Tensor(): {dtype!r} is not a dtype (try np.float32)") from None
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"Tensor(): dtype {dtype} is not supported; a Tensor holds bool, "
                        "integer or float numbers")
    return dtype


def _shown(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
