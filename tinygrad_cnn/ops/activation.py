"""Activations: sigmoid, relu, tanh, leaky_relu, hardtanh/relu6, softmax, log_softmax and
dropout (the smooth ones, silu, elu, softplus and gelu, are in activation_smooth.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rng
from ..engine import Function
from ._args import normalize_axis, torch_names
from ._flops import per_element, per_input_element
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

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad_out, grad_out * ctx.negative_slope)


class Softmax(Function):
    """out = e**x / sum(e**x) along axis;  grad_x = out * (g - sum(g * out, axis)).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_input_element

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = -1) -> np.ndarray:
        # shifting by the max leaves softmax unchanged and keeps exp's argument <= 0
        e = np.exp(x - x.max(axis=axis, keepdims=True))
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

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, axis: int = -1) -> np.ndarray:
        # logsumexp with the max pulled out: exp never overflows and log never sees 0
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad_out - np.exp(out) * grad_out.sum(axis=ctx.axis, keepdims=True)


class Hardtanh(Function):
    """out = x clipped to [min_val, max_val];  grad_x = g where min_val < x < max_val, else 0
    (PyTorch's hardtanh and relu6: 0 at the bounds, unlike clamp).
    Shapes: out, g and grad_x all have x's shape.
    """
    flops = per_element

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

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, p: float = 0.5) -> np.ndarray:
        keep = rng.generator().random(x.shape) >= p
        scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
        ctx.save_for_backward(keep * scale)
        return x * ctx.saved_tensors[0]

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * ctx.saved_tensors[0]


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


@torch_names
def softmax(x: Any, axis: int = -1) -> Any:
    return Softmax.apply(x, axis=normalize_axis(axis, np.shape(x.data), "softmax"))


@torch_names
def log_softmax(x: Any, axis: int = -1) -> Any:
    return LogSoftmax.apply(x, axis=normalize_axis(axis, np.shape(x.data), "log_softmax"))


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
