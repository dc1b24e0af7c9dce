"""Activations under PyTorch's names and defaults: sigmoid, relu, tanh, leaky_relu,
hardtanh/relu6, softmax, log_softmax, dropout, and the smooth ones silu, elu, softplus, gelu."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import rng
from ..engine import Function
from ._args import normalize_axis, numpy_names
from ._flops import per_element, per_input_element
from ._math import math_of
from .promotion import DtypeError
from .shapes import number


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    # stable as written: for x < -88 (float32) e**-x overflows to inf and 1 / (1 + inf) is
    # exactly the right limit 0, so that overflow is expected and silenced; no other step can
    # overflow, and small outputs keep full relative precision (unlike 1 - 1 / (1 + e**x)).
    # One exp in place: half the time of the two-exp e**min(x,0) / (1 + e**-|x|) form.
    with np.errstate(over="ignore"):
        out = np.negative(x, out=np.empty_like(x))  # out=: a 0-d input stays an array
        np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    return out


class Sigmoid(Function):
    """out = 1 / (1 + e**-x);  grad_x = g * out * (1 - out).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad_out * out * (1 - out)


class ReLU(Function):
    """out = max(x, 0);  grad_x = g where x > 0, else 0 (relu'(0) = 0, as PyTorch).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (ctx.saved_tensors[0] > 0)


class Tanh(Function):
    """out = tanh x;  grad_x = g * (1 - out**2).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad_out * (1 - out * out)


class LeakyReLU(Function):
    """out = x if x > 0 else slope * x;  grad_x = g if x > 0 else slope * g (slope at x = 0, as
    PyTorch). Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g if x > 0 else slope * g (slope at x = 0, as PyTorch)"
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return math_of(grad_out).where(x > 0, grad_out, grad_out * ctx.negative_slope)


class Softmax(Function):
    """out = e**x / sum(e**x) along axis;  grad_x = out * (g - sum(g * out, axis)).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = -1) -> np.ndarray:
        # shifting by the max leaves softmax unchanged and keeps exp's argument <= 0 (initial:
        # an empty x has no max, and its softmax is empty, as PyTorch's)
        e = np.exp(x - x.max(axis=axis, keepdims=True, initial=-np.inf))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return out * (grad_out - (grad_out * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """out = x - logsumexp(x) along axis;  grad_x = g - softmax(x) * sum(g, axis).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = -1) -> np.ndarray:
        # logsumexp with the max pulled out: exp never overflows and log never sees 0
        shifted = x - x.max(axis=axis, keepdims=True, initial=-np.inf)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)) if x.size else shifted
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad_out - math_of(grad_out).exp(out) * grad_out.sum(axis=ctx.axis, keepdims=True)


class Hardtanh(Function):
    """out = x clipped to [min_val, max_val];  grad_x = g where min_val < x < max_val, else 0
    (PyTorch's hardtanh and relu6: 0 at the bounds, unlike clamp).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, min_val: float = -1.0,
                max_val: float = 1.0) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        return grad_out * ((x > low) & (x < high))


class Dropout(Function):
    """out = x * mask / (1 - p), mask ~ Bernoulli(1 - p);  grad_x = g * mask / (1 - p).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, p: float = 0.5) -> np.ndarray:
        keep = rng.generator().random(x.shape) >= p
        scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
        ctx.save_for_backward(keep * scale)
        return x * ctx.saved_tensors[0]

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * ctx.saved_tensors[0]


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


class Erf(Function):
    """out = erf x;  grad_x = g * 2 / sqrt(pi) * e**(-x**2).
    GELU's backward under create_graph, so its normal CDF stays differentiable to any order.
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return erf(x)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad_out * (2 / math.sqrt(math.pi)) * math_of(grad_out).exp(-(x * x))


class SiLU(Function):
    """out = x * s;  grad_x = g * s * (1 + x * (1 - s)), s = sigmoid(x).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        s = sigmoid_array(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, s = ctx.saved_tensors
        if math_of(grad_out) is not np:  # s is an intermediate: recomputed, a function of x
            s = Sigmoid.apply(x)
        return grad_out * s * (1 + x * (1 - s))


class ELU(Function):
    """out = x where x > 0, else alpha * (e**x - 1);  grad_x = g where x > 0, else
    g * alpha * e**x (alpha at 0, as PyTorch).
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g where x > 0, else g * alpha * e**x (alpha at 0, as PyTorch)"
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        negative = alpha * np.expm1(np.minimum(x, 0))  # no overflow for large positive x
        ctx.save_for_backward(x, negative)
        ctx.alpha = alpha
        return np.where(x > 0, x, negative).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, negative = ctx.saved_tensors
        xp = math_of(grad_out)
        if xp is not np:  # negative is an intermediate: recomputed, a function of x
            negative = ctx.alpha * xp.expm1(xp.minimum(x, 0))
        return grad_out * xp.where(x > 0, 1, negative + ctx.alpha)


class Softplus(Function):
    """out = log(1 + e**(beta x)) / beta, and x where beta x > threshold (PyTorch's linear
    branch);  grad_x = g * sigmoid(beta x), and g where beta x > threshold.
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = "grad_x = g * sigmoid(beta x), and g where beta x > threshold"
    flops = per_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, beta: float = 1.0,
                threshold: float = 20.0) -> np.ndarray:
        bx = x * np.asarray(beta, x.dtype)
        linear = bx > threshold
        ctx.save_for_backward(x, bx, linear)
        ctx.beta = beta
        smooth = np.logaddexp(0, bx) / np.asarray(beta, x.dtype)  # stable for any bx
        return np.where(linear, x, smooth).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        x, bx, linear = ctx.saved_tensors
        xp = math_of(grad_out)
        # bx is an intermediate: under create_graph it is recomputed from x, so the slope stays
        # a function of x
        slope = sigmoid_array(bx) if xp is np else Sigmoid.apply(x * ctx.beta)
        return grad_out * xp.where(linear, 1, slope)


class GELU(Function):
    """out = x * P(x), P(x) = (1 + erf(x / sqrt 2)) / 2 (or the tanh approximation);  grad_x =
    g * (P(x) + x * e**(-x**2 / 2) / sqrt(2 pi)) (the tanh form's own derivative for "tanh").
    Shapes: out, g and grad_x all have x's shape.
    """
    rule = ("grad_x = g * (P(x) + x * e**(-x**2 / 2) / sqrt(2 pi)) (the tanh form's own "
            "derivative for \"tanh\")")
    flops = per_element
    graph_backward = True

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
        xp = math_of(grad_out)
        if ctx.approximate == "tanh":
            # t is an intermediate: under create_graph it is recomputed, a function of x
            t = saved if xp is np else xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner
        else:
            cdf = saved if xp is np else 0.5 * (1 + Erf.apply(x * (1 / math.sqrt(2))))
            slope = cdf + x * xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad_out * slope


def sigmoid(x: Any) -> Any:
    return Sigmoid.apply(x)


def relu(x: Any) -> Any:
    return ReLU.apply(x)


def tanh(x: Any) -> Any:
    return Tanh.apply(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    return LeakyReLU.apply(x, negative_slope=number(negative_slope, "leaky_relu"))


def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    low, high = number(min_val, "hardtanh"), number(max_val, "hardtanh")
    if low > high:
        raise ValueError(f"hardtanh: min_val ({low}) must not exceed max_val ({high})")
    return Hardtanh.apply(x, min_val=low, max_val=high)


def relu6(x: Any) -> Any:
    return hardtanh(x, 0.0, 6.0)


@numpy_names
def softmax(x: Any, dim: int = -1) -> Any:
    _floats_only("softmax", x)
    return Softmax.apply(x, axis=normalize_axis(dim, np.shape(x.data), "softmax"))


@numpy_names
def log_softmax(x: Any, dim: int = -1) -> Any:
    _floats_only("log_softmax", x)
    return LogSoftmax.apply(x, axis=normalize_axis(dim, np.shape(x.data), "log_softmax"))


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Any:
    """Zero each element with probability p while training (scaling the rest by 1/(1-p));
    the identity in eval mode or when p == 0."""
    if not 0.0 <= number(p, "dropout") <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return Dropout.apply(x, p=p)


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
