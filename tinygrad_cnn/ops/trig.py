"""Trigonometry: sin and cos (integer and bool inputs give float32, as PyTorch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from ._flops import per_element
from ._ieee import quiet_math
from ._math import math_of
from .elementwise import as_floating


@quiet_math
class Sin(Function):
    """out = sin x;  grad_x = g * cos x.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * math_of(grad_out).cos(ctx.saved_tensors[0])


@quiet_math
class Cos(Function):
    """out = cos x;  grad_x = -g * sin x.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return -grad_out * math_of(grad_out).sin(ctx.saved_tensors[0])


def sin(x: Any) -> Any:
    return Sin.apply(as_floating(x))


def cos(x: Any) -> Any:
    return Cos.apply(as_floating(x))
