"""Rounding: floor, ceil, round, sign, floor division (`//`) and remainder (`%`), as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from ._flops import per_element
from ._ieee import quiet_math
from ._math import math_of
from .elementwise import binary_op
from .promotion import DtypeError, result_type


class Floor(Function):
    """out = floor x, the largest integer <= x (integers pass through);  grad_x = 0, as PyTorch.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True  # a zero gradient, so a graph through floor(x) goes on to x's others

    pick = staticmethod(np.floor)

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return ctx.pick(x) if x.dtype.kind == "f" else x.copy()

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return math_of(grad_out).zeros_like(grad_out)


class Ceil(Floor):
    """out = ceil x, the smallest integer >= x (integers pass through);  grad_x = 0, as PyTorch.
    Shapes: as Floor.
    """

    pick = staticmethod(np.ceil)


class Round(Floor):
    """out = x rounded to `decimals` places, halves to even (2.5 -> 2);  grad_x = 0, as PyTorch.
    Shapes: as Floor.
    """

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, decimals: int = 0) -> np.ndarray:
        return np.round(x, decimals) if x.dtype.kind == "f" else x.copy()


class Sign(Floor):
    """out = -1, 0 or 1 as x < 0, x == 0 (or nan, as PyTorch) or x > 0;
    grad_x = 0, as PyTorch.
    Shapes: as Floor.
    """
    rule = "grad_x = 0, as PyTorch"

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        if x.dtype == np.bool_:
            return x.copy()
        # not np.sign: PyTorch's sign(nan) is 0 and sign(-0.0) is +0.0
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


@quiet_math
class FloorDivide(Function):
    """out = floor(x / y) (x // y);  no gradient: backward raises, as PyTorch's floor_divide.
    Shapes: x, y and out broadcast (NumPy rules)."""
    flops = per_element
    graph_backward = True  # the same error under create_graph

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        _integer_divisor(x, y, "floor_divide")
        return np.floor_divide(x, y)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        raise RuntimeError("derivative for floor_divide is not implemented (as in PyTorch); "
                           "for a gradient write (x / y).floor(), whose gradient is 0")


@quiet_math
class Remainder(Function):
    """out = x - y * floor(x / y) (x % y, the sign of y);  grad_x = g, grad_y = -g * floor(x / y).
    Shapes: x, y and out broadcast (NumPy rules); grads have out's shape, the engine reduces them.
    """
    flops = per_element
    graph_backward = True
    reads_saved = ((1,), (1,))  # x and y, both for grad_y only

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        _integer_divisor(x, y, "remainder")
        ctx.save_for_backward(x, y)
        if x.dtype.kind != "f":
            return np.remainder(x, y)
        # PyTorch's algorithm, not np.remainder: a zero result keeps x's sign (-4 % 2 is -0.0)
        mod = np.fmod(x, y)
        return np.where((mod != 0) & ((mod < 0) != (y < 0)), mod + y, mod)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if not ctx.needs_input_grad[1]:
            return grad_out, None
        x, y = ctx.saved_tensors
        return grad_out, -grad_out * math_of(grad_out).floor_divide(x, y)


def _integer_divisor(x: np.ndarray, y: np.ndarray, op: str) -> None:
    """Integer division by zero has no value: PyTorch's error (floats give inf and nan)."""
    if y.dtype.kind in "iu" and not np.all(y):
        raise RuntimeError(f"ZeroDivisionError: {op} of integer tensors by zero (divisor shape "
                           f"{y.shape})")


def _no_bool(op: str, x: Any) -> None:
    if result_type(op, x) == np.bool_:
        raise DtypeError(f"{op}: not implemented for bool tensors (as in PyTorch); convert "
                         "first: x.float()")


def floor(x: Any) -> Any:
    _no_bool("floor", x)
    return Floor.apply(x)


def ceil(x: Any) -> Any:
    _no_bool("ceil", x)
    return Ceil.apply(x)


def round(x: Any, decimals: int = 0) -> Any:  # noqa: A001 (the op's name)
    _no_bool("round", x)
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    if decimals and result_type("round", x).kind != "f":
        raise DtypeError(f"round: decimals={decimals} needs a float tensor (as in PyTorch), "
                         f"got {result_type('round', x)}")
    return Round.apply(x, decimals=int(decimals))


def sign(x: Any) -> Any:
    return Sign.apply(x)


def floor_divide(x: Any, y: Any) -> Any:
    if result_type("floor_divide", x, y) == np.bool_:
        raise DtypeError("floor_divide: `//` is not implemented for bool tensors (as in PyTorch)")
    return binary_op(FloorDivide, "floor_divide", x, y)


def remainder(x: Any, y: Any) -> Any:
    if result_type("remainder", x, y) == np.bool_:
        raise DtypeError("remainder: `%` is not implemented for bool tensors (as in PyTorch)")
    return binary_op(Remainder, "remainder", x, y)
