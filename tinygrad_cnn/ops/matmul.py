"""Matrix products: matmul (batched, with vectors) and linear layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from ._args import shape_of
from ._math import math_of
from .promotion import same_dtype


class MatMul(Function):
    """out = a @ b (NumPy's rules: batch dims broadcast, 1-D operands are vectors);
    grad_a = g @ b^T, grad_b = a^T @ g.
    Shapes: a (..., n, k), b (..., k, m), out (..., n, m); a (k,) acts as (1, k), b (k,) as (k, 1),
    that axis dropped from out; the engine sums grads over broadcast batch dims."""
    rule = "grad_a = g @ b^T, grad_b = a^T @ g"
    graph_backward = True
    reads_saved = ((1,), (0,))  # b for grad_a, a for grad_b

    def flops(self, out: np.ndarray) -> int:
        return 2 * out.size * self.parents[0].shape[-1]  # one multiply-add per inner element

    @staticmethod
    def forward(ctx: Function, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_matmul(a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        a, b = ctx.saved_tensors
        xp = math_of(grad_out)
        # treat vectors as 1-row / 1-column matrices, then drop that axis from their grads
        a2 = xp.expand_dims(a, 0) if a.ndim == 1 else a
        b2 = xp.expand_dims(b, -1) if b.ndim == 1 else b
        g = grad_out
        if b.ndim == 1:  # first: for vector @ vector, g is 0-d and needs this axis before -2
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = xp.matmul(g, xp.swapaxes(b2, -1, -2))
            grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
        if ctx.needs_input_grad[1]:
            grad_b = xp.matmul(xp.swapaxes(a2, -1, -2), g)
            grad_b = grad_b[..., 0] if b.ndim == 1 else grad_b
        return grad_a, grad_b


class Linear(Function):
    """out = x @ weight^T + bias, weight (out_features, in_features), x (..., in_features);
    grad_x = g @ weight, grad_weight = g^T x, grad_bias = sum of g over all but the last axis."""
    rule = ("grad_x = g @ weight, grad_weight = g^T x, grad_bias = sum of g over all but the last "
            "axis")
    graph_backward = True
    reads_saved = ((1,), (0,), ())  # weight for grad_x, x for grad_weight

    def flops(self, out: np.ndarray) -> int:
        bias = out.size if len(self.parents) > 2 else 0
        return 2 * out.size * self.parents[0].shape[-1] + bias

    def backward_flops(self, forward_flops: int, input_grads: tuple) -> int:
        # the bias gradient is a cheap sum, not another product
        return forward_flops * sum(g is not None for g in input_grads[:2])

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None):
        _check_linear(x.shape, weight.shape, None if bias is None else bias.shape)
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, weight = ctx.saved_tensors
        g2 = grad_out.reshape(-1, grad_out.shape[-1])
        grad_x = grad_out @ weight if ctx.needs_input_grad[0] else None
        grad_w = g2.T @ x.reshape(-1, x.shape[-1]) if ctx.needs_input_grad[1] else None
        needs = ctx.needs_input_grad
        grad_b = g2.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return (grad_x, grad_w, grad_b)[: len(needs)]


def _check_matmul(a: tuple, b: tuple) -> None:
    if not a or not b:
        raise ValueError(f"matmul: both operands need at least one dimension, got {a} and {b}")
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a} and {b} are not aligned: {inner_a} (last dim of the first) "
            f"!= {inner_b} ({'only' if len(b) == 1 else 'second-to-last'} dim of the second)"
        )
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims of shapes {a} and {b} do not broadcast") from None


def _check_linear(x: tuple, w: tuple, b: tuple | None) -> None:
    if len(w) != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w}")
    if x[-1:] != w[1:]:
        raise ValueError(f"linear: input of shape {x} has {x[-1] if x else 0} features but the "
                         f"weight of shape {w} expects {w[1]}")
    if b is not None and b != w[:1]:
        raise ValueError(f"linear: bias must have shape ({w[0]},) for the weight of shape {w}, "
                         f"got {b}")


def matmul(a: Any, b: Any) -> Any:
    same_dtype("matmul", input=a, other=b)
    return MatMul.apply(a, b)


def mm(a: Any, b: Any) -> Any:
    """matmul of two matrices (PyTorch's mm refuses other ranks)."""
    for name, x in (("input", a), ("mat2", b)):
        if len(shape_of(x)) != 2:
            raise RuntimeError(f"mm: {name} must be a matrix (2-D), got {len(shape_of(x))}-D")
    return matmul(a, b)


def linear(x: Any, weight: Any, bias: Any = None) -> Any:
    same_dtype("linear", input=x, weight=weight, bias=bias)
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
