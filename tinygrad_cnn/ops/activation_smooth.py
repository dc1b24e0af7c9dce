"""Smooth activations under PyTorch's names and defaults: silu, elu, softplus and gelu."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import Function
from ._flops import per_element
from .activation import sigmoid_array
from .promotion import DtypeError
from .shapes import number

# NumPy has no erf (SciPy is not a dependency): float64 takes math.erf per element (exact, slow);
# lower precisions take Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7, about float32's epsilon
_erf_exact = np.frompyfunc(math.erf, 1, 1)
_AS_P, _AS_A = 0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of every element, in x's dtype."""
    if x.dtype == np.float64:
        return np.asarray(_erf_exact(x), np.float64)
    size = np.abs(x, dtype=np.float64)  # in float64: the approximation's own error dominates
    t = 1 / (1 + _AS_P * size)
    a1, a2, a3, a4, a5 = _AS_A
    poly = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
    return np.copysign(1 - poly * np.exp(-size * size), x).astype(x.dtype, copy=False)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class SiLU(Function):
    """out = x * s;  grad_x = g * s * (1 + x * (1 - s)), s = sigmoid(x).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        s = sigmoid_array(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, s = ctx.saved_tensors
        return grad_out * s * (1 + x * (1 - s))


class ELU(Function):
    """out = x where x > 0, else alpha * (e**x - 1);  grad_x = g where x > 0, else
    g * alpha * e**x (alpha at 0, as PyTorch).
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g where x > 0, else g * alpha * e**x (alpha at 0, as PyTorch)"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        negative = alpha * np.expm1(np.minimum(x, 0))  # no overflow for large positive x
        ctx.save_for_backward(x, negative)
        ctx.alpha = alpha
        return np.where(x > 0, x, negative).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, negative = ctx.saved_tensors
        return grad_out * np.where(x > 0, 1, negative + ctx.alpha).astype(x.dtype, copy=False)


class Softplus(Function):
    """out = log(1 + e**(beta x)) / beta, and x where beta x > threshold (PyTorch's linear
    branch);  grad_x = g * sigmoid(beta x), and g where beta x > threshold.
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g * sigmoid(beta x), and g where beta x > threshold"
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, beta: float = 1.0,
                threshold: float = 20.0) -> np.ndarray:
        bx = x * np.asarray(beta, x.dtype)
        linear = bx > threshold
        ctx.save_for_backward(bx, linear)
        smooth = np.logaddexp(0, bx) / np.asarray(beta, x.dtype)  # stable for any bx
        return np.where(linear, x, smooth).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        bx, linear = ctx.saved_tensors
        slope = np.where(linear, 1, sigmoid_array(bx)).astype(bx.dtype, copy=False)
        return grad_out * slope


class GELU(Function):
    """out = x * P(x), P(x) = (1 + erf(x / sqrt 2)) / 2 (or the tanh approximation);  grad_x =
    g * (P(x) + x * e**(-x**2 / 2) / sqrt(2 pi)) (the tanh form's own derivative for "tanh").
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = ("grad_x = g * (P(x) + x * e**(-x**2 / 2) / sqrt(2 pi)) (the tanh form's own "
            "derivative for \"tanh\")")
    flops = per_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, approximate: str = "none") -> np.ndarray:
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            t = np.tanh(inner)
            ctx.save_for_backward(x, t)
            return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
        cdf = 0.5 * (1 + erf(x * np.asarray(1 / math.sqrt(2), x.dtype)))
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, saved = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = saved
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner
        else:
            slope = saved + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad_out * slope.astype(x.dtype, copy=False)


def _floats_only(op: str, x: Any) -> None:
    dtype = np.asarray(getattr(x, "data", x)).dtype
    if dtype.kind != "f":
        raise DtypeError(f"{op}: not implemented for {dtype} tensors (as PyTorch); convert with "
                         ".float() first")


def silu(x: Any) -> Any:
    _floats_only("silu", x)
    return SiLU.apply(x)


def elu(x: Any, alpha: float = 1.0) -> Any:
    _floats_only("elu", x)
    return ELU.apply(x, alpha=number(alpha, "elu"))


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    _floats_only("softplus", x)
    if number(beta, "softplus") == 0:
        raise ValueError("softplus: beta must be nonzero")
    return Softplus.apply(x, beta=beta, threshold=number(threshold, "softplus"))


def gelu(x: Any, approximate: str = "none") -> Any:
    """PyTorch's GELU: exact (erf) by default, or approximate="tanh"."""
    _floats_only("gelu", x)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)
