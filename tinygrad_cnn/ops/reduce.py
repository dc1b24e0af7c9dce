"""Reductions: sum, mean, max, min, amax, amin, var, std, and argmax/argmin (no gradient)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ..engine import Function
from . import compare, copy, movement
from ._args import Axis, as_flag, dtype_of, normalize_axes, normalize_axis, shape_of, torch_names
from ._flops import per_input_element
from .promotion import DtypeError


def _expand(grad_out: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so grad_out broadcasts against the input."""
    return grad_out if keepdims else np.expand_dims(grad_out, axes)


class Sum(Function):
    """out = sum(x, axes);  grad_x = g broadcast back over the summed axes.
    Shapes: out is x's shape without the axes (size 1 with keepdims); grad_x has x's shape.
    """
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_expand(grad_out, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    """out = sum(x, axes) / n;  grad_x = g / n broadcast back over the reduced axes.
    Shapes: out is x's shape without the axes (size 1 with keepdims); grad_x has x's shape.
    """
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes]))
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan
            return np.asarray(x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(ctx.count))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        grad = _expand(grad_out, ctx.axes, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)


class Max(Function):
    """out = max(x, axes);  grad_x = g / count at the elements equal to the max, else 0 (ties
    split evenly, as PyTorch's amax). Shapes: out is x's shape without the axes (size 1 with
    keepdims); grad_x has x's shape.
    """
    rule = ("grad_x = g / count at the elements equal to the max, else 0 (ties split evenly, as "
            "PyTorch's amax)")
    flops = per_input_element

    pick = staticmethod(np.max)

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False):
        out = ctx.pick(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x == out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else np.squeeze(out, axes)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (hit,) = ctx.saved_tensors
        grad = _expand(grad_out, ctx.axes, ctx.keepdims)
        count = hit.sum(axis=ctx.axes, keepdims=True, dtype=grad.dtype)  # not int64: keeps float32
        return hit * (grad / count)


class Min(Max):
    """out = min(x, axes);  grad_x = g / count at the elements equal to the min, else 0.
    Shapes: as Max.
    """

    pick = staticmethod(np.min)


class Var(Function):
    """out = sum((x - mean)**2) / max(0, n - correction);  grad_x = 2 g (x - mean) / that divisor.
    Shapes: out is x's shape without the axes (size 1 with keepdims); grad_x has x's shape.
    """
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False,
                correction: int = 1):
        centered = x - x.mean(axis=axes, keepdims=True)
        count = int(np.prod([x.shape[a] for a in axes]))
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.dof = x.dtype.type(count - correction if count > correction else 0)  # PyTorch: >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.dof)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (centered,) = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            return _expand(grad_out, ctx.axes, ctx.keepdims) * centered * (2 / ctx.dof)


class ArgMax(Function):
    """out = index of the max (or min) along axis, flattened when axis is None; no gradient.
    Shapes: out is x's shape without axis (size 1 with keepdims), int64."""

    differentiable = False

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int | None = None, keepdims: bool = False,
                smallest: bool = False):
        find = np.argmin if smallest else np.argmax
        return np.asarray(find(x, axis=axis, keepdims=keepdims), dtype=np.int64)


@torch_names
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:  # noqa: A001
    return Sum.apply(x, axes=normalize_axes(axis, shape_of(x), "sum"), keepdims=_flag(keepdims))


@torch_names
def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    _floating_input(x, "mean(): could not infer output dtype. Input dtype must be either a "
                    "floating point or complex dtype")
    return Mean.apply(x, axes=normalize_axes(axis, shape_of(x), "mean"), keepdims=_flag(keepdims))


# what max(x, dim) and min(x, dim) return, as torch.return_types.max / .min
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


@torch_names
def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """PyTorch's max: of every element (no axis); along one int axis, the namedtuple (values,
    indices), whose gradient reaches only the element each index names; of two tensors, maximum."""
    return _extreme(x, axis, keepdims, "max")


@torch_names
def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """PyTorch's min: as max."""
    return _extreme(x, axis, keepdims, "min")


@torch_names
def amax(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The largest values over one axis, several or all (None or ()); tied elements share the
    gradient evenly (PyTorch's amax)."""
    axis = None if axis == () else axis
    return Max.apply(x, axes=_nonempty(x, axis, "amax"), keepdims=_flag(keepdims))


@torch_names
def amin(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    axis = None if axis == () else axis
    return Min.apply(x, axes=_nonempty(x, axis, "amin"), keepdims=_flag(keepdims))


def _extreme(x: Any, axis: Any, keepdims: bool, op: str) -> Any:
    if isinstance(axis, np.ndarray) or hasattr(axis, "_requires_grad"):  # max(x, other)
        return (compare.maximum if op == "max" else compare.minimum)(x, axis)
    if axis is None:
        return (Max if op == "max" else Min).apply(x, axes=_nonempty(x, None, op),
                                                 keepdims=_flag(keepdims))
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: dim must be an int, got {axis!r} (use a{op}(dim={axis!r}) for "
                        "the values over several dims)")
    keep = _flag(keepdims)
    index = ArgMax.apply(x, axis=_arg_axis(x, axis, op), keepdims=keep, smallest=op == "min")
    shape = shape_of(x)
    if shape:
        axis = normalize_axis(axis, shape, op)
        along = list(np.indices(index.shape, sparse=True))  # the other axes' positions
        if keep:
            along[axis] = index.data
        else:
            along.insert(axis, index.data)
        values = movement.getitem(x, tuple(along))
    else:
        values = copy.clone(x)
    return (MaxResult if op == "max" else MinResult)(values, index)


@torch_names
def var(x: Any, axis: Any = None, unbiased: bool | None = None, keepdims: bool = False, *,
        correction: Any = None) -> Any:
    """PyTorch's var: over axis (all when None), dividing by n - correction (1 by default;
    unbiased=False is correction 0). Positional arguments as PyTorch's: (dim, unbiased,
    keepdim), and a lone bool is `unbiased`."""
    _floating_input(x, "var(): std and var only support floating point dtypes")
    if isinstance(axis, (bool, np.bool_)):  # var(False): PyTorch's var(input, unbiased)
        axis, unbiased = None, axis
    if unbiased is not None:
        if correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        correction = int(as_flag(unbiased, "var: unbiased"))
    correction = 1 if correction is None else correction
    if not isinstance(correction, (int, float, np.integer, np.floating)) or correction < 0:
        raise ValueError(f"var: correction must be a number >= 0, got {correction!r}")
    axes = normalize_axes(axis, shape_of(x), "var")
    return Var.apply(x, axes=axes, keepdims=_flag(keepdims), correction=correction)


@torch_names
def std(x: Any, axis: Any = None, unbiased: bool | None = None, keepdims: bool = False, *,
        correction: Any = None) -> Any:
    """The square root of var, with var's arguments."""
    return var(x, axis, unbiased, keepdims, correction=correction).sqrt()


@torch_names
def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    return ArgMax.apply(x, axis=_arg_axis(x, axis, "argmax"), keepdims=_flag(keepdims))


@torch_names
def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    return ArgMax.apply(x, axis=_arg_axis(x, axis, "argmin"), keepdims=_flag(keepdims),
                        smallest=True)


def _arg_axis(x: Any, axis: int | None, op: str) -> int | None:
    """axis as NumPy's argmax wants it: None for a 0-d tensor, whose axis 0 / -1 is all of it."""
    _nonempty(x, axis, op)
    if axis is None:
        return None
    shape = shape_of(x)
    axis = normalize_axis(axis, shape, op)
    return axis if shape else None


def _nonempty(x: Any, axis: Axis, op: str) -> tuple[int, ...]:
    """The axes of a max/min/argmax, which have no value over nothing: PyTorch's errors."""
    shape = shape_of(x)
    axes = normalize_axes(axis, shape, op)
    if 0 in shape:
        if axis is None:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (shape {shape}). Specify the reduction dim "
                               "with the 'axis' argument.")
        for a in axes:
            if shape[a] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                                 f"(shape {shape}).")
    return axes


def _floating_input(x: Any, message: str) -> None:
    dtype = dtype_of(x)
    if dtype.kind != "f":
        raise DtypeError(f"{message}. Got: {dtype} (use x.to(np.float32).{message[:3]}())")


def _flag(keepdims: Any) -> bool:
    return as_flag(keepdims, "keepdims")
