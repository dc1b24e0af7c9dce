"""Elementwise arithmetic, math functions and comparisons, with NumPy broadcasting.

Binary backwards return gradients of the broadcast shape; the engine reduces them to each input's
shape (autograd.unbroadcast), so no op here sums over broadcast axes itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ._flops import per_element


class Add(Function):
    """out = x + y;  grad_x = g, grad_y = g.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = "grad_x = g, grad_y = g"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return grad_out, grad_out


class Sub(Function):
    """out = x - y;  grad_x = g, grad_y = -g.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = "grad_x = g, grad_y = -g"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x - y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return grad_out, -grad_out if ctx.needs_input_grad[1] else None


class Mul(Function):
    """out = x * y;  grad_x = g * y, grad_y = g * x.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = "grad_x = g * y, grad_y = g * x"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return grad_out * y if need_x else None, grad_out * x if need_y else None


class Div(Function):
    """out = x / y;  grad_x = g / y, grad_y = -g * x / y**2.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = "grad_x = g / y, grad_y = -g * x / y**2"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        grad_x = grad_out / y
        return grad_x, -grad_x * x / y if ctx.needs_input_grad[1] else None


class Pow(Function):
    """out = x ** y;  grad_x = g * y * x**(y-1), grad_y = g * out * log(x) (only if needed: x > 0).
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = "grad_x = g * y * x**(y-1), grad_y = g * out * log(x) (only if needed: x > 0)"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = x**y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors[:2]
        out = ctx.saved_tensors[2]
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_out * y * x ** (y - 1) if need_x else None
        grad_y = grad_out * out * np.log(x) if need_y else None
        return grad_x, grad_y


class Neg(Function):
    """out = -x;  grad_x = -g.
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = -g"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return -grad_out


class Exp(Function):
    """out = e**x;  grad_x = g * out.
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g * out"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * ctx.saved_tensors[0]


class Log(Function):
    """out = ln x;  grad_x = g / x.
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g / x"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out / ctx.saved_tensors[0]


class Sqrt(Function):
    """out = sqrt(x);  grad_x = g / (2 out).
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g / (2 out)"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out / (2 * ctx.saved_tensors[0])


class Abs(Function):
    """out = |x|;  grad_x = g * sign(x) (0 at x = 0, as PyTorch).
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g * sign(x) (0 at x = 0, as PyTorch)"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * np.sign(ctx.saved_tensors[0])


class Clip(Function):
    """out = min(max(x, low), high);  grad_x = g where low <= x <= high, else 0 (1 at the
    boundary, as PyTorch). Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g where low <= x <= high, else 0 (1 at the boundary, as PyTorch)"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, low: Any = None, high: Any = None) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad_out * inside


class Maximum(Function):
    """out = max(x, y);  grad_x = g * ([x > y] + [x == y] / 2), grad_y = g - grad_x: ties split
    the gradient evenly, as PyTorch.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = ("grad_x = g * ([x > y] + [x == y] / 2), grad_y = g - grad_x: ties split the gradient "
            "evenly, as PyTorch")
    flops = per_element

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


def _binary(fn: type[Function], x: Any, y: Any, **params: Any) -> Any:
    """Apply a broadcasting binary op; a shape mismatch names the op and both shapes. Other
    errors of forward (e.g. NumPy's integer ** negative) pass through unchanged."""
    try:
        return fn.apply(x, y, **params)
    except ValueError:
        # checked only once forward failed: free on the hot path, where shapes always broadcast
        shape_x, shape_y = np.shape(_array(x)), np.shape(_array(y))
        try:
            np.broadcast_shapes(shape_x, shape_y)
        except ValueError:
            name = params.get("op", fn.__name__.lower())
            raise ValueError(f"{name}: cannot broadcast shapes {shape_x} and {shape_y}") from None
        raise


def _array(x: Any) -> Any:
    return getattr(x, "data", x)


def add(x: Any, y: Any) -> Any:
    return _binary(Add, x, y)


def sub(x: Any, y: Any) -> Any:
    return _binary(Sub, x, y)


def mul(x: Any, y: Any) -> Any:
    return _binary(Mul, x, y)


def div(x: Any, y: Any) -> Any:
    return _binary(Div, x, y)


def pow(x: Any, y: Any) -> Any:  # noqa: A001 (the op's name)
    return _binary(Pow, x, y)


def maximum(x: Any, y: Any) -> Any:
    return _binary(Maximum, x, y)


def minimum(x: Any, y: Any) -> Any:
    return _binary(Minimum, x, y)


def neg(x: Any) -> Any:
    return Neg.apply(x)


def exp(x: Any) -> Any:
    return Exp.apply(x)


def log(x: Any) -> Any:
    return Log.apply(x)


def sqrt(x: Any) -> Any:
    return Sqrt.apply(x)


def abs(x: Any) -> Any:  # noqa: A001 (the op's name)
    return Abs.apply(x)


def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names)
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, low=min, high=max)


def lt(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="lt")


def le(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="le")


def gt(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="gt")


def ge(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="ge")


def eq(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="eq")


def ne(x: Any, y: Any) -> Any:
    return _binary(Compare, x, y, op="ne")
