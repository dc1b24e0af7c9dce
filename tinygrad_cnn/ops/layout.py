"""Layout ops under PyTorch's names: flip, repeat, t, cat, and split/chunk into narrow views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import is_integer, normalize_axes, normalize_axis, shape_of
from ._flops import no_flops
from ._math import math_of
from .movement import Pad, Permute, concatenate


class Flip(Function):
    """out = x reversed along dims (a copy, as PyTorch);  grad_x = g reversed along dims.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dims: tuple = ()) -> np.ndarray:
        ctx.dims = dims
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return math_of(grad_out).flip(grad_out, ctx.dims)


class Repeat(Function):
    """out = x tiled sizes[i] times along dim i (np.tile; extra sizes add leading dims);
    grad_x = g summed over the copies. Shapes: out.shape[i] = sizes[i] * x.shape (padded with
    leading 1s to len(sizes))[i]; grad_x has x's shape.
    """
    rule = "grad_x = g summed over the copies"
    flops = no_flops
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, sizes: tuple = ()) -> np.ndarray:
        ctx.shape, ctx.sizes = x.shape, sizes
        return np.tile(x, sizes)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        padded = (1,) * (len(ctx.sizes) - len(ctx.shape)) + ctx.shape
        # out's dim i holds sizes[i] copies of length padded[i]: split it into (copy, position)
        pairs = tuple([n for pair in zip(ctx.sizes, padded) for n in pair])
        copies = tuple(range(0, len(pairs), 2))
        return grad_out.reshape(pairs).sum(axis=copies).reshape(ctx.shape)


class Narrow(Function):
    """out = x[start : start + length] along dim (a view);  grad_x = zeros with g in that slice.
    Shapes: out is x's shape with `length` at dim; grad_x has x's shape.
    """
    flops = no_flops
    graph_backward = True

    is_view = True  # shares x's memory (and so its version counter), as PyTorch's split

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dim: int = 0, start: int = 0, length: int = 0):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.index = (slice(None),) * dim + (slice(start, start + length),)
        return x[ctx.index]

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):  # create_graph: zero borders as the op Pad
            widths = [(0, 0)] * len(ctx.shape)
            place = ctx.index[ctx.dim]
            widths[ctx.dim] = (place.start, ctx.shape[ctx.dim] - place.stop)
            return Pad.apply(grad_out, pad_width=tuple(widths), value=0.0)
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        grad[ctx.index] = grad_out
        return grad


def flip(x: Any, dims: int | Sequence[int]) -> Any:
    shape = shape_of(x)
    listed = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    found = [normalize_axis(d, shape, "flip") for d in listed]
    for d in found:
        if found.count(d) > 1:
            raise RuntimeError(f"flip: dim {d} appears multiple times in the list of dims "
                               f"{listed} (shape {shape})")
    return Flip.apply(x, dims=normalize_axes(listed, shape, "flip"))


def repeat(x: Any, sizes: Sequence[int]) -> Any:
    """PyTorch's repeat: np.tile, with at least one size per dim of x."""
    shape = shape_of(x)
    if not isinstance(sizes, (tuple, list)) or not all(is_integer(s) for s in sizes):
        raise TypeError(f"repeat: sizes must be ints, got {sizes!r}")
    if len(sizes) < len(shape):
        raise RuntimeError(f"repeat: Number of dimensions of repeat dims can not be smaller "
                           f"than number of dimensions of tensor (sizes {tuple(sizes)}, shape "
                           f"{shape})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: sizes must be >= 0, got {tuple(sizes)}")
    return Repeat.apply(x, sizes=tuple(int(s) for s in sizes))


def t(x: Any) -> Any:
    """The transpose of a 2-D tensor; a 0-d or 1-d tensor comes back as it is (a view)."""
    shape = shape_of(x)
    if len(shape) > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{len(shape)}D (shape {shape}); use transpose(dim0, dim1) or mT")
    return Permute.apply(x, dims=tuple(reversed(range(len(shape)))))


def cat(tensors: Sequence[Any], dim: int = 0) -> Any:
    """PyTorch's name for concatenate."""
    return concatenate(tensors, dim)


def split(x: Any, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple:
    """Views of x along dim: pieces of split_size (the last one shorter), or of the listed
    sizes, which must add up to x.shape[dim]."""
    shape, sections = shape_of(x), split_size_or_sections
    if not shape:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = normalize_axis(dim, shape, "split")
    size = shape[dim]
    if is_integer(sections):
        if sections < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={sections}")
        if sections == 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size} (dim {dim} of shape {shape})")
        count = max(-(-size // sections), 1) if sections else 1  # an empty dim: one piece
        lengths = [min(int(sections), size - i * sections) for i in range(count)]
    elif isinstance(sections, (tuple, list)) and all(is_integer(s) for s in sections):
        lengths = [int(s) for s in sections]
        if any(n < 0 for n in lengths):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={lengths}")
        if sum(lengths) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={lengths}")
    else:
        raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, got "
                        f"{sections!r}")
    return _narrow_all(x, dim, lengths)


def chunk(x: Any, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` views of equal size ceil(n / chunks) along dim, the last one smaller
    (so fewer may come back, as PyTorch's chunk)."""
    if not is_integer(chunks):
        raise TypeError(f"chunk(): argument 'chunks' must be int, not {type(chunks).__name__}")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    shape = shape_of(x)
    if not shape:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    dim = normalize_axis(dim, shape, "chunk")
    if shape[dim] == 0:  # PyTorch gives `chunks` empty pieces here
        return _narrow_all(x, dim, [0] * int(chunks))
    return split(x, -(-shape[dim] // chunks), dim)


def narrow(x: Any, dim: int, start: int, length: int) -> Any:
    """x[start : start + length] along dim, a view (start may be negative, as PyTorch)."""
    shape = shape_of(x)
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = normalize_axis(dim, shape, "narrow")
    if not is_integer(start) or not is_integer(length):
        raise TypeError(f"narrow(): start and length must be ints, got {start!r}, {length!r}")
    size = shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start ({start}) is out of range for dimension {dim} of "
                         f"size {size}")
    start = start % size if start < 0 else start
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}.")
    if start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Narrow.apply(x, dim=dim, start=int(start), length=int(length))


def _narrow_all(x: Any, dim: int, lengths: list[int]) -> tuple:
    starts = np.cumsum([0] + lengths[:-1])
    return tuple(Narrow.apply(x, dim=dim, start=int(start), length=n)
                 for start, n in zip(starts, lengths))
