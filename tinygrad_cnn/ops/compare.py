"""Comparisons, maximum, minimum and clip, with PyTorch's type promotion and NumPy broadcasting."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import array_of
from ._flops import per_element
from .promotion import DtypeError, promote, result_type


class Maximum(Function):
    """out = max(x, y);  grad_x = g * ([x > y] + [x == y] / 2), grad_y = g - grad_x: ties split
    the gradient evenly, as PyTorch.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = ("grad_x = g * ([x > y] + [x == y] / 2), grad_y = g - grad_x: ties split the gradient "
            "evenly, as PyTorch")
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        tie = grad_out * (x == y) * 0.5  # bool masks and a Python float keep g's dtype
        return grad_out * (x > y) + tie, grad_out * (x < y) + tie


class Minimum(Function):
    """out = min(x, y);  grad_x = g * ([x < y] + [x == y] / 2), grad_y = g - grad_x: ties split
    the gradient evenly, as PyTorch.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = ("grad_x = g * ([x < y] + [x == y] / 2), grad_y = g - grad_x: ties split the gradient "
            "evenly, as PyTorch")
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        tie = grad_out * (x == y) * 0.5
        return grad_out * (x < y) + tie, grad_out * (x > y) + tie


class Compare(Function):
    """out = x <op> y as a bool array; no gradient (the output never requires grad).
    Shapes: x and y broadcast to out."""

    differentiable = False
    ufuncs = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
              "eq": np.equal, "ne": np.not_equal}

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray, op: str = "eq") -> np.ndarray:
        ctx.op = op
        return Compare.ufuncs[op](x, y)


class Clip(Function):
    """out = min(max(x, low), high);  grad_x = g where low <= x <= high, else 0 (1 at the
    boundary, as PyTorch). Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g where low <= x <= high, else 0 (1 at the boundary, as PyTorch)"
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, low: Any = None, high: Any = None) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x = array_of(ctx.saved_tensors[0])  # the mask is a constant, also under create_graph
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad_out * inside


class Bitwise(Function):
    """out = x <op> y bitwise (logical for bools: &, |, ^, and ~ of x alone); no gradient.
    Shapes: x and y broadcast to out."""

    differentiable = False
    ufuncs = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: Any = None, op: str = "and") -> np.ndarray:
        return np.invert(x) if op == "not" else Bitwise.ufuncs[op](x, y)


def _bitwise(op: str, x: Any, y: Any = None) -> Any:
    """Bool and integer tensors only, as PyTorch's bitwise ops."""
    name = f"bitwise_{op}"
    operands = [x] if y is None else [x, y]
    dtype = result_type(name, *operands)
    if dtype.kind == "f":
        raise DtypeError(f"{name}: only bool and integer tensors, got {dtype} (for a mask, "
                         "compare first: (x > 0) & (y > 0))")
    operands = promote(name, dtype, *operands)
    if y is None:
        return Bitwise.apply(operands[0], op=op)
    return _apply(Bitwise, name, *operands, op=op)


def bitwise_and(x: Any, y: Any) -> Any:
    return _bitwise("and", x, y)


def bitwise_or(x: Any, y: Any) -> Any:
    return _bitwise("or", x, y)


def bitwise_xor(x: Any, y: Any) -> Any:
    return _bitwise("xor", x, y)


def bitwise_not(x: Any) -> Any:
    return _bitwise("not", x)


def _apply(fn: type[Function], name: str, x: Any, y: Any, **params: Any) -> Any:
    """Both inputs in their promoted dtype; a shape mismatch names the op and both shapes."""
    if not (type(x) is type(y) and isinstance(x, Node) and x.data.dtype == y.data.dtype):
        x, y = promote(name, result_type(name, x, y), x, y)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast shapes {x.shape} and {y.shape}") from None
    return fn.apply(x, y, **params)


def maximum(x: Any, y: Any) -> Any:
    return _apply(Maximum, "maximum", x, y)


def minimum(x: Any, y: Any) -> Any:
    return _apply(Minimum, "minimum", x, y)


def lt(x: Any, y: Any) -> Any:
    return _apply(Compare, "lt", x, y, op="lt")


def le(x: Any, y: Any) -> Any:
    return _apply(Compare, "le", x, y, op="le")


def gt(x: Any, y: Any) -> Any:
    return _apply(Compare, "gt", x, y, op="gt")


def ge(x: Any, y: Any) -> Any:
    return _apply(Compare, "ge", x, y, op="ge")


def eq(x: Any, y: Any) -> Any:
    if x is None or y is None:  # `t == None` is False, as for any Python object
        return False
    return _apply(Compare, "eq", x, y, op="eq")


def ne(x: Any, y: Any) -> Any:
    if x is None or y is None:
        return True
    return _apply(Compare, "ne", x, y, op="ne")


def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names)
    """PyTorch's clamp: bounds are numbers or Tensors/arrays that broadcast against x; the
    result has the promoted dtype (an int tensor clipped at 0.5 is float32)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if getattr(min, "requires_grad", False) or getattr(max, "requires_grad", False):
        low = x if min is None else maximum(x, min)  # bounds that need a gradient: two ops
        return low if max is None else minimum(low, max)
    bounds = [b for b in (min, max) if b is not None]
    dtype = result_type("clip", x, *bounds)
    x = promote("clip", dtype, x)[0]
    low, high = (None if b is None else promote("clip", dtype, b, like=x)[0].data
                 for b in (min, max))
    try:
        np.broadcast_shapes(x.shape, *[np.shape(b) for b in (low, high) if b is not None])
    except ValueError:
        raise ValueError(f"clip: bounds of shapes {np.shape(low)} and {np.shape(high)} do not "
                         f"broadcast against the input's shape {x.shape}") from None
    return Clip.apply(x, low=low, high=high)
