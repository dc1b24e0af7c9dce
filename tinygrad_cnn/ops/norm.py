"""Normalization ops: batch_norm, layer_norm and the per-sample normalize, each one fused op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import threads
from ..engine import Function, Node
from . import compiled
from ._args import array_of, shape_of
from ._math import GraphMath


class _Planes:
    """x (N, C, ...) in its own memory order as (rows, C, L), L the elements after C there, so
    per-channel ufuncs stream whatever layout a conv left ((N, H, C, W) after toeplitz, (C, N, H,
    W) after taps). With short L the (C,) vectors are repeated L times and rows are C*L long:
    NumPy's inner loops over only L = 8..24 elements were the cost (docs/benchmarks.md). With
    the compiled tier on and x float32 or float64, each pass below is one kernel over the same
    working arrays (ops/compiled.py's "norm" family); the NumPy code is the reference."""

    def __init__(self, x: np.ndarray) -> None:
        self.order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])
        self.memory_shape = tuple(x.shape[axis] for axis in self.order)
        at = self.order.index(1)
        self.inner = int(np.prod(self.memory_shape[at + 1:]))
        rows = int(np.prod(self.memory_shape[:at]))
        self.tiled = self.inner < 256 and rows > 1
        self.shape = (rows, x.shape[1] * self.inner) if self.tiled else (rows, x.shape[1], -1)
        self.compiled = x.dtype in (np.float32, np.float64) and compiled.enabled()

    def work(self, a: np.ndarray) -> np.ndarray:
        """a (x's shape) in the working shape: a view when a has x's memory layout."""
        return a.transpose(self.order).reshape(self.shape)

    def restore(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(self.memory_shape).transpose(np.argsort(self.order))

    def vector(self, v: np.ndarray) -> np.ndarray:
        return np.repeat(v, self.inner) if self.tiled else v[:, None]

    def sum(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """Per-channel sum of a working-shape array, or of a * b without the temporary (NumPy
        on both tiers: its float32 sums are faster than the kernels' float64 ones)."""
        if self.tiled:
            sums = a.sum(axis=0) if b is None else np.einsum("rk,rk->k", a, b)
            return sums.reshape(-1, self.inner).sum(axis=1)
        return np.einsum("rcl->c", a) if b is None else np.einsum("rcl,rcl->c", a, b)

    def sums(self, g: np.ndarray, source: np.ndarray, mean: np.ndarray | None) -> tuple:
        """Per channel: sum of g and sum of g * (source - mean) (source itself when mean is
        None), one pass over both on the compiled tier."""
        if self._kernels_take(g, source, mean):
            return self._kernel_sums(g, source, mean)
        centered = source if mean is None else source - self.vector(mean)
        return self.sum(g), self.sum(g, centered)

    def centre(self, x: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x - mean and its per-channel sum of squares."""
        if self._kernels_take(x, mean):
            source, squares = np.empty(x.shape, x.dtype), self._accumulator()
            self._loops().centre(_dense(x), self._flat(mean, x.dtype), source, squares)
            return source, self._per_channel(squares, x.dtype)
        source = x - self.vector(mean)
        return source, self.sum(source, source)

    def affine(self, a: np.ndarray, scale: np.ndarray, shift: Any) -> np.ndarray:
        """a * scale + shift per channel (shift None: a * scale)."""
        if shift is None and self._kernels_take(a, scale):
            shift = np.full_like(scale, -0.0)  # y + -0.0 is y for every y, -0.0 included
        if self._kernels_take(a, scale, shift):
            out = np.empty(a.shape, a.dtype)
            self._loops().affine(_dense(a), self._flat(scale, a.dtype), self._flat(shift, a.dtype),
                                 out)
            return out
        out = a * self.vector(scale)
        if shift is not None:
            out += self.vector(shift)
        return out

    def standardize_grad(self, g: np.ndarray, centered: np.ndarray, scale: np.ndarray,
                         mean_g: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """scale * (g - mean_g - centered * coef) per channel (_standardize_grad)."""
        if self._kernels_take(g, centered, scale, mean_g, coef):
            out = np.empty(g.shape, g.dtype)
            vectors = (self._flat(v, g.dtype) for v in (scale, mean_g, coef))
            self._loops().grad(_dense(g), _dense(centered), *vectors, out)
            return out
        vector = self.vector
        return _standardize_grad(g, centered, vector(scale), vector(mean_g), vector(coef))

    # ----- the compiled tier's side
    def _kernels_take(self, a: np.ndarray, *others: Any) -> bool:
        """Whether the kernels, compiled for one float dtype, give NumPy's result: the other
        working arrays have a's dtype and the (C,) vectors promote to it (a float64 weight on
        float32 x makes NumPy's out float64: that stays NumPy's)."""
        if not (self.compiled and a.dtype in (np.float32, np.float64)):
            return False
        return all(o is None or (np.result_type(a.dtype, o.dtype) == a.dtype
                                 and (o.ndim == 1 or o.dtype == a.dtype)) for o in others)

    def _loops(self) -> Any:
        family = compiled.kernels("norm")
        return family.columns if self.tiled else family.planes

    def _flat(self, v: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """A (C,) vector as the kernels index it: in x's dtype, repeated per element of a
        tiled row."""
        v = v.astype(dtype, copy=False)
        return np.repeat(v, self.inner) if self.tiled else _dense(v)

    def _accumulator(self) -> np.ndarray:
        return np.zeros(self.shape[1])

    def _per_channel(self, sums: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The kernels' float64 sums (one per column when tiled) as (C,) sums in x's dtype."""
        if self.tiled:
            sums = sums.reshape(-1, self.inner).sum(axis=1)
        return sums.astype(dtype)

    def _kernel_sums(self, a: np.ndarray, b: np.ndarray, mean: np.ndarray | None) -> tuple:
        sums, products = self._accumulator(), self._accumulator()
        mean = np.zeros(self.shape[1], a.dtype) if mean is None else self._flat(mean, a.dtype)
        self._loops().sums(_dense(a), _dense(b), mean, sums, products)
        return self._per_channel(sums, a.dtype), self._per_channel(products, a.dtype)


def _dense(a: np.ndarray) -> np.ndarray:
    """a itself when C-contiguous (the working arrays of a conv's output are), else a copy: the
    kernels are compiled for contiguous arrays only."""
    return np.ascontiguousarray(a)


def _standardize_grad(g: np.ndarray, xhat: np.ndarray, scale: Any, mean_g: Any, mean_gx: Any):
    """Closed-form gradient through xhat = (x - mean(x)) / sqrt(var(x) + eps) when mean and var
    are the batch's own statistics: scale * (g - mean(g) - xhat * mean(g * xhat)). (batch_norm
    passes x - mean for xhat, with mean_gx multiplied by inv_std to match.)"""
    grad_x = xhat * mean_gx
    grad_x += mean_g
    np.subtract(g, grad_x, out=grad_x)
    grad_x *= scale
    return grad_x


def _affine(xhat: np.ndarray, weight: Any, bias: Any) -> np.ndarray:
    """xhat * weight + bias, skipping the missing ones (xhat itself when both are None)."""
    out = xhat if weight is None else xhat * weight
    if bias is None:
        return out
    if out is xhat:
        return xhat + bias
    out += bias
    return out


def _reshaped(param: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if param is None else param.reshape(shape)


def _split_affine(affine: tuple, has_weight: bool, has_bias: bool) -> tuple[Any, Any]:
    weight = affine[0] if has_weight else None
    bias = affine[-1] if has_bias else None
    return weight, bias


def _affine_grads(ctx: Function, grad_w: Any, grad_b: Any) -> tuple:
    """Append the weight / bias gradients for the inputs that exist."""
    return ((grad_w,) if ctx.has_weight else ()) + ((grad_b,) if ctx.has_bias else ())


def _graph_standardize(x: Node, axes: tuple[int, ...], eps: float) -> tuple[Node, Node]:
    """create_graph: xhat and inv_std of x over axes as ops on x (forward's are intermediates,
    which would be constants in the gradient's graph)."""
    centered = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1 / GraphMath.sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
    return centered * inv_std, inv_std


def _graph_affine_backward(ctx: Function, g: Node, xhat: Any, inv_std: Any, weight: Any,
                           axes: tuple[int, ...], param_axes: tuple[int, ...],
                           batch_stats: bool) -> tuple:
    """create_graph: the gradients of out = xhat * weight + bias as ops. With batch_stats the
    statistics over `axes` are x's own: grad_x = inv_std * (gh - mean(gh) - xhat * mean(gh *
    xhat)), gh = g * weight; else grad_x = gh * inv_std. grad_w, grad_b sum over param_axes."""
    needs, parents = ctx.needs_input_grad, ctx.parents
    grad_x = grad_w = grad_b = None
    if needs[0]:
        gh = g if weight is None else g * weight
        if batch_stats:
            gh = (gh - gh.mean(axis=axes, keepdims=True)
                  - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
        grad_x = gh * inv_std
    if ctx.has_weight and needs[1]:
        grad_w = _sum_over(g * xhat, param_axes).reshape(parents[1].shape)
    if ctx.has_bias and needs[-1]:
        grad_b = _sum_over(g, param_axes).reshape(parents[-1].shape)
    return (grad_x,) + _affine_grads(ctx, grad_w, grad_b)


def _sum_over(a: Node, axes: tuple[int, ...]) -> Node:
    return a.sum(axis=axes) if axes else a


class BatchNorm(Function):
    """out = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps) per channel (axis 1).
    Training (batch stats): grad_x = w * inv_std * (g - mean(g) - xhat * mean(g * xhat));
    eval (running stats): grad_x = g * w * inv_std. grad_w = sum(g * xhat), grad_b = sum(g).
    x (N, C, ...); weight, bias, running stats (C,)."""
    rule = ("grad_x = w * inv_std * (g - mean(g) - xhat * mean(g * xhat)); eval (running stats): "
            "grad_x = g * w * inv_std")
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, *affine: np.ndarray, running_mean: Any,
                running_var: Any, training: bool, momentum: float, eps: float,
                has_weight: bool, has_bias: bool) -> np.ndarray:
        count = x.size // x.shape[1]
        weight, bias = _split_affine(affine, has_weight, has_bias)
        planes = _Planes(x)
        x = planes.work(x)
        if training:  # all_sum: the whole batch's sums when nn/parallel.py split it
            sum_x, count = threads.all_sum((planes.sum(x), count))
            mean = sum_x / count
            source, sum_squares = planes.centre(x, mean)
            var = threads.all_sum(sum_squares) / count
            if running_mean is not None and threads.first_slice():
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += (momentum * count / (count - 1)) * var  # unbiased, as PyTorch
        else:
            # copies (C floats): a later training forward updates the running stats in place
            mean = running_mean.astype(x.dtype)
            var = running_var.astype(x.dtype)
            source = x
        inv_std = 1.0 / np.sqrt(var + eps)
        scale = inv_std if weight is None else inv_std * weight
        # out = source * scale + shift: two passes over memory (one kernel on the compiled tier),
        # xhat is never materialised
        shift = bias if training else -mean * scale + (0 if bias is None else bias)
        out = planes.affine(source, scale, shift)
        ctx.save_for_backward(source, inv_std, weight, None if training else mean)
        ctx.training, ctx.has_weight, ctx.has_bias = training, has_weight, has_bias
        ctx.count, ctx.planes, ctx.eps = count, planes, eps
        ctx.sliced = training and threads.slice_of()[0] is not None
        return planes.restore(out)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):
            return _batch_norm_graph(ctx, grad_out)
        # training saved centered = x - mean; eval saved x itself and the running mean
        source, inv_std, weight, running_mean = ctx.saved_tensors
        planes = ctx.planes
        g = planes.work(grad_out)

        need_x = ctx.needs_input_grad[0]
        need_w = ctx.has_weight and ctx.needs_input_grad[1]
        need_b = ctx.has_bias and ctx.needs_input_grad[-1]
        batch_terms = need_x and ctx.training
        sum_g = sum_gxhat = None
        if batch_terms or need_w:  # eval: centred on the running mean inside the sums
            sum_g, sum_gc = planes.sums(g, source, None if ctx.training else running_mean)
            sum_gxhat = sum_gc * inv_std
        elif need_b:
            sum_g = planes.sum(g)
        scale = inv_std if weight is None else inv_std * weight
        grad_x = None
        if batch_terms:  # xhat * mean(g * xhat) = centered * (inv_std * mean(g * xhat))
            # over the whole batch when split (the weight and bias keep this slice's share)
            all_g, all_gxhat = threads.all_sum((sum_g, sum_gxhat))
            coef = all_gxhat * inv_std / ctx.count
            grad_x = planes.standardize_grad(g, source, scale, all_g / ctx.count, coef)
        elif need_x:
            grad_x = planes.affine(g, scale, None)
        grad_x = None if grad_x is None else planes.restore(grad_x)
        return (grad_x,) + _affine_grads(ctx, sum_gxhat if need_w else None,
                                         sum_g if need_b else None)


def _batch_norm_graph(ctx: Function, g: Node) -> tuple:
    """create_graph: batch norm's backward as ops on x; training recomputes the batch
    statistics from x, eval reads the running ones (constants). x is the input node
    (ctx.parents): forward saved x - mean, an intermediate, not x."""
    if ctx.sliced:
        raise RuntimeError(
            "create_graph through batch norm whose batch was split across threads: the graph "
            "of each slice sees only its own statistics. Call tg.set_num_threads(1) before the "
            "forward pass to differentiate twice through BatchNorm in training mode.")
    x, shape = ctx.parents[0], (1, -1) + (1,) * (g.ndim - 2)
    axes = (0,) + tuple(range(2, g.ndim))
    if ctx.training:
        xhat, inv_std = _graph_standardize(x, axes, ctx.eps)
    else:
        _, inv_std, _, mean = ctx.saved_tensors
        inv_std = inv_std.data.reshape(shape)
        xhat = (x - mean.data.reshape(shape)) * inv_std
    weight = ctx.parents[1].reshape(shape) if ctx.has_weight else None
    return _graph_affine_backward(ctx, g, xhat, inv_std, weight, axes, axes, ctx.training)


class LayerNorm(Function):
    """out = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps) over the last k axes;
    grad_x = inv_std * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = g * weight;
    grad_w = sum(g * xhat), grad_b = sum(g) over the leading axes. weight, bias: x.shape[-k:]."""
    rule = ("grad_x = inv_std * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = g * weight; grad_w "
            "= sum(g * xhat), grad_b = sum(g) over the leading axes")
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, *affine: np.ndarray, k: int, eps: float,
                has_weight: bool, has_bias: bool) -> np.ndarray:
        size = int(np.prod(x.shape[x.ndim - k:]))
        rows = x.reshape(-1, size)  # a view unless x is a non-contiguous view
        # row sums by einsum, faster than rows.mean(axis=1) (docs/benchmarks.md, "Comment numbers")
        centered = rows - (np.einsum("mk->m", rows) / size)[:, None]
        var = np.einsum("mk,mk->m", centered, centered) / size
        inv_std = (1.0 / np.sqrt(var + eps))[:, None]
        xhat = centered
        xhat *= inv_std
        weight, bias = _split_affine(affine, has_weight, has_bias)
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.has_weight, ctx.has_bias, ctx.x_shape = has_weight, has_bias, x.shape
        ctx.param_shape, ctx.k, ctx.eps = x.shape[x.ndim - k:], k, eps
        return _affine(xhat, _reshaped(weight, (size,)), _reshaped(bias, (size,))).reshape(x.shape)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):  # create_graph: xhat recomputed from x, as ops
            n = grad_out.ndim
            axes, lead = tuple(range(n - ctx.k, n)), tuple(range(n - ctx.k))
            xhat, inv_std = _graph_standardize(ctx.parents[0], axes, ctx.eps)
            weight = ctx.parents[1] if ctx.has_weight else None
            return _graph_affine_backward(ctx, grad_out, xhat, inv_std, weight, axes, lead, True)
        xhat, inv_std, weight = ctx.saved_tensors
        size = xhat.shape[1]
        g = grad_out.reshape(xhat.shape)
        grad_x = None
        if ctx.needs_input_grad[0]:
            gh = g if weight is None else g * weight.reshape(size)
            mean_g = (np.einsum("mk->m", gh) / size)[:, None]
            mean_gx = (np.einsum("mk,mk->m", gh, xhat) / size)[:, None]
            grad_x = _standardize_grad(gh, xhat, inv_std, mean_g, mean_gx).reshape(ctx.x_shape)
        need_w = ctx.has_weight and ctx.needs_input_grad[1]
        need_b = ctx.has_bias and ctx.needs_input_grad[-1]
        grad_w = np.einsum("mk,mk->k", g, xhat).reshape(ctx.param_shape) if need_w else None
        grad_b = g.sum(axis=0).reshape(ctx.param_shape) if need_b else None
        return (grad_x,) + _affine_grads(ctx, grad_w, grad_b)


class Normalize(LayerNorm):
    """Per-sample standardisation: layer_norm over every axis but 0, no weight or bias;
    out = (x - mean) / sqrt(var + eps);  grad_x = inv_std * (g - mean(g) - out * mean(g * out)).
    x (N, ...)."""
    rule = "grad_x = inv_std * (g - mean(g) - out * mean(g * out))"


def _check_param(op: str, name: str, param: Any, expected: tuple[int, ...], x_shape: tuple) -> None:
    if param is not None and shape_of(param) != expected:
        raise ValueError(
            f"{op}: {name} has shape {shape_of(param)}, expected {expected} for input of shape "
            f"{x_shape}"
        )


def _buffer(value: Any) -> np.ndarray | None:
    """The array a running statistic is updated in: a Tensor's .data or the ndarray itself."""
    value = array_of(value)
    if value is not None and not isinstance(value, np.ndarray):
        raise TypeError(f"batch_norm: running statistics must be arrays or Tensors, got {value!r}")
    return value


def batch_norm(x: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """Like torch.nn.functional.batch_norm: statistics per channel (axis 1) over all other axes.
    Training normalises with the batch mean and biased variance and updates running_mean and
    running_var in place (running = (1 - momentum) * running + momentum * batch, with the
    unbiased variance); eval normalises with the running statistics."""
    shape = shape_of(x)
    if len(shape) < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {shape}")
    channels = shape[1]
    running_mean, running_var = _buffer(running_mean), _buffer(running_var)
    for name, param in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _check_param("batch_norm", name, param, (channels,), shape)
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if training and int(np.prod(shape)) // max(channels, 1) <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {shape}"
        )
    if not training and running_mean is None:
        raise ValueError("batch_norm: eval mode (training=False) needs running_mean/running_var")
    affine = tuple(p for p in (weight, bias) if p is not None)
    return BatchNorm.apply(
        x, *affine, running_mean=running_mean, running_var=running_var, training=training,
        momentum=momentum, eps=eps, has_weight=weight is not None, has_bias=bias is not None,
    )


def layer_norm(x: Any, normalized_shape: int | Sequence[int], weight: Any = None,
               bias: Any = None, eps: float = 1e-5) -> Any:
    """Like torch.nn.functional.layer_norm: standardise over the trailing dims given by
    normalized_shape, then scale by weight and shift by bias (both of that shape)."""
    shape = shape_of(x)
    normalized = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    normalized = tuple(int(d) for d in normalized)
    k = len(normalized)
    if k == 0 or shape[len(shape) - k:] != normalized:
        raise ValueError(
            f"layer_norm: normalized_shape {normalized} must be the last dims of the input "
            f"shape {shape}"
        )
    _check_param("layer_norm", "weight", weight, normalized, shape)
    _check_param("layer_norm", "bias", bias, normalized, shape)
    affine = tuple(p for p in (weight, bias) if p is not None)
    return LayerNorm.apply(x, *affine, k=k, eps=eps, has_weight=weight is not None,
                           has_bias=bias is not None)


def normalize(x: Any, eps: float = 1e-5) -> Any:
    """Standardise each sample: (x - mean) / sqrt(var + eps), mean and biased variance over every
    axis but the batch axis 0; no weight or bias."""
    shape = shape_of(x)
    if len(shape) < 2:
        raise ValueError(f"normalize: expected input of shape (N, ...features), got {shape}")
    return Normalize.apply(x, k=len(shape) - 1, eps=eps, has_weight=False, has_bias=False)
