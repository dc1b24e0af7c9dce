"""More reductions under PyTorch's names and arguments (dim, keepdim): prod, logsumexp, norm,
all, any; and the running sum cumsum."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from ._args import Axis, as_flag, normalize_axes, normalize_axis, shape_of
from ._flops import per_input_element
from ._ieee import quiet_math
from .elementwise import as_floating


def _expand(grad_out: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so grad_out broadcasts against the input."""
    return grad_out if keepdim else np.expand_dims(grad_out, axes)


@quiet_math
class Prod(Function):
    """out = product of x over axes;  grad_x = g * out / x; in a slice with one zero, g * (product
    of the others) there and 0 elsewhere; with two or more zeros, 0 (as PyTorch).
    Shapes: out is x's shape without the axes (size 1 with keepdim); grad_x has x's shape.
    """
    rule = ("grad_x = g * out / x; in a slice with one zero, g * (product of the others) there "
            "and 0 elsewhere; with two or more zeros, 0 (as PyTorch)")
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdim: bool = False):
        out = np.prod(x, axis=axes, keepdims=True, dtype=np.int64 if x.dtype.kind != "f" else None)
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdim = axes, keepdim
        return out if keepdim else np.squeeze(out, axes)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        grad = _expand(grad_out, ctx.axes, ctx.keepdim)
        zero = x == 0
        if not zero.any():
            return grad * (out / x)  # PyTorch's formula, so an inf factor gives its nan too
        # out / x is 0 / 0 at a zero: the product of the non-zero entries takes its place there
        zeros = zero.sum(axis=ctx.axes, keepdims=True)
        others = np.prod(np.where(zero, 1, x), axis=ctx.axes, keepdims=True)
        lone = np.where(zero & (zeros == 1), others, 0)
        return grad * np.where(zeros == 0, out / np.where(zero, 1, x), lone)


@quiet_math
class LogSumExp(Function):
    """out = log(sum(e**x over axes)), computed as m + log(sum(e**(x - m))) with m the finite
    max;  grad_x = g * e**(x - out) (nan in an all -inf slice, as PyTorch).
    Shapes: out is x's shape without the axes (size 1 with keepdim); grad_x has x's shape.
    """
    rule = "grad_x = g * e**(x - out) (nan in an all -inf slice, as PyTorch)"
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axes: tuple = (), keepdim: bool = False):
        # stable: subtracting the max keeps e** from overflowing; an infinite max is replaced
        # by 0 (as PyTorch), so inf - inf never turns a row of +inf or -inf into nan
        top = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        top = np.where(np.isinf(top), 0, top).astype(x.dtype)
        out = np.log(np.exp(x - top).sum(axis=axes, keepdims=True)) + top
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdim = axes, keepdim
        return out if keepdim else np.squeeze(out, axes)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        return _expand(grad_out, ctx.axes, ctx.keepdim) * np.exp(x - out)


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
        ctx.save_for_backward(x, out)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        return out if keepdim else np.squeeze(out, axes)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        grad, p = _expand(grad_out, ctx.axes, ctx.keepdim), ctx.p
        if np.isinf(p):
            extreme = np.abs(x) == out
            share = extreme / extreme.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)
            return grad * np.sign(x) * share
        if p == 2:
            scale = x / out
        else:
            # |x|**(p-1) is inf at x = 0 for p < 1: those elements get 0, as PyTorch
            scale = np.where(x == 0, 0, np.sign(x) * np.abs(x) ** (p - 1) / out ** (p - 1))
        return grad * np.where(out == 0, 0, scale)


class CumSum(Function):
    """out[i] = x[0] + ... + x[i] along dim;  grad_x[i] = g[i] + ... + g[n-1] (the running sum
    from the end). Shapes: out, g and grad_x all have x's shape."""
    rule = "grad_x[i] = g[i] + ... + g[n-1] (the running sum from the end)"
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, dim: int = 0) -> np.ndarray:
        ctx.dim = dim
        integer = x.dtype.kind in "biu"  # as PyTorch: integer and bool sums are int64
        return np.cumsum(x, axis=dim, dtype=np.int64 if integer else None)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        flipped = np.flip(grad_out, ctx.dim)
        return np.flip(np.cumsum(flipped, axis=ctx.dim), ctx.dim)


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


def prod(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:
    """The product over dim (every dim when None); integer and bool inputs give int64."""
    axes = normalize_axes(dim, shape_of(x), "prod")
    return Prod.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"))


def logsumexp(x: Any, dim: Axis, keepdim: bool = False) -> Any:
    """log(sum(exp(x))) over dim (an int or a tuple, required as in PyTorch), stably."""
    if dim is None:
        raise TypeError("logsumexp: dim is required (an int or a tuple of ints), as in PyTorch; "
                        "for every dim pass tuple(range(x.dim()))")
    axes = normalize_axes(dim, shape_of(x), "logsumexp")
    return LogSumExp.apply(as_floating(x), axes=axes, keepdim=as_flag(keepdim, "keepdim"))


def all(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:  # noqa: A001 (the op's name)
    axes = normalize_axes(dim, shape_of(x), "all")
    return AllAny.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"))


def any(x: Any, dim: Axis = None, keepdim: bool = False) -> Any:  # noqa: A001 (the op's name)
    axes = normalize_axes(dim, shape_of(x), "any")
    return AllAny.apply(x, axes=axes, keepdim=as_flag(keepdim, "keepdim"), every=False)


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


def cumsum(x: Any, dim: int) -> Any:
    """The running sum along dim (required, as PyTorch); integer and bool inputs give int64."""
    shape = shape_of(x)
    axis = normalize_axis(dim, shape, "cumsum") if shape else None
    if axis is None:  # a 0-d tensor: its own running sum
        return CumSum.apply(x.reshape(1), dim=0).reshape(())
    return CumSum.apply(x, dim=axis)
