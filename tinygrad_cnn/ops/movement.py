"""Movement ops: reshape, permute, squeeze, expand, pad, concatenate, stack and indexing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import Axis, normalize_axes, normalize_axis, numpy_names, shape_of
from ._flops import no_flops
from ._math import math_of
from .index_rules import add_at, index_problem, plain_index, take
from .promotion import promote, result_type
from .shapes import expand_sizes, number, pad_widths, sizes


class Reshape(Function):
    """out = x viewed with a new shape;  grad_x = g reshaped back.
    Shapes: out has `shape` (same size as x); grad_x has x's shape.
    """
    flops = no_flops
    graph_backward = True

    is_view = True  # shares x's memory (and so its version counter) when NumPy can

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple = ()) -> np.ndarray:
        ctx.in_shape = x.shape
        return x.reshape(shape)  # reshape() checked the sizes

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(ctx.in_shape)


class Permute(Function):
    """out = x with axes reordered by dims;  grad_x = g with the inverse order.
    Shapes: out.shape[i] = x.shape[dims[i]]; grad_x has x's shape.
    """
    flops = no_flops
    graph_backward = True

    is_view = True  # shares x's memory (and so its version counter) when NumPy can

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dims: tuple = ()) -> np.ndarray:
        ctx.dims = dims  # non-negative, checked by permute()
        return x.transpose(dims)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return math_of(grad_out).transpose(grad_out, np.argsort(ctx.dims))


class Expand(Function):
    """out = x broadcast to shape (a view);  grad_x = g summed over the broadcast axes.
    Shapes: out has `shape`; the engine reduces g back to x's shape.
    """
    flops = no_flops
    graph_backward = True

    is_view = True  # shares x's memory (and so its version counter) when NumPy can

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple = ()) -> np.ndarray:
        offset = len(shape) - x.ndim
        if -1 in shape[:max(offset, 0)]:  # as PyTorch: a new leading dim has no size to keep
            raise ValueError(f"expand: size -1 is not allowed for a new leading dimension "
                             f"(expanding shape {x.shape} to {shape})")
        shape = tuple(x.shape[i - offset] if s == -1 else s for i, s in enumerate(shape))
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out  # the engine sums it back to the input's shape


class Pad(Function):
    """out = x with constant borders;  grad_x = g with the borders sliced away.
    Shapes: out.shape[i] = before_i + x.shape[i] + after_i; grad_x has x's shape.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, pad_width: tuple = (), value: float = 0.0):
        ctx.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, constant_values=value)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out[ctx.inner]


class Concatenate(Function):
    """out = the inputs joined along axis;  grad_i = the slice of g that input i filled.
    Shapes: inputs agree off axis; out.shape[axis] is the sum of theirs.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = axis
        ends = np.cumsum([x.shape[axis] for x in xs]).tolist()
        before = (slice(None),) * axis
        ctx.slices = tuple([before + (slice(start, end),) for start, end in
                            zip([0] + ends[:-1], ends)])
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return tuple([grad_out[index] for index in ctx.slices])  # views (np.split's slices)


class Stack(Function):
    """out = the inputs stacked along a new axis;  grad_i = g indexed at i on that axis.
    Shapes: n inputs of one shape S; out is S with n inserted at axis.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.stack(xs, axis=axis)
        ctx.axis = axis % out.ndim
        before = (slice(None),) * ctx.axis
        ctx.slices = tuple([before + (i,) for i in range(len(xs))])
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return tuple([grad_out[index] for index in ctx.slices])


class GetItem(Function):
    """out = x[index] (slices, None, Ellipsis, integer arrays, bool masks);  grad_x = zeros with g
    scattered back, adding where an integer index repeats.
    Shapes: out is NumPy's x[index]; grad_x has x's shape."""
    rule = "grad_x = zeros with g scattered back, adding where an integer index repeats"
    flops = no_flops
    graph_backward = True  # its backward is the op ScatterAdd, whose backward is GetItem

    is_view = True  # shares x's memory (and so its version counter) when NumPy can

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, index: Any = ()) -> np.ndarray:
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        try:
            return np.asarray(take(x, index))
        except IndexError as err:
            raise IndexError(f"getitem: {index_problem(index) or err} (tensor shape "
                             f"{x.shape})") from None

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):  # create_graph: the scatter as an op of the graph
            return ScatterAdd.apply(grad_out, shape=ctx.shape, index=ctx.index)
        return scatter_add(grad_out, ctx.shape, ctx.dtype, ctx.index)


class ScatterAdd(Function):
    """out = zeros(shape) with x added at index (repeated indices add up), GetItem's backward
    as an op;  grad_x = g[index].
    Shapes: x is NumPy's zeros(shape)[index] shape; out has `shape`."""
    rule = "grad_x = g[index]"
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, shape: tuple = (), index: Any = ()) -> np.ndarray:
        ctx.index = index
        return scatter_add(x, shape, x.dtype, index)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):
            return GetItem.apply(grad_out, index=ctx.index)
        return np.asarray(take(grad_out, ctx.index))


def scatter_add(values: np.ndarray, shape: tuple, dtype: Any, index: Any) -> np.ndarray:
    """zeros(shape) with `values` added at `index`, unbuffered: repeated indices add up."""
    grad = np.zeros(shape, dtype=dtype)
    add_at(grad, index, values)
    return grad


def reshape(x: Any, shape: Sequence[int] | int) -> Any:
    dims, old = sizes(shape, "reshape", unknown=True), np.shape(x.data)
    known, size = int(np.prod([d for d in dims if d != -1])), int(np.prod(old))
    if (size != known) if -1 not in dims else (known == 0 or size % known):
        raise ValueError(f"reshape: cannot view shape {old} (size {size}) as {dims}")
    return Reshape.apply(x, shape=dims)


def permute(x: Any, dims: Sequence[int]) -> Any:
    shape = x.shape
    axes = tuple([normalize_axis(d, shape, "permute") for d in dims])
    if sorted(axes) != list(range(len(shape))):
        raise ValueError(f"permute: {tuple(dims)} is not a permutation of the axes of shape "
                         f"{shape}")
    return Permute.apply(x, dims=axes)


def transpose(x: Any, dim0: int = -2, dim1: int = -1) -> Any:
    shape = x.shape
    op = f"transpose(dim0={dim0}, dim1={dim1})"
    a, b = normalize_axis(dim0, shape, op), normalize_axis(dim1, shape, op)
    dims = list(range(len(shape)))  # [] for a 0-d tensor, whose dims 0 / -1 swap with themselves
    if dims:
        dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, dims=tuple(dims))


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    shape = x.shape
    start = normalize_axis(start_dim, shape, "flatten")
    end = normalize_axis(end_dim, shape, "flatten")
    if not shape:
        return Reshape.apply(x, shape=(1,))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"(shape {shape})")
    return Reshape.apply(x, shape=shape[:start] + (-1,) + shape[end + 1 :])


@numpy_names
def squeeze(x: Any, dim: Axis = None) -> Any:
    shape = x.shape
    axes = [i for i, s in enumerate(shape) if s == 1] if dim is None else [
        a for a in normalize_axes(dim, shape, "squeeze") if shape[a] == 1]  # a non-1 dim: no-op
    return Reshape.apply(x, shape=tuple(s for i, s in enumerate(shape) if i not in axes))


@numpy_names
def unsqueeze(x: Any, dim: int) -> Any:
    shape = x.shape
    dim = normalize_axis(dim, shape, "unsqueeze", rank=len(shape) + 1)
    return Reshape.apply(x, shape=shape[:dim] + (1,) + shape[dim:])


def expand(x: Any, shape: Sequence[int]) -> Any:
    return Expand.apply(x, shape=expand_sizes(shape))


def pad(x: Any, pad: Any, value: float = 0.0) -> Any:
    """Constant padding. A flat tuple of ints is PyTorch's F.pad: (left, right) for the last
    dim, then (top, bottom) for the one before, and so on; an int pads every side of every dim;
    a tuple of (before, after) pairs, one per dim, is NumPy's pad_width."""
    shape = np.shape(x.data)
    widths = pad_widths(pad, shape)
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: widths must be >= 0, got {pad!r} (negative padding crops in "
                         "PyTorch; slice the tensor instead)")
    return Pad.apply(x, pad_width=widths, value=number(value, "pad"))


@numpy_names
def concatenate(tensors: Sequence[Any], dim: int = 0) -> Any:
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    shapes = [shape_of(t) for t in tensors]
    if not shapes[0]:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    dim = normalize_axis(dim, shapes[0], "concatenate")
    off_axis = {s[:dim] + s[dim + 1 :] for s in shapes}
    if any(len(s) != len(shapes[0]) for s in shapes) or len(off_axis) > 1:
        raise ValueError(f"concatenate: shapes {shapes} differ off dim {dim}")
    # PyTorch promotes across the inputs (int64 with float32 is float32, where NumPy says
    # float64); each input is cast in the graph, so its gradient comes back in its own dtype
    tensors = promote("cat", result_type("cat", *tensors), *tensors)
    return Concatenate.apply(*tensors, axis=dim)


@numpy_names
def stack(tensors: Sequence[Any], dim: int = 0) -> Any:
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = [shape_of(t) for t in tensors]
    dim = normalize_axis(dim, shapes[0], "stack", rank=len(shapes[0]) + 1)
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all shapes must be equal, got {shapes}")
    tensors = promote("stack", result_type("stack", *tensors), *tensors)  # as cat
    return Stack.apply(*tensors, axis=dim)


def getitem(x: Any, index: Any) -> Any:
    return GetItem.apply(x, index=plain_index(index))
