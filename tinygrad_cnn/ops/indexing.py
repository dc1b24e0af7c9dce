"""Indexing by arrays and masks under PyTorch's names: gather, index_select, embedding,
masked_fill and where."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from . import movement
from ._args import array_of, normalize_axis, shape_of
from ._flops import no_flops
from ._math import math_of
from .promotion import DtypeError, promote, result_type


class Gather(Function):
    """out[i][j] = x[index[i][j]][j] for dim 0 (x[i][index[i][j]] for dim 1, and so on);
    grad_x = zeros with g added at the gathered places (repeated indices add up).
    Shapes: out has index's shape; grad_x has x's shape.
    """
    rule = "grad_x = zeros with g added at the gathered places (repeated indices add up)"
    flops = no_flops
    graph_backward = True  # its backward is the op ScatterAdd, whose backward is GetItem

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, index: Any = None, dim: int = 0) -> np.ndarray:
        # PyTorch treats a 0-d input or index as 1-d of size 1 here
        x1, index1 = np.atleast_1d(x), np.atleast_1d(index)
        ctx.shape, ctx.index, ctx.dim = x.shape, index1, dim
        # index may be shorter than x off dim: only that corner of x is read
        corner = tuple(slice(None) if d == dim else slice(n) for d, n in enumerate(index1.shape))
        return np.take_along_axis(x1[corner], index1, axis=dim).reshape(np.shape(index))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        index = ctx.index
        places = _places(index, ctx.dim)
        if isinstance(grad_out, Node):  # create_graph: the scatter as an op of the graph
            grad = movement.ScatterAdd.apply(grad_out.reshape(index.shape),
                                             shape=ctx.shape or (1,), index=places)
            return grad.reshape(ctx.shape)
        grad = np.zeros(ctx.shape or (1,), dtype=grad_out.dtype)
        np.add.at(grad, places, grad_out.reshape(index.shape))  # repeats add up
        return grad.reshape(ctx.shape)


class MaskedFill(Function):
    """out = value where mask, else x;  grad_x = g where not mask, grad_value = sum of g where mask.
    Shapes: mask broadcasts with x to out; value is 0-d; the engine reduces the grads.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, value: np.ndarray, mask: Any = None) -> np.ndarray:
        ctx.mask = mask
        return np.where(mask, value.astype(x.dtype), x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        need_x, need_value = ctx.needs_input_grad
        xp = math_of(grad_out)
        grad_x = xp.where(ctx.mask, 0, grad_out) if need_x else None
        return grad_x, xp.where(ctx.mask, grad_out, 0) if need_value else None


class Where(Function):
    """out = x where condition, else y;  grad_x = g where condition, grad_y = g elsewhere.
    Shapes: condition, x and y broadcast to out; the engine reduces the grads.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray, condition: Any = None):
        ctx.condition = condition
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        need_x, need_y = ctx.needs_input_grad
        xp = math_of(grad_out)
        grad_x = xp.where(ctx.condition, grad_out, 0) if need_x else None
        return grad_x, xp.where(ctx.condition, 0, grad_out) if need_y else None


def gather(x: Any, dim: int, index: Any) -> Any:
    """Pick values of x along dim at `index` (an int64 or int32 Tensor or array with x's number
    of dims, no longer than x off dim), as PyTorch's gather."""
    shape, index = shape_of(x), np.asarray(array_of(index))
    dim = normalize_axis(dim, shape, "gather")
    if index.dtype not in (np.int64, np.int32):
        raise DtypeError(f"gather(): Expected dtype int32/int64 for index, got {index.dtype}")
    if max(index.ndim, 1) != max(len(shape), 1):
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index shape {index.shape}, input shape {shape})")
    for d, (n, limit) in enumerate(zip(index.shape, shape)):
        if d != dim and n > limit:
            raise RuntimeError(f"gather(): Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self {list(shape)} "
                               f"apart from dimension {dim}")
    _in_bounds("gather", index, shape, dim)
    return Gather.apply(x, index=index, dim=dim)


def _in_bounds(op: str, index: np.ndarray, shape: tuple[int, ...], dim: int) -> None:
    """Every entry of gather's or scatter's index names a place along dim (PyTorch's error)."""
    size = shape[dim] if shape else 1
    bad = index[(index < 0) | (index >= size)]
    if bad.size:
        raise RuntimeError(f"{op}(): index {bad.flat[0]} is out of bounds for dimension {dim} "
                           f"with size {size}")


class Scatter(Function):
    """out = x with out[index[i][j]][j] = src[i][j] for dim 0 (out[i][index[i][j]] for dim 1,
    and so on); grad_x = g with 0 at the written places, grad_src = g read at them.
    Shapes: out and grad_x have x's shape; index's shape is the corner of src that is read."""
    rule = "grad_x = g with 0 at the written places, grad_src = g read at them"
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, src: np.ndarray, index: Any = None,
                dim: int = 0) -> np.ndarray:
        index = np.atleast_1d(index)
        ctx.index, ctx.dim = index, dim
        ctx.places, ctx.src_shape = _places(index, dim), src.shape
        out = np.atleast_1d(x).copy()
        out[ctx.places] = _corner(np.atleast_1d(src), index.shape)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):
            return _scatter_graph_backward(ctx, grad_out)
        grad = np.atleast_1d(grad_out)
        grad_x = grad.copy()
        grad_x[ctx.places] = 0
        written = grad[ctx.places]  # index's shape
        grad_src = np.zeros(ctx.src_shape or (1,), dtype=grad_out.dtype)
        grad_src[tuple(slice(0, n) for n in written.shape)] = written
        return grad_x.reshape(grad_out.shape), grad_src.reshape(ctx.src_shape)


def _scatter_graph_backward(ctx: Function, grad_out: Node) -> tuple:
    """Scatter's rule in ops (create_graph): grad_x is grad_out with zeros scattered in at the
    written places, grad_src grad_out gathered there (GetItem) and placed in src's corner
    (ScatterAdd, whose backward is the gather again)."""
    grad = grad_out.reshape(np.atleast_1d(grad_out.data).shape)
    written = movement.GetItem.apply(grad, index=ctx.places)  # index's shape
    zeros = np.zeros(written.shape, dtype=grad.data.dtype)
    grad_x = Scatter.apply(grad, zeros, index=ctx.index, dim=ctx.dim)
    corner = tuple(slice(0, n) for n in written.shape)
    grad_src = movement.ScatterAdd.apply(written, shape=ctx.src_shape or (1,), index=corner)
    return grad_x.reshape(grad_out.shape), grad_src.reshape(ctx.src_shape)


def _places(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """Fancy indices of the places index names along dim (every other axis counted)."""
    places = list(np.ix_(*[np.arange(n) for n in index.shape]))
    places[dim] = index
    return tuple(places)


def _corner(src: np.ndarray, shape: tuple) -> np.ndarray:
    """The leading `shape` block of src (PyTorch's scatter reads only that much)."""
    return src[tuple(slice(0, n) for n in shape)]


def scatter(x: Any, dim: int, index: Any, src: Any = None, value: Any = None) -> Any:
    """x with src's values (or the number `value`) written at `index` along dim, as PyTorch's
    scatter (index: int64, x's number of dims, a 0-d index for a 1-d x as one place)."""
    shape, index = shape_of(x), np.asarray(array_of(index))
    dim = normalize_axis(dim, shape, "scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter(): pass exactly one of src (a Tensor) and value (a number)")
    if index.dtype != np.int64:
        raise DtypeError(f"scatter(): Expected dtype int64 for index, got {index.dtype}")
    if max(index.ndim, 1) != max(len(shape), 1):
        raise RuntimeError(f"scatter(): Index tensor must have the same number of dimensions as "
                           f"self tensor (index shape {index.shape}, self shape {shape})")
    _scatter_sizes(index, shape, dim, src)
    _in_bounds("scatter", index, shape, dim)
    if src is None:
        src = np.full(np.atleast_1d(index).shape, value)
    dtype = result_type("scatter", x)
    x, src = promote("scatter", dtype, x, src)
    return Scatter.apply(x, src, index=index, dim=dim)


def _scatter_sizes(index: np.ndarray, shape: tuple[int, ...], dim: int, src: Any) -> None:
    """PyTorch's check: index no larger than self off dim, nor than a src tensor anywhere."""
    src_shape = shape_of(src) if isinstance(src, (Node, np.ndarray)) else None
    if src_shape is not None and max(len(src_shape), 1) != max(index.ndim, 1):
        raise RuntimeError(f"scatter(): Index tensor must have the same number of dimensions as "
                           f"src tensor (index shape {index.shape}, src shape {src_shape})")
    wrong = any(n > limit for d, (n, limit) in enumerate(zip(index.shape, shape)) if d != dim)
    if src_shape is not None:
        wrong = wrong or any(n > limit for n, limit in zip(index.shape, src_shape))
    if wrong:
        against_src = "" if src_shape is None else (
            f" and to be smaller size than src {list(src_shape)}")
        raise RuntimeError(f"scatter(): Expected index {list(index.shape)} to be smaller than self "
                           f"{list(shape)} apart from dimension {dim}{against_src}")


class Embedding(Function):
    """out = weight[index] (rows of weight, index of any shape);  grad_weight = g added up at
    each row's positions, 0 for padding_idx's row (repeated indices add, as PyTorch).
    Shapes: out is index.shape + (embedding_dim,); grad_weight has weight's shape."""
    rule = "grad_weight = g added up at each row's positions, 0 for padding_idx's row"
    flops = no_flops
    graph_backward = True  # its backward is the op ScatterAdd, whose backward is GetItem

    @staticmethod
    def forward(ctx: Function, weight: np.ndarray, index: Any = None,
                padding_idx: int | None = None) -> np.ndarray:
        ctx.shape, ctx.index, ctx.padding_idx = weight.shape, index, padding_idx
        return weight[index]

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):  # create_graph: the scatter as an op of the graph
            grad = movement.ScatterAdd.apply(grad_out, shape=ctx.shape, index=ctx.index)
            if ctx.padding_idx is None:
                return grad
            keep = np.ones((ctx.shape[0],) + (1,) * (len(ctx.shape) - 1), grad.dtype)
            keep[ctx.padding_idx] = 0
            return grad * keep
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        np.add.at(grad, ctx.index, grad_out)
        if ctx.padding_idx is not None:
            grad[ctx.padding_idx] = 0
        return grad


def embedding(index: Any, weight: Any, padding_idx: int | None = None) -> Any:
    """Rows of weight (num_embeddings, dim) at integer `index`, as torch.nn.functional.embedding."""
    index = np.asarray(array_of(index))
    if index.dtype.kind not in "iu":
        raise DtypeError(f"embedding: indices must be integers (int64 or int32), got "
                         f"{index.dtype}")
    rows = shape_of(weight)[0]
    bad = index[(index < 0) | (index >= rows)]
    if bad.size:
        raise IndexError(f"embedding: index {bad.flat[0]} is out of range for {rows} embeddings")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += rows
    return Embedding.apply(weight, index=index, padding_idx=padding_idx)


def index_select(x: Any, dim: int, index: Any) -> Any:
    """The entries of x at `index` (a 1-D int64 or int32 Tensor or array) along dim, as
    PyTorch's index_select; repeated indices add up their gradients."""
    shape, index = shape_of(x), np.asarray(array_of(index))
    if index.dtype not in (np.int64, np.int32):
        raise DtypeError(f"index_select(): Expected dtype int32 or int64 for index, got "
                         f"{index.dtype}")
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape "
                         f"{index.shape}")
    dim = normalize_axis(dim, shape, "index_select")
    size = shape[dim] if shape else 1
    bad = index[(index < 0) | (index >= size)]
    if bad.size:
        raise IndexError(f"index_select(): index {bad.flat[0]} is out of bounds for dimension "
                         f"{dim} with size {size}")
    if not shape:  # a 0-d tensor: its index 0 is itself, and the result stays 0-d
        return movement.reshape(movement.getitem(movement.reshape(x, (1,)), index.reshape(-1)),
                                ())
    return movement.getitem(x, (slice(None),) * dim + (index.reshape(-1),))


def masked_fill(x: Any, mask: Any, value: Any) -> Any:
    """x with `value` (a number or a 0-d Tensor, which gets a gradient) where the bool mask is
    True; mask broadcasts with x."""
    mask = np.asarray(array_of(mask))
    if mask.dtype != np.bool_:
        raise DtypeError(f"masked_fill: only boolean masks are supported, but got mask with "
                         f"dtype {mask.dtype} (compare first, e.g. mask != 0)")
    if np.ndim(array_of(value)) != 0:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                           f"tensor with {np.ndim(array_of(value))} dimension(s)")
    _broadcast("masked_fill", mask=mask, x=x)
    return MaskedFill.apply(x, value, mask=mask)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """x where the bool condition holds, else y; x and y are Tensors or numbers, promoted to
    PyTorch's result dtype, and broadcast with condition. `where(condition)` alone is PyTorch's
    nonzero(as_tuple=True): one int64 index tensor per dimension."""
    if x is None and y is None:
        return _nonzero(condition)
    if x is None or y is None:
        raise TypeError("where() takes both x and y, or neither (where(condition) gives the "
                        "indices where condition holds)")
    like, condition = condition, np.asarray(array_of(condition))
    if condition.dtype != np.bool_:
        raise DtypeError(f"where expected condition to be a boolean tensor, but got a tensor "
                         f"with dtype {condition.dtype} (compare first, e.g. condition != 0)")
    _broadcast("where", condition=condition, x=x, y=y)
    x, y = promote("where", result_type("where", x, y), x, y, like=like)
    return Where.apply(x, y, condition=condition)


def _nonzero(condition: Any) -> tuple:
    if not isinstance(condition, Node):
        raise TypeError(f"where(condition): condition must be a Tensor, got "
                        f"{type(condition).__name__}")
    return tuple(condition._from_op(index.astype(np.int64), None)
                 for index in np.nonzero(condition.data))


def _broadcast(op: str, **inputs: Any) -> None:
    """Refuse inputs whose shapes do not broadcast, naming each one and its shape."""
    shapes = {name: shape_of(v) for name, v in inputs.items()}
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        named = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{op}: cannot broadcast shapes: {named}") from None
