"""Reductions under PyTorch's names and arguments (`dim`, `keepdim`; NumPy's `axis`, `keepdims`
accepted too): sum, mean, max, min, amax, amin, var, std, prod, logsumexp, norm, all, any,
argmax/argmin (no gradient), and the running sum cumsum."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ..engine import Function, Node
from . import compare, copy, movement
from ._args import (
    Axis,
    array_of,
    as_flag,
    dtype_of,
    normalize_axes,
    normalize_axis,
    numpy_names,
    shape_of,
)
from ._flops import per_input_element
from ._ieee import quiet_math
from ._math import GraphMath, math_of
from .elementwise import as_floating
from .promotion import DtypeError


def _expand(xp: Any, value: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so a reduction's output or grad_out broadcasts
    against the input (an array or, under create_graph, a graph node; xp = math_of(grad_out))."""
    return value if keepdims else xp.expand_dims(value, axes)


class Sum(Function):
    """out = sum(x, axes);  grad_x = g broadcast back over the summed axes.
    Shapes: out is x's shape without the axes (size 1 with keepdims); grad_x has x's shape.
    """
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        xp = math_of(grad_out)
        return xp.broadcast_to(_expand(xp, grad_out, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    """out = sum(x, axes) / n;  grad_x = g / n broadcast back over the reduced axes.
    Shapes: out is x's shape without the axes (size 1 with keepdims); grad_x has x's shape.
    """
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes]))
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan
            return np.asarray(x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(ctx.count))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        xp = math_of(grad_out)
        return xp.broadcast_to(_expand(xp, grad_out, ctx.axes, ctx.keepdims) / ctx.count, ctx.shape)


class Max(Function):
    """out = max(x, axes);  grad_x = g / count at the elements equal to the max, else 0 (ties
    split evenly, as PyTorch's amax). Shapes: out is x's shape without the axes (size 1 with
    keepdims); grad_x has x's shape.
    """
    rule = ("grad_x = g / count at the elements equal to the max, else 0 (ties split evenly, as "
            "PyTorch's amax)")
    flops = per_input_element
    graph_backward = True

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
        grad = _expand(math_of(grad_out), grad_out, ctx.axes, ctx.keepdims)
        # on the mask's array, a constant under create_graph too; float, not int64: keeps float32
        mask = hit.data if isinstance(hit, Node) else hit  # hit is np.bool_ for a 0-d x
        count = mask.sum(axis=ctx.axes, keepdims=True, dtype=grad.dtype)
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
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdims: bool = False,
                correction: int = 1):
        centered = x - x.mean(axis=axes, keepdims=True)
        count = int(np.prod([x.shape[a] for a in axes]))
        ctx.save_for_backward(x, centered)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.dof = x.dtype.type(count - correction if count > correction else 0)  # PyTorch: >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.dof)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, centered = ctx.saved_tensors
        xp = math_of(grad_out)
        if xp is not np:  # centered is an intermediate: recomputed, a function of x
            centered = x - x.mean(axis=ctx.axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _expand(xp, grad_out, ctx.axes, ctx.keepdims) * centered * (2 / ctx.dof)


class ArgMax(Function):
    """out = index of the max (or min) along axis, flattened when axis is None; no gradient.
    Shapes: out is x's shape without axis (size 1 with keepdims), int64."""

    differentiable = False

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int | None = None, keepdims: bool = False,
                smallest: bool = False):
        find = np.argmin if smallest else np.argmax
        return np.asarray(find(x, axis=axis, keepdims=keepdims), dtype=np.int64)


@quiet_math
class Prod(Function):
    """out = product of x over axes;  grad_x = g * out / x; in a slice with one zero, g * (product
    of the others) there and 0 elsewhere; with two or more zeros, 0 (as PyTorch).
    Shapes: out is x's shape without the axes (size 1 with keepdim); grad_x has x's shape.
    """
    rule = ("grad_x = g * out / x; in a slice with one zero, g * (product of the others) there "
            "and 0 elsewhere; with two or more zeros, 0 (as PyTorch)")
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdim: bool = False):
        out = np.prod(x, axis=axes, keepdims=True, dtype=np.int64 if x.dtype.kind != "f" else None)
        out = out if keepdim else np.squeeze(out, axes)
        ctx.save_for_backward(x, out)  # the output itself: under create_graph, its graph node
        ctx.axes, ctx.keepdim = axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        xp = math_of(grad_out)
        grad = _expand(xp, grad_out, ctx.axes, ctx.keepdim)
        out = _expand(xp, out, ctx.axes, ctx.keepdim)
        zero = array_of(x) == 0
        if not zero.any():
            return grad * (out / x)  # PyTorch's formula, so an inf factor gives its nan too
        if xp is not np:
            return grad * _others_graph(x, zero, ctx.axes)
        # out / x is 0 / 0 at a zero: the product of the non-zero entries takes its place there
        zeros = zero.sum(axis=ctx.axes, keepdims=True)
        others = np.prod(np.where(zero, 1, x), axis=ctx.axes, keepdims=True)
        lone = np.where(zero & (zeros == 1), others, 0)
        return grad * np.where(zeros == 0, out / np.where(zero, 1, x), lone)


def _others_graph(x: Any, zero: np.ndarray, axes: tuple) -> Any:
    """For each element, the product of the others in its slice, as graph ops (create_graph)
    for a slice holding zeros: (product of the zeros) * (product of the non-zeros) / x at a
    non-zero; at a zero, the non-zeros times the other zero when there are two (0 with more, a
    product of at least two zeros). Exact to any order with up to two zeros in a slice."""
    xp = GraphMath
    nonzeros = Prod.apply(xp.where(zero, 1, x), axes=axes, keepdim=True)
    zeros_product = Prod.apply(xp.where(zero, x, 1), axes=axes, keepdim=True)
    at_nonzero = zeros_product * nonzeros / xp.where(zero, 1, x)
    count = zero.sum(axis=axes, keepdims=True)
    other_zero = Sum.apply(xp.where(zero, x, 0), axes=axes, keepdims=True) - x
    at_zero = nonzeros * xp.where(count == 1, 1, xp.where(count == 2, other_zero, 0))
    return xp.where(zero, at_zero, at_nonzero)


@quiet_math
class LogSumExp(Function):
    """out = log(sum(e**x over axes)), computed as m + log(sum(e**(x - m))) with m the finite
    max;  grad_x = g * e**(x - out) (nan in an all -inf slice, as PyTorch).
    Shapes: out is x's shape without the axes (size 1 with keepdim); grad_x has x's shape.
    """
    rule = "grad_x = g * e**(x - out) (nan in an all -inf slice, as PyTorch)"
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdim: bool = False):
        # stable: subtracting the max keeps e** from overflowing; an infinite max is replaced
        # by 0 (as PyTorch), so inf - inf never turns a row of +inf or -inf into nan
        top = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        top = np.where(np.isinf(top), 0, top).astype(x.dtype)
        out = np.log(np.exp(x - top).sum(axis=axes, keepdims=True)) + top
        out = out if keepdim else np.squeeze(out, axes)
        ctx.save_for_backward(x, out)  # the output itself: under create_graph, its graph node
        ctx.axes, ctx.keepdim = axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        xp = math_of(grad_out)
        out = _expand(xp, out, ctx.axes, ctx.keepdim)
        return _expand(xp, grad_out, ctx.axes, ctx.keepdim) * xp.exp(x - out)


@quiet_math
class Norm(Function):
    """out = (sum |x|**p over axes)**(1/p), max |x| for p = inf, min |x| for -inf;  grad_x =
    g * sign(x) * |x|**(p-1) / out**(p-1) (x / out for p = 2; 0 where out = 0, as PyTorch); for
    p = +-inf, g * sign(x) shared evenly by the elements at the extreme.
    Shapes: out is x's shape without the axes (size 1 with keepdim); grad_x has x's shape.
    """
    rule = ("grad_x = g * sign(x) * |x|**(p-1) / out**(p-1) (x / out for p = 2; 0 where out = 0, "
            "as PyTorch)")
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, p: float = 2.0, axes: tuple = (),
                keepdim: bool = False) -> np.ndarray:
        size = np.abs(x)
        if np.isinf(p):
            pick = np.max if p > 0 else np.min
            out = pick(size, axis=axes, keepdims=True)
        elif p == 2:
            out = np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
        else:
            out = np.sum(size ** p, axis=axes, keepdims=True) ** (1 / p)
        out = out if keepdim else np.squeeze(out, axes)
        ctx.save_for_backward(x, out)  # the output itself: under create_graph, its graph node
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        xp, p = math_of(grad_out), ctx.p
        grad, out = _expand(xp, grad_out, ctx.axes, ctx.keepdim), _expand(xp, out, ctx.axes,
                                                                          ctx.keepdim)
        if np.isinf(p):  # sign and share are piecewise constant: arrays, also under create_graph
            x = array_of(x)
            extreme = np.abs(x) == array_of(out)
            share = extreme / extreme.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)
            return grad * (np.sign(x) * share)
        if p == 2:
            scale = x / out
        else:
            # |x|**(p-1) is inf at x = 0 for p < 1: those elements get 0, as PyTorch
            scale = xp.where(x == 0, 0, xp.sign(x) * xp.abs(x) ** (p - 1) / out ** (p - 1))
        return grad * xp.where(out == 0, 0, scale)


class CumSum(Function):
    """out[i] = x[0] + ... + x[i] along dim;  grad_x[i] = g[i] + ... + g[n-1] (the running sum
    from the end). Shapes: out, g and grad_x all have x's shape."""
    rule = "grad_x[i] = g[i] + ... + g[n-1] (the running sum from the end)"
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dim: int = 0) -> np.ndarray:
        ctx.dim = dim
        integer = x.dtype.kind in "biu"  # as PyTorch: integer and bool sums are int64
        return np.cumsum(x, axis=dim, dtype=np.int64 if integer else None)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        xp = math_of(grad_out)
        return xp.flip(xp.cumsum(xp.flip(grad_out, ctx.dim), axis=ctx.dim), ctx.dim)


class AllAny(Function):
    """out = whether all (or any) elements over axes are non-zero (nan counts as non-zero);
    no gradient. Shapes: out is x's shape without the axes (size 1 with keepdim), bool (uint8
    for a uint8 input, as PyTorch)."""

    differentiable = False

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdim: bool = False,
                every: bool = True) -> np.ndarray:
        test = np.all if every else np.any
        out = np.asarray(test(x, axis=axes, keepdims=keepdim))
        return out.astype(np.uint8) if x.dtype == np.uint8 else out


@numpy_names
def sum(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:  # noqa: A001
    return Sum.apply(x, axes=normalize_axes(dim, shape_of(x), "sum"), keepdims=_flag(keepdim))


@numpy_names
def mean(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:
    _floating_input(x, "mean(): could not infer output dtype. Input dtype must be either a "
                    "floating point or complex dtype")
    return Mean.apply(x, axes=normalize_axes(dim, shape_of(x), "mean"), keepdims=_flag(keepdim))


# what max(x, dim) and min(x, dim) return, as torch.return_types.max / .min
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


@numpy_names
def max(x: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """PyTorch's max: of every element (no dim); along one int dim, the namedtuple (values,
    indices), whose gradient reaches only the element each index names; of two tensors, maximum."""
    return _extreme(x, dim, keepdim, "max")


@numpy_names
def min(x: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """PyTorch's min: as max."""
    return _extreme(x, dim, keepdim, "min")


@numpy_names
def amax(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:
    """The largest values over one dim, several or all (None or ()); tied elements share the
    gradient evenly (PyTorch's amax)."""
    dim = None if dim == () else dim
    return Max.apply(x, axes=_nonempty(x, dim, "amax"), keepdims=_flag(keepdim))


@numpy_names
def amin(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:
    dim = None if dim == () else dim
    return Min.apply(x, axes=_nonempty(x, dim, "amin"), keepdims=_flag(keepdim))


def _extreme(x: Any, dim: Any, keepdim: bool, op: str) -> Any:
    if isinstance(dim, np.ndarray) or hasattr(dim, "_requires_grad"):  # max(x, other)
        return (compare.maximum if op == "max" else compare.minimum)(x, dim)
    if dim is None:
        return (Max if op == "max" else Min).apply(x, axes=_nonempty(x, None, op),
                                                 keepdims=_flag(keepdim))
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r} (use a{op}(dim={dim!r}) for "
                        "the values over several dims)")
    keep = _flag(keepdim)
    index = ArgMax.apply(x, axis=_arg_axis(x, dim, op), keepdims=keep, smallest=op == "min")
    shape = shape_of(x)
    if shape:
        dim = normalize_axis(dim, shape, op)
        along = list(np.indices(index.shape, sparse=True))  # the other axes' positions
        if keep:
            along[dim] = index.data
        else:
            along.insert(dim, index.data)
        values = movement.getitem(x, tuple(along))
    else:
        values = copy.clone(x)
    return (MaxResult if op == "max" else MinResult)(values, index)


@numpy_names
def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None) -> Any:
    """PyTorch's var: over dim (all when None), dividing by n - correction (1 by default;
    unbiased=False is correction 0). Positional arguments as PyTorch's: (dim, unbiased,
    keepdim), and a lone bool is `unbiased`."""
    _floating_input(x, "var(): std and var only support floating point dtypes")
    if isinstance(dim, (bool, np.bool_)):  # var(False): PyTorch's var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        correction = int(as_flag(unbiased, "var: unbiased"))
    correction = 1 if correction is None else correction
    if not isinstance(correction, (int, float, np.integer, np.floating)) or correction < 0:
        raise ValueError(f"var: correction must be a number >= 0, got {correction!r}")
    axes = normalize_axes(dim, shape_of(x), "var")
    return Var.apply(x, axes=axes, keepdims=_flag(keepdim), correction=correction)


@numpy_names
def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None) -> Any:
    """The square root of var, with var's arguments."""
    return var(x, dim, unbiased, keepdim, correction=correction).sqrt()


@numpy_names
def argmax(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return ArgMax.apply(x, axis=_arg_axis(x, dim, "argmax"), keepdims=_flag(keepdim))


@numpy_names
def argmin(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return ArgMax.apply(x, axis=_arg_axis(x, dim, "argmin"), keepdims=_flag(keepdim),
                        smallest=True)


def _arg_axis(x: Any, dim: int | None, op: str) -> int | None:
    """dim as NumPy's argmax wants it: None for a 0-d tensor, whose dim 0 / -1 is all of it."""
    _nonempty(x, dim, op)
    if dim is None:
        return None
    shape = shape_of(x)
    dim = normalize_axis(dim, shape, op)
    return dim if shape else None


def _nonempty(x: Any, dim: Axis, op: str) -> tuple[int, ...]:
    """The axes of a max/min/argmax, which have no value over nothing: PyTorch's errors."""
    shape = shape_of(x)
    axes = normalize_axes(dim, shape, op)
    if 0 in shape:
        if dim is None:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (shape {shape}). Specify the reduction dim "
                               "with the 'dim' argument.")
        for a in axes:
            if shape[a] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                                 f"(shape {shape}).")
    return axes


def _floating_input(x: Any, message: str) -> None:
    dtype = dtype_of(x)
    if dtype.kind != "f":
        raise DtypeError(f"{message}. Got: {dtype} (use x.to(np.float32).{message[:3]}())")


def _flag(keepdim: Any) -> bool:
    return as_flag(keepdim, "keepdim")


@numpy_names
def prod(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:
    """The product over dim (every dim when None); integer and bool inputs give int64."""
    axes = normalize_axes(dim, shape_of(x), "prod")
    return Prod.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"))


@numpy_names
def logsumexp(x: Any, dim: Axis, keepdim: bool = False) -> Any:
    """log(sum(exp(x))) over dim (an int or a tuple, required as in PyTorch), stably."""
    if dim is None:
        raise TypeError("logsumexp: dim is required (an int or a tuple of ints), as in PyTorch; "
                        "for every dim pass tuple(range(x.dim()))")
    axes = normalize_axes(dim, shape_of(x), "logsumexp")
    return LogSumExp.apply(as_floating(x), axes=axes, keepdim=as_flag(keepdim, "keepdim"))


@numpy_names
def all(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:  # noqa: A001 (the op's name)
    axes = normalize_axes(dim, shape_of(x), "all")
    return AllAny.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"))


@numpy_names
def any(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:  # noqa: A001 (the op's name)
    axes = normalize_axes(dim, shape_of(x), "any")
    return AllAny.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"), every=False)


@numpy_names
def norm(x: Any, p: Any = "fro", dim: Axis = None, keepdim: bool = False) -> Any:
    """PyTorch's Tensor.norm: the p-norm of the flattened tensor, or along dim. p is a number
    (2, 1, inf, -inf, any other > 0) or "fro" (2, over at most two dims)."""
    shape = shape_of(x)
    if p == "fro":
        p = 2.0
    elif isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float, np.number)):
        raise ValueError(f"norm: p must be a number or 'fro', got {p!r} (the nuclear norm is "
                         "not supported)")
    if not (np.isinf(p) or p > 0):
        raise ValueError(f"norm: p must be > 0 or +-inf here, got {p}")
    axes = normalize_axes(dim, shape, "norm")
    return Norm.apply(as_floating(x), p=float(p), axes=axes, keepdim=as_flag(keepdim, "keepdim"))


@numpy_names
def cumsum(x: Any, dim: int) -> Any:
    """The running sum along dim (required, as PyTorch); integer and bool inputs give int64."""
    shape = shape_of(x)
    axis = normalize_axis(dim, shape, "cumsum") if shape else None
    if axis is None:  # a 0-d tensor: its own running sum
        return CumSum.apply(x.reshape(1), dim=0).reshape(())
    return CumSum.apply(x, dim=axis)
