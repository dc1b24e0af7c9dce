"""Losses: fused cross_entropy, nll_loss, mse_loss, binary_cross_entropy (+ with_logits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Node
from ._args import dtype_of, shape_of
from ._math import math_of
from .activation import Sigmoid, Softmax
from .promotion import promote, result_type, same_dtype

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """Apply the reduction; 'mean' divides by `count` (the non-ignored elements)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if count == 0:  # every target ignored: PyTorch's 0 / 0, without NumPy's warning
        return np.full((), np.nan, loss.dtype)
    return total / count


def _loss_scale(grad_out: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """d(reduced loss) / d(each element's loss), times grad_out."""
    return grad_out / max(count, 1) if reduction == "mean" else grad_out


def _class_targets(op: str, x: np.ndarray, target: np.ndarray, ignore_index: int):
    """Check integer class targets (N, d1...) against input x (N, C, d1...). Returns the
    flattened targets (ignored entries point at class 0), the flat mask of non-ignored entries
    (None when nothing can be ignored) and their count."""
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(
            f"{op}: target must hold integer class indices, got dtype {target.dtype} "
            "(class-probability targets are not supported)"
        )
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, ...), got {x.shape}")
    expected = x.shape[:1] + x.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: target shape {target.shape} does not match input shape {x.shape} "
            f"(expected target shape {expected})"
        )
    classes = x.shape[1]
    target = target.reshape(-1)
    valid = None
    in_range = target.size == 0 or (target.min() >= 0 and target.max() < classes)
    if not in_range or 0 <= ignore_index < classes:
        valid = target != ignore_index
        bad = valid & ((target < 0) | (target >= classes))
        if bad.any():
            raise IndexError(
                f"{op}: target {target[bad][0]} is out of bounds for {classes} classes "
                f"(expected 0..{classes - 1}, or ignore_index={ignore_index})"
            )
        target = np.where(valid, target, 0)
    count = target.size if valid is None else int(valid.sum())
    return target, valid, count


def _rows(x: np.ndarray) -> np.ndarray:
    """(N, C, d1...) as (M, C) rows, classes last: x itself for (N, C), a copy otherwise."""
    return x if x.ndim == 2 else np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of _rows: (M, C) back to (N, C, d1...)."""
    if len(shape) == 2:
        return grad
    return np.moveaxis(grad.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)


def _graph_class_grad(ctx: Function, grad_out: Node, per_class: np.ndarray, valid: Any) -> Node:
    """create_graph's gradient for a class-index loss whose grad_x is per_class (N, C, d1...)
    times the scale: grad_out (per element for 'none', over count for 'mean'), 0 where ignored,
    broadcast along the class axis (1)."""
    scale = _loss_scale(grad_out, ctx.reduction, ctx.count)
    shape = ctx.x_shape[:1] + (1,) + ctx.x_shape[2:]
    if ctx.reduction == "none":
        scale = scale.reshape(shape)
    if valid is not None:
        scale = scale * valid.data.reshape(shape).astype(per_class.dtype)
    return scale * per_class


def _onehot(flat_target: np.ndarray, x_shape: tuple, dtype: Any) -> np.ndarray:
    """1 at each target class along axis 1, as an array of x's shape."""
    rows = np.zeros((len(flat_target), x_shape[1]), dtype)
    rows[np.arange(len(flat_target)), flat_target] = 1
    return _unrows(rows, x_shape)


def check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


class CrossEntropy(Function):
    """loss_i = (1 - s) * -log p[i, t_i] + s * mean_c(-log p[i, c]), p = softmax(x) along axis 1;
    grad_x = (p - (1 - s) * onehot(t) - s / C) * scale (scale: 1/count for 'mean', 0 where
    ignored). x (N, C, d1...), target (N, d1...) integer classes."""
    rule = ("grad_x = (p - (1 - s) * onehot(t) - s / C) * scale (scale: 1/count for 'mean', 0 "
            "where ignored)")
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, target: np.ndarray, reduction: str,
                label_smoothing: float, ignore_index: int) -> np.ndarray:
        flat_target, valid, count = _class_targets("cross_entropy", x, target, ignore_index)
        rows = _rows(x)
        picks = np.arange(len(rows)), flat_target
        # log-sum-exp with the max pulled out: exp's argument is <= 0, so it never overflows
        # (logits of +-1000 are fine) and the sum is >= 1, so its log is finite
        shifted = rows - rows.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1)
        log_sum = np.log(sum_exp)
        loss = log_sum - shifted[picks]  # -log p[target]
        if label_smoothing:
            smooth = log_sum - shifted.sum(axis=1) / rows.shape[1]  # mean over classes of -log p
            loss = (1 - label_smoothing) * loss + label_smoothing * smooth
        if valid is not None:
            loss *= valid
        ctx.save_for_backward(exp, sum_exp, flat_target, valid)
        ctx.reduction, ctx.count, ctx.label_smoothing = reduction, count, label_smoothing
        ctx.x_shape = x.shape
        return _reduce(loss.reshape(target.shape), reduction, count)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        exp, sum_exp, flat_target, valid = ctx.saved_tensors
        if isinstance(grad_out, Node):  # create_graph: p recomputed from x, a function of x
            smoothing, x = ctx.label_smoothing, ctx.parents[0]
            onehot = _onehot(flat_target.data, ctx.x_shape, x.data.dtype)
            target = onehot * (1 - smoothing) + smoothing / ctx.x_shape[1]
            return _graph_class_grad(ctx, grad_out, Softmax.apply(x, axis=1) - target, valid), None
        scale = np.ravel(_loss_scale(grad_out, ctx.reduction, ctx.count))  # (1,) or (M,)
        if valid is not None:
            scale = scale * valid
        smoothing = ctx.label_smoothing
        grad_x = exp * (scale / sum_exp)[:, None]  # softmax * scale
        if smoothing:
            grad_x -= (scale * (smoothing / exp.shape[1]))[:, None]
        grad_x[np.arange(len(exp)), flat_target] -= (1 - smoothing) * scale
        return _unrows(grad_x, ctx.x_shape), None


class NLLLoss(Function):
    """loss_i = -x[i, t_i];  grad_x = -onehot(t) * scale. x (N, C, d1...) log-probabilities,
    target (N, d1...) integer classes."""
    rule = "grad_x = -onehot(t) * scale"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, target: np.ndarray, reduction: str,
                ignore_index: int) -> np.ndarray:
        flat_target, valid, count = _class_targets("nll_loss", x, target, ignore_index)
        rows = _rows(x)
        loss = -rows[np.arange(len(rows)), flat_target]
        if valid is not None:
            loss *= valid
        ctx.save_for_backward(flat_target, valid)
        ctx.reduction, ctx.count, ctx.x_shape, ctx.dtype = reduction, count, x.shape, x.dtype
        return _reduce(loss.reshape(target.shape), reduction, count)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        flat_target, valid = ctx.saved_tensors
        if isinstance(grad_out, Node):  # create_graph: the same, as graph ops on grad_out
            minus_onehot = -_onehot(flat_target.data, ctx.x_shape, ctx.dtype)
            return _graph_class_grad(ctx, grad_out, minus_onehot, valid), None
        scale = np.ravel(_loss_scale(grad_out, ctx.reduction, ctx.count))
        if valid is not None:
            scale = scale * valid
        grad_x = np.zeros((len(flat_target), ctx.x_shape[1]), ctx.dtype)
        grad_x[np.arange(len(flat_target)), flat_target] = -scale
        return _unrows(grad_x, ctx.x_shape), None


class MSELoss(Function):
    """loss = (x - y)**2;  grad_x = 2 (x - y) * scale, grad_y = -grad_x. x, y same shape."""
    rule = "grad_x = 2 (x - y) * scale, grad_y = -grad_x"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
        diff = x - y
        ctx.save_for_backward(diff)
        ctx.reduction, ctx.count = reduction, diff.size
        return _reduce(diff * diff, reduction, diff.size)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        (diff,) = ctx.saved_tensors
        if isinstance(grad_out, Node):  # create_graph: x - y recomputed, a function of both
            x, y = ctx.parents
            diff = x - y
        grad_x = diff * (2 * _loss_scale(grad_out, ctx.reduction, ctx.count))
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """loss = -(y log p + (1 - y) log(1 - p)), each log clamped to >= -100 (as PyTorch);
    grad_p = (p - y) / max(p (1 - p), 1e-12) * scale, grad_y = (log(1-p) - log p) * scale."""
    rule = "grad_p = (p - y) / max(p (1 - p), 1e-12) * scale, grad_y = (log(1-p) - log p) * scale"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, p: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError(
                "binary_cross_entropy: input must hold probabilities in [0, 1], got values from "
                f"{p.min():.4g} to {p.max():.4g} (use binary_cross_entropy_with_logits for logits)"
            )
        # the clamp keeps the loss finite at p = 0 and 1; log(0) = -inf is expected there
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        log_odds = log_p - log_1mp
        ctx.save_for_backward(p, y, log_odds)
        ctx.reduction, ctx.count = reduction, p.size
        return _reduce(-(log_1mp + y * log_odds), reduction, p.size)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        p, y, log_odds = ctx.saved_tensors
        xp = math_of(grad_out)
        scale = _loss_scale(grad_out, ctx.reduction, ctx.count)
        grad_p = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_p = (p - y) * scale / xp.maximum(p * (1 - p), 1e-12)
        if ctx.needs_input_grad[1]:
            if xp is not np:  # create_graph: log_odds recomputed from p, a function of p
                log_odds = xp.maximum(xp.log(p), -100) - xp.maximum(xp.log(1 - p), -100)
            grad_y = -log_odds * scale
        return grad_p, grad_y


class BinaryCrossEntropyWithLogits(Function):
    """loss = max(z, 0) - z y + log(1 + e**-|z|) (= BCE of sigmoid(z));
    grad_z = (sigmoid(z) - y) * scale, grad_y = -z * scale. z, y same shape."""
    rule = "grad_z = (sigmoid(z) - y) * scale, grad_y = -z * scale"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, z: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
        # stable form: exp only sees -|z| <= 0, so nothing overflows at any logit
        exp = np.exp(-np.abs(z))
        loss = np.maximum(z, 0) - z * y + np.log1p(exp)
        ctx.save_for_backward(z, y, exp)
        ctx.reduction, ctx.count = reduction, z.size
        return _reduce(loss, reduction, z.size)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        z, y, exp = ctx.saved_tensors
        scale = _loss_scale(grad_out, ctx.reduction, ctx.count)
        grad_z = None
        if ctx.needs_input_grad[0]:
            if isinstance(grad_out, Node):  # create_graph: sigmoid(z) as an op, a function of z
                sigmoid = Sigmoid.apply(z)
            else:
                sigmoid = np.where(z >= 0, 1 / (1 + exp), exp / (1 + exp))
            grad_z = (sigmoid - y) * scale
        grad_y = -z * scale if ctx.needs_input_grad[1] else None
        return grad_z, grad_y


def _class_index_input(target: Any) -> Any:
    """Lists become integer arrays; Tensors and arrays pass through (dtype checked in forward)."""
    return np.asarray(target) if isinstance(target, (list, tuple, int)) else target


def _float_target(op: str, input: Any, target: Any) -> Any:  # noqa: A002 (PyTorch's name)
    """Check shapes match; non-Tensor targets take the input's dtype (float32 stays float32)."""
    if shape_of(input) != shape_of(target):
        raise ValueError(
            f"{op}: target shape {shape_of(target)} does not match input shape {shape_of(input)}"
        )
    if isinstance(target, (np.ndarray, list, tuple, int, float)):
        return np.asarray(target, dtype=dtype_of(input))
    same_dtype(op, input=input, target=target)
    return target


def cross_entropy(logits: Any, target: Any, reduction: str = "mean",
                  label_smoothing: float = 0.0, ignore_index: int = -100) -> Any:
    """Like torch.nn.functional.cross_entropy with class-index targets: log_softmax over axis 1
    and the negative log-likelihood of the target class, fused into one stable op."""
    check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    return CrossEntropy.apply(logits, _class_index_input(target), reduction=reduction,
                              label_smoothing=label_smoothing, ignore_index=ignore_index)


def nll_loss(log_probs: Any, target: Any, reduction: str = "mean",
             ignore_index: int = -100) -> Any:
    """Like torch.nn.functional.nll_loss: minus the input at each target class (axis 1)."""
    check_reduction("nll_loss", reduction)
    return NLLLoss.apply(log_probs, _class_index_input(target), reduction=reduction,
                         ignore_index=ignore_index)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:  # noqa: A002
    """Like torch.nn.functional.mse_loss: squared error; differentiable in both arguments."""
    check_reduction("mse_loss", reduction)
    input, target = _promoted("mse_loss", input, target, int_target=True)
    return MSELoss.apply(input, _float_target("mse_loss", input, target), reduction=reduction)


def _promoted(op: str, input: Any, target: Any, int_target: bool) -> tuple[Any, Any]:  # noqa: A002
    """Input and target of different dtypes in PyTorch's result dtype, as its mse_loss takes
    them (a float32 input with an int64 target is float32) and its bce_with_logits between
    floats; any other mix is left to `_float_target`, which refuses it naming both."""
    if not (isinstance(input, Node) and isinstance(target, Node)) or input.dtype == target.dtype:
        return input, target
    dtype = result_type(op, input, target)
    if dtype.kind != "f" or (target.dtype.kind != "f" and not int_target):
        return input, target
    return tuple(promote(op, dtype, input, target))


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Any:  # noqa: A002
    """Like torch.nn.functional.binary_cross_entropy: input holds probabilities in [0, 1]."""
    check_reduction("binary_cross_entropy", reduction)
    target = _float_target("binary_cross_entropy", input, target)
    return BinaryCrossEntropy.apply(input, target, reduction=reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any,  # noqa: A002
                                     reduction: str = "mean") -> Any:
    """Like torch.nn.functional.binary_cross_entropy_with_logits: sigmoid + BCE, stable."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    input, target = _promoted("binary_cross_entropy_with_logits", input, target,
                              int_target=False)
    target = _float_target("binary_cross_entropy_with_logits", input, target)
    return BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction)
