"""PyTorch's top-level constructors: `tg.tensor([1, 2])`, `tg.zeros(2, 3)`, `tg.randn(4, 10)`
(the dtype names, `tg.float32`, are in dtypes.py). They build on Tensor's own factories;
`tensor` infers the dtype as torch.tensor does (Python floats float32, ints int64, bools bool;
arrays keep theirs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import interop
from ..tensor import Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of `data` (torch.tensor)."""
    _on_cpu(device)
    if dtype is None:
        array = interop.as_array(data, None, "tensor")
        from_python = not isinstance(data, np.ndarray) and not hasattr(data, "_requires_grad")
        dtype = np.float32 if from_python and array.dtype.kind == "f" else array.dtype
    out = Tensor(data, requires_grad, dtype)
    if isinstance(data, np.ndarray) and np.shares_memory(out.data, data):
        out.data = out.data.copy()  # torch.tensor copies; Tensor(array) does not
    return out


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory and dtype (torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor(array, dtype=array.dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    return _sized(Tensor.zeros, size, dtype, requires_grad, device)


def ones(*size: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    return _sized(Tensor.ones, size, dtype, requires_grad, device)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: Any = False,
         device: Any = None) -> Tensor:
    _on_cpu(device)
    if dtype is None:  # torch.full infers from the value: ints int64, bools bool, floats float32
        kind = np.asarray(fill_value).dtype.kind
        dtype = {"i": np.int64, "b": np.bool_}.get(kind, np.float32)
    return Tensor.full(size, fill_value, requires_grad=requires_grad, dtype=dtype)


def rand(*size: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    return _sized(Tensor.rand, size, dtype, requires_grad, device)


def randn(*size: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    return _sized(Tensor.randn, size, dtype, requires_grad, device)


def eye(n: Any, m: Any = None, dtype: Any = None, requires_grad: Any = False,
        device: Any = None) -> Tensor:
    _on_cpu(device)
    return Tensor.eye(n, m, requires_grad=requires_grad,
                      dtype=np.float32 if dtype is None else dtype)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: Any = False, device: Any = None) -> Tensor:
    """torch.arange: int64 when start, end and step are all integers, else float32 (the rule
    is Tensor.arange's)."""
    _on_cpu(device)
    return Tensor.arange(start, end, step, requires_grad=requires_grad, dtype=dtype)


def zeros_like(input: Any, dtype: Any = None, requires_grad: Any = False) -> Tensor:  # noqa: A002
    out = Tensor.zeros_like(input)
    return (out if dtype is None else out.to(dtype)).requires_grad_(requires_grad)


def ones_like(input: Any, dtype: Any = None, requires_grad: Any = False) -> Tensor:  # noqa: A002
    out = Tensor.ones_like(input)
    return (out if dtype is None else out.to(dtype)).requires_grad_(requires_grad)


def _sized(make: Any, size: tuple, dtype: Any, requires_grad: Any, device: Any) -> Tensor:
    """A Tensor factory called as torch's: float32 unless a dtype is given, on the CPU only."""
    _on_cpu(device)
    return make(*size, requires_grad=requires_grad, dtype=np.float32 if dtype is None else dtype)


def _on_cpu(where: Any) -> None:
    if where is not None:
        from ..devices import device
        device(where)
