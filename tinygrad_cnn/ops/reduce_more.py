"""More reductions under PyTorch's names and arguments (dim, keepdim): prod, logsumexp, all, any."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ._args import Axis, as_flag, normalize_axes, shape_of
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
