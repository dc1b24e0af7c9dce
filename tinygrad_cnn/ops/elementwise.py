"""Elementwise arithmetic, math functions and comparisons, with NumPy broadcasting.

Binary backwards return gradients of the broadcast shape; the engine reduces them to each input's
shape (engine.unbroadcast), so no op here sums over broadcast axes itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import array_of, dtype_of
from ._flops import per_element
from ._ieee import quiet_math
from ._math import math_of
from .promotion import DEFAULT, Cast, DtypeError, promote, result_type


class Add(Function):
    """out = x + y;  grad_x = g, grad_y = g.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    flops = per_element
    graph_backward = True

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
    flops = per_element
    graph_backward = True

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
    flops = per_element
    graph_backward = True
    reads_saved = ((1,), (0,))  # y for grad_x, x for grad_y

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return grad_out * y if need_x else None, grad_out * x if need_y else None


@quiet_math
class Div(Function):
    """out = x / y;  grad_x = g / y, grad_y = -g * x / y**2.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    flops = per_element
    graph_backward = True
    reads_saved = ((1,), (0, 1))

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        grad_x = grad_out / y
        return grad_x, -grad_x * x / y if ctx.needs_input_grad[1] else None


@quiet_math
class Pow(Function):
    """out = x ** y;  grad_x = g * y * x**(y-1) (0 where y = 0), grad_y = g * out * log(x) (0 where
    x = 0 and y >= 0), as PyTorch.
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    rule = ("grad_x = g * y * x**(y-1) (0 where y = 0), grad_y = g * out * log(x) (0 where x = 0 "
            "and y >= 0), as PyTorch")
    flops = per_element
    graph_backward = True

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
        grad_x = grad_y = None
        xp = math_of(grad_out)
        # 0 * inf and log(0) are masked out by the np.where (and quiet_math keeps them silent)
        if need_x:  # as PyTorch: d/dx x**0 is 0, also at x = 0
            grad_x = xp.where(y == 0, 0, grad_out * y * x ** (y - 1))
        if need_y:  # and d/dy 0**y is 0 for y >= 0
            grad_y = xp.where((x == 0) & (y >= 0), 0, grad_out * out * xp.log(x))
        return grad_x, grad_y


class Neg(Function):
    """out = -x;  grad_x = -g.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return -grad_out


@quiet_math
class Exp(Function):
    """out = e**x;  grad_x = g * out.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * ctx.saved_tensors[0]


@quiet_math
class Log(Function):
    """out = ln x;  grad_x = g / x.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out / ctx.saved_tensors[0]


@quiet_math
class Sqrt(Function):
    """out = sqrt(x);  grad_x = g / (2 out).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

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
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * math_of(grad_out).sign(ctx.saved_tensors[0])


_NUMBERS = (float, int)  # Python numbers a float Tensor takes in its own dtype (not bool)


def binary_op(fn: type[Function], op: str, x: Any, y: Any, floating: bool = False,
            **params: Any) -> Any:
    """Apply a broadcasting binary op to x and y promoted to PyTorch's result dtype (a float
    dtype when `floating`); a shape mismatch names the op and both shapes."""
    if type(x) is type(y) and isinstance(x, Node) and x.data.dtype == y.data.dtype and (
            not floating or x.data.dtype.kind == "f"):
        pass  # the common case: nothing to promote
    elif type(y) in _NUMBERS and isinstance(x, Node) and x.data.dtype.kind == "f":
        y = x._from_op(np.asarray(y, x.data.dtype), None)  # `x * 0.5`
    elif type(x) in _NUMBERS and isinstance(y, Node) and y.data.dtype.kind == "f":
        x = y._from_op(np.asarray(x, y.data.dtype), None)  # `1 - x`
    else:
        dtype = result_type(op, x, y)
        x, y = promote(op, DEFAULT[2] if floating and dtype.kind != "f" else dtype, x, y)
    try:
        return fn.apply(x, y, **params)
    except ValueError:
        # checked only once forward failed: free on the hot path, where shapes always broadcast
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise ValueError(f"{op}: cannot broadcast shapes {x.shape} and {y.shape}") from None
        raise


def as_floating(x: Any) -> Any:
    """An integer or bool Tensor as float32 (PyTorch's exp/log/sqrt of ints), others as is."""
    if isinstance(x, Node) and x.data.dtype.kind != "f":
        return Cast.apply(x, dtype=DEFAULT[2])
    return x


def _not_bool(op: str, x: Any, what: str) -> None:
    if getattr(x, "dtype", None) == np.bool_:
        raise DtypeError(f"{op}: {what} on bool tensors is not supported (as in PyTorch); "
                         "to invert a mask use its logical not (mask == False)")


def add(x: Any, y: Any) -> Any:
    return binary_op(Add, "add", x, y)


def sub(x: Any, y: Any) -> Any:
    if isinstance(x, bool) or isinstance(y, bool) or np.bool_ in (dtype_of(x), dtype_of(y)):
        raise DtypeError("sub: subtraction, the `-` operator, with a bool tensor is not supported "
                         "(as in PyTorch); to invert a mask use ~mask, for a difference x & ~y")
    return binary_op(Sub, "sub", x, y)


def mul(x: Any, y: Any) -> Any:
    return binary_op(Mul, "mul", x, y)


def div(x: Any, y: Any) -> Any:
    """True division: integer inputs give float32, as PyTorch's `/`."""
    return binary_op(Div, "div", x, y, floating=True)


def pow(x: Any, y: Any) -> Any:  # noqa: A001 (the op's name)
    dtype = result_type("pow", x, y)
    if dtype.kind in "iu" and (np.asarray(array_of(y)) < 0).any():
        raise DtypeError(f"pow: Integers to negative integer powers are not allowed ({dtype} "
                         "base); use a float base, e.g. x.to(np.float32) ** -1")
    return binary_op(Pow, "pow", x, y)


def neg(x: Any) -> Any:
    _not_bool("neg", x, "negation, the `-` operator,")
    return Neg.apply(x)


def exp(x: Any) -> Any:
    return Exp.apply(as_floating(x))


def log(x: Any) -> Any:
    return Log.apply(as_floating(x))


def sqrt(x: Any) -> Any:
    return Sqrt.apply(as_floating(x))


def abs(x: Any) -> Any:  # noqa: A001 (the op's name)
    return Abs.apply(x)
