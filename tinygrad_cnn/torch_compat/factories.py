"""PyTorch's top-level constructors: `tg.tensor([1, 2])`, `tg.zeros(2, 3)`, `tg.randn(4, 10)`
(the dtype names, `tg.float32`, are in dtypes.py). They build on Tensor's own factories;
`tensor` infers the dtype as torch.tensor does (Python floats float32, ints int64, bools bool;
arrays keep theirs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import devices, interop, rng
from ..ops.shapes import number
from ..tensor import Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of `data` (torch.tensor)."""
    _on_cpu(device)
    if dtype is None:
        array = interop.as_array(data, None, "tensor")
        # NumPy arrays and scalars keep their dtype (np.float64(1.5) is float64, as in PyTorch)
        from_python = not isinstance(data, (np.ndarray, np.generic)) and not hasattr(
            data, "_requires_grad")
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


def randint(*args: Any, size: Any = None, dtype: Any = None, requires_grad: Any = False,
            device: Any = None, generator: Any = None) -> Tensor:
    """torch.randint(high, size) or randint(low, high, size): integers in [low, high), int64
    unless `dtype` is given, from the generator `manual_seed` seeds (or `generator`, a NumPy
    Generator)."""
    _on_cpu(device)
    if size is None:
        if len(args) not in (2, 3):
            raise TypeError("randint: expected (high, size) or (low, high, size)")
        *bounds, size = args
    else:
        bounds = list(args)
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    draw = (generator or rng.generator()).integers(low, high, size=tuple(size))
    return Tensor(draw.astype(np.int64 if dtype is None else dtype), requires_grad, dtype=None)


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


def empty(*size: Any, dtype: Any = None, requires_grad: Any = False, device: Any = None) -> Tensor:
    """torch.empty: PyTorch leaves the memory uninitialised; here it is zeros (as cheap)."""
    return _sized(Tensor.zeros, size, dtype, requires_grad, device)


def linspace(start: Any, end: Any, steps: int, dtype: Any = None, requires_grad: Any = False,
             device: Any = None) -> Tensor:
    """`steps` points from start to end, PyTorch's way: step = (end - start) / (steps - 1) in
    the output's float dtype (float64 for integer dtypes, then truncated), the first half
    counted up from start and the second half down from end, so both ends are exact."""
    _on_cpu(device)
    return Tensor(_linspace(start, end, steps, dtype), requires_grad, dtype=None)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, dtype: Any = None,
             requires_grad: Any = False, device: Any = None) -> Tensor:
    """base ** linspace(start, end, steps), computed in float64 and cast to the dtype."""
    _on_cpu(device)
    exponents = _linspace(start, end, steps, np.float64)
    out = np.power(np.float64(base), exponents).astype(_float_or(dtype))
    return Tensor(out, requires_grad, dtype=None)


def _linspace(start: Any, end: Any, steps: int, dtype: Any) -> np.ndarray:
    if int(steps) != steps or steps < 0:
        raise ValueError(f"linspace: number of steps must be a non-negative int, got {steps}")
    out_dtype = _float_or(dtype)
    work = out_dtype if out_dtype.kind == "f" else np.dtype(np.float64)
    first, last = work.type(number(start, "start")), work.type(number(end, "end"))
    if steps == 1:
        return np.array([first], out_dtype)
    step = (last - first) / work.type(steps - 1)
    # start + step * i rounded once (as PyTorch's fused multiply-add): in float64
    i = np.arange(steps, dtype=np.float64)
    up = np.float64(first) + np.float64(step) * i
    down = np.float64(last) - np.float64(step) * (steps - 1 - i)
    return np.where(i < steps // 2, up, down).astype(out_dtype)


def _float_or(dtype: Any) -> np.dtype:
    return np.dtype(np.float32 if dtype is None else np.dtype(dtype))


def zeros_like(input: Any, dtype: Any = None, requires_grad: Any = False,  # noqa: A002
               device: Any = None) -> Tensor:
    return _like(input, 0, dtype, requires_grad, device)


def ones_like(input: Any, dtype: Any = None, requires_grad: Any = False,  # noqa: A002
              device: Any = None) -> Tensor:
    return _like(input, 1, dtype, requires_grad, device)


def empty_like(input: Any, dtype: Any = None, requires_grad: Any = False,  # noqa: A002
               device: Any = None) -> Tensor:
    """torch.empty_like: zeros here (PyTorch leaves the memory uninitialised)."""
    return _like(input, 0, dtype, requires_grad, device)


def full_like(input: Any, fill_value: Any, dtype: Any = None,  # noqa: A002
              requires_grad: Any = False, device: Any = None) -> Tensor:
    return _like(input, fill_value, dtype, requires_grad, device)


def rand_like(input: Any, dtype: Any = None, requires_grad: Any = False,  # noqa: A002
              device: Any = None) -> Tensor:
    """Uniform [0, 1) samples of input's shape and dtype (a float dtype), from the generator
    `manual_seed` seeds."""
    return _random_like(Tensor.rand, input, dtype, requires_grad, device, "rand_like")


def randn_like(input: Any, dtype: Any = None, requires_grad: Any = False,  # noqa: A002
               device: Any = None) -> Tensor:
    return _random_like(Tensor.randn, input, dtype, requires_grad, device, "randn_like")


def _like(input: Any, value: Any, dtype: Any, requires_grad: Any,  # noqa: A002
          device: Any) -> Tensor:
    """A tensor of input's shape filled with `value`, in input's dtype unless one is given."""
    _on_cpu(device)
    like = input if isinstance(input, Tensor) else Tensor(input, dtype=None)
    dtype = like.dtype if dtype is None else np.dtype(dtype)
    return Tensor.full(like.shape, value, requires_grad=requires_grad, dtype=dtype)


def _random_like(make: Any, input: Any, dtype: Any, requires_grad: Any, device: Any,  # noqa: A002
                 who: str) -> Tensor:
    _on_cpu(device)
    like = input if isinstance(input, Tensor) else Tensor(input, dtype=None)
    dtype = like.dtype if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{who}: random floats need a float dtype, the input is {dtype}; pass "
                        "dtype=torch.float (PyTorch refuses this too)")
    return make(*like.shape, requires_grad=requires_grad, dtype=dtype)


def _sized(make: Any, size: tuple, dtype: Any, requires_grad: Any, device: Any) -> Tensor:
    """A Tensor factory called as torch's: float32 unless a dtype is given, on the CPU only."""
    _on_cpu(device)
    return make(*size, requires_grad=requires_grad, dtype=np.float32 if dtype is None else dtype)


def _on_cpu(where: Any) -> None:
    devices.check(where)
