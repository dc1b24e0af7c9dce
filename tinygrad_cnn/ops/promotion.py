"""PyTorch's type promotion for ops of several inputs, and the dtype check of ops that refuse
mixed dtypes. docs/type_promotion.md has the table these functions implement."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import dtype_of
from ._flops import no_flops

CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < floating, as PyTorch
DEFAULT = (np.dtype(np.bool_), np.dtype(np.int64), np.dtype(np.float32))  # per category


class DtypeError(TypeError, RuntimeError):
    """A dtype an op cannot take. PyTorch raises RuntimeError here; a TypeError is what it is,
    so both `except` clauses catch it."""


def result_type(op: str, *operands: Any) -> np.dtype:
    """The dtype PyTorch gives `op(*operands)`. Tensors with dims rank first, then 0-d Tensors,
    then numbers and NumPy values: a later rank decides only when its category (bool < int <
    float) is higher, and numbers then give that category's default dtype (float32, int64)."""
    best: list[np.dtype | None] = [None, None, None]
    for x in operands:
        dtype, rank = _dtype_and_rank(op, x)
        best[rank] = dtype if best[rank] is None else promote_types(best[rank], dtype)
    result = None
    for rank, dtype in enumerate(best):
        if dtype is None:
            continue
        if result is None:
            result = dtype
        elif CATEGORY[dtype.kind] > CATEGORY[result.kind]:
            result = dtype if rank == 1 else DEFAULT[CATEGORY[dtype.kind]]
    return result


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promote_types: the higher category wins (int32 with float32 is float32, where
    NumPy says float64); within a category, NumPy's rule (uint8 with int8 is int16)."""
    category_a, category_b = CATEGORY[a.kind], CATEGORY[b.kind]
    if category_a != category_b:
        return a if category_a > category_b else b
    return np.promote_types(a, b)


def _dtype_and_rank(op: str, x: Any) -> tuple[np.dtype, int]:
    if isinstance(x, Node):
        return x.data.dtype, 0 if x.data.ndim else 1
    if isinstance(x, bool):  # before int: bool is an int in Python
        return DEFAULT[0], 2
    if isinstance(x, int):
        return DEFAULT[1], 2
    if isinstance(x, float):
        return DEFAULT[2], 2
    dtype = _array_dtype(op, x) if isinstance(x, (np.ndarray, np.generic, list, tuple)) else None
    if dtype is None or dtype.kind not in CATEGORY:
        raise TypeError(f"{op}: unsupported operand {_shown(x)} of type {type(x).__name__}; "
                        "expected a Tensor, a number or a numeric array")
    # a float NumPy value adopts a float Tensor's precision (x @ float64_array stays float32)
    return (DEFAULT[2] if dtype.kind == "f" else dtype), 2


def _array_dtype(op: str, x: Any) -> np.dtype:
    try:
        return np.asarray(x).dtype
    except ValueError:  # NumPy's words for a ragged list
        raise TypeError(f"{op}: a list operand must be rectangular, got {_shown(x)}") from None


def promote(op: str, dtype: np.dtype, *operands: Any, like: Any = None) -> list[Any]:
    """Each operand as a Tensor of `dtype`: a Tensor of another dtype goes through Cast (so its
    gradient flows back in its own dtype); numbers and arrays become constants (Tensors of the
    same kind as the first Tensor operand, or as `like` when there is none)."""
    ref = next((x for x in (*operands, like) if isinstance(x, Node)), None)
    if ref is None:
        raise TypeError(f"{op}: expected a Tensor among the operands, got "
                        f"{', '.join(type(x).__name__ for x in operands)}")
    out = []
    for x in operands:
        if isinstance(x, Node):
            out.append(x if x.data.dtype == dtype else Cast.apply(x, dtype=dtype))
        else:
            out.append(ref._from_op(_constant(x, dtype), None))
    return out


def _constant(value: Any, dtype: np.dtype) -> np.ndarray:
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError:  # a Python int outside an int8 tensor's range wraps, as in PyTorch
        return np.asarray(value).astype(dtype)


def same_dtype(op: str, **inputs: Any) -> None:
    """Refuse mixed dtypes (PyTorch's conv2d, linear, matmul and losses do) with a message
    naming each input and its dtype; numbers and float arrays adopt the Tensors' float dtype."""
    found = {name: dtype_of(x) for name, x in inputs.items()
             if isinstance(x, Node) or _fixed_dtype(x)}
    if len(set(found.values())) > 1:
        named = ", ".join(f"{name} {dtype}" for name, dtype in found.items())
        raise DtypeError(f"{op}: expected all inputs to have the same dtype, got {named}; "
                         "cast one with .to(dtype)")


def _fixed_dtype(x: Any) -> bool:
    """A non-Tensor input that keeps its own dtype (an int or bool array; floats adopt)."""
    return isinstance(x, np.ndarray) and x.dtype.kind != "f"


def _shown(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


class Cast(Function):
    """out = x converted to `dtype`;  grad_x = g (the engine casts it back to x's dtype).
    Shapes: out, g and grad_x all have x's shape."""
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dtype: Any = None) -> np.ndarray:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out
