"""Copies: clone (a differentiable copy), cast to a dtype, and copy_into for in-place updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import array_of
from ._flops import no_flops
from ._math import math_of
from .index_rules import index_problem, plain_index, put, take
from .movement import GetItem
from .promotion import Cast, DtypeError, promote, result_type


class Clone(Function):
    """out = a copy of x;  grad_x = g.
    Shapes: out, g and grad_x all have x's shape."""
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


class CopyInto(Function):
    """out = src broadcast to x's shape in x's dtype (what x.copy_(src) writes);  grad_x = 0,
    grad_src = g (the engine sums it over broadcast axes and casts it to src's dtype).
    Shapes: out and grad_x have x's shape; src broadcasts to it."""
    rule = "grad_x = 0, grad_src = g"
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, src: np.ndarray) -> np.ndarray:
        return np.broadcast_to(src, x.shape).astype(x.dtype)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        grad_x = math_of(grad_out).zeros_like(grad_out) if ctx.needs_input_grad[0] else None
        return grad_x, grad_out


class SetItem(Function):
    """out = x with out[index] = src (what x[index] = src writes);  grad_x = g with g[index]
    zeroed, grad_src = g[index]. Shapes: out and grad_x have x's shape; src broadcasts to
    x[index]."""
    rule = "grad_x = g with g[index] zeroed, grad_src = g[index]"
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, src: np.ndarray, index: Any = ()) -> np.ndarray:
        ctx.index = index
        out = x.copy()
        put(out, index, src)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):  # create_graph: the same two steps as ops of the graph
            need_x = ctx.needs_input_grad[0]
            zeroed = SetItem.apply(grad_out, 0, index=ctx.index) if need_x else None
            return zeroed, GetItem.apply(grad_out, index=ctx.index)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_out.copy()
            put(grad_x, ctx.index, 0)
        return grad_x, take(grad_out, ctx.index)


def clone(x: Any) -> Any:
    return Clone.apply(x)


def cast(x: Any, dtype: Any) -> Any:
    """x in `dtype` (Tensor.to): x itself when it has it already, as PyTorch."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"to: {dtype!r} is not a dtype (try np.float32)") from None
    if dtype.kind not in "biuf":
        raise DtypeError(f"to: a Tensor holds bool, integer or float numbers, not {dtype}")
    if x.dtype == dtype:
        return x
    # to an int or bool dtype the graph ends (as PyTorch): such tensors never require grad
    return Cast.apply(x if dtype.kind == "f" else x.detach(), dtype=dtype)


def copy_into(x: Any, src: Any) -> Any:
    """The value x.copy_(src) writes: src broadcast to x's shape, cast to x's dtype (any cast,
    as PyTorch's copy_)."""
    if not isinstance(src, Node):
        result_type("copy_", src)  # a clear TypeError for strings, None, ...
        src = promote("copy_", x.dtype, src, like=x)[0]
    try:
        if np.broadcast_shapes(src.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"copy_: the source of shape {src.shape} does not broadcast to the "
                         f"destination's shape {x.shape}") from None
    return CopyInto.apply(x, src)


def setitem(x: Any, index: Any, value: Any) -> Any:
    """x with x[index] = value, as a new Tensor in the graph (Tensor.__setitem__ writes it)."""
    index = plain_index(index)
    target = setitem_data(x.data.copy(), index, value)  # checks index and shapes
    src = value if isinstance(value, Node) else take(target, index)
    return SetItem.apply(x, src, index=index)


def setitem_data(data: np.ndarray, index: Any, value: Any) -> np.ndarray:
    """data[index] = value on the array itself, with errors in our words; returns data."""
    index = plain_index(index)
    if not isinstance(value, Node):
        result_type("setitem", value)  # a clear TypeError for strings, None, ...
    source = array_of(value)
    try:
        part_shape = np.shape(take(data, index))
    except (IndexError, TypeError) as err:
        raise IndexError(f"setitem: {index_problem(index) or err} (tensor shape "
                         f"{data.shape})") from None
    try:
        if np.broadcast_shapes(np.shape(source), part_shape) != part_shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"setitem: a value of shape {np.shape(source)} does not fit the indexed "
                         f"part of shape {part_shape} (tensor shape {data.shape})") from None
    if not data.flags.writeable:
        raise RuntimeError("setitem: this tensor's array is read-only (an expand() view); "
                           "clone() it first")
    put(data, index, source)
    return data
