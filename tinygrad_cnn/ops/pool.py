"""2-D pooling: max_pool2d (gradient to the first maximum of each window), avg_pool2d and
adaptive_avg_pool2d, and their backwards as ops (unpooling), so gradients can be differentiated
again: each unpool op's gradient is a gather or a pooling, whose gradient is the unpool again."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..engine import Function, Node
from . import compiled
from ._args import as_flag, as_pair
from ._flops import per_input_element


def pool_params(op: str, kernel_size: Any, stride: Any, padding: Any) -> tuple:
    """(kernel, stride, padding) as pairs, checked once for the pooling ops and layers: kernel and
    stride >= 1 (stride None means the kernel), padding >= 0 and at most half the kernel."""
    kernel = as_pair(kernel_size, f"{op}: kernel_size", minimum=1)
    stride = kernel if stride is None else as_pair(stride, f"{op}: stride", minimum=1)
    padding = as_pair(padding, f"{op}: padding", minimum=0)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:  # as PyTorch: never all padding
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return kernel, stride, padding


class PoolGeometry:
    """Kernel, stride and padding of a pooling op and the output size they give."""

    def __init__(self, op: str, shape: tuple, kernel_size: Any, stride: Any, padding: Any,
                 ceil_mode: bool = False) -> None:
        if len(shape) != 4:
            raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape}")
        self.kernel, self.stride, self.padding = pool_params(op, kernel_size, stride, padding)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        self.shape = shape
        self.OH = _out_size(shape[2], kh, sh, ph, ceil_mode)
        self.OW = _out_size(shape[3], kw, sw, pw, ceil_mode)
        if self.OH < 1 or self.OW < 1:
            raise ValueError(f"{op}: kernel {self.kernel} is larger than the padded input "
                             f"{(shape[2] + 2 * ph, shape[3] + 2 * pw)} (input shape {shape})")
        # ceil_mode: the last windows may reach past the padded input, which then grows
        self.extra = (max(0, (self.OH - 1) * sh + kh - shape[2] - 2 * ph),
                      max(0, (self.OW - 1) * sw + kw - shape[3] - 2 * pw)) if ceil_mode else (0, 0)

    def pad(self, x: np.ndarray, value: float) -> np.ndarray:
        (ph, pw), (eh, ew) = self.padding, self.extra
        if ph == pw == eh == ew == 0:
            return x
        return np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=value)

    def padded_zeros(self, dtype: np.dtype) -> np.ndarray:
        n, c, h, w = self.shape
        (ph, pw), (eh, ew) = self.padding, self.extra
        return np.zeros((n, c, h + 2 * ph + eh, w + 2 * pw + ew), dtype=dtype)

    def divisor(self, count_include_pad: bool) -> np.ndarray:
        """(OH, OW): how many elements each window averages, as PyTorch counts them: the window
        clipped to the padded input, or to the input itself without count_include_pad."""
        sizes = []
        for out, s, k, n, p in zip((self.OH, self.OW), self.stride, self.kernel, self.shape[2:],
                                   self.padding):
            start = np.arange(out) * s - p
            end = np.minimum(start + k, n + p)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            sizes.append(end - start)
        return np.outer(*sizes)

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """Read-only view (N, C, OH, OW, KH, KW) of every pooling window of the padded input."""
        (sh, sw) = self.stride
        view = sliding_window_view(xp, self.kernel, axis=(2, 3))[:, :, ::sh, ::sw]
        return view[:, :, :self.OH, :self.OW]

    def targets(self, grad_xp: np.ndarray, kh: int, kw: int) -> np.ndarray:
        """The elements of grad_xp that kernel offset (kh, kw) of every window lands on."""
        (sh, sw) = self.stride
        return grad_xp[:, :, kh:kh + sh * (self.OH - 1) + 1:sh, kw:kw + sw * (self.OW - 1) + 1:sw]

    def unpad(self, grad_xp: np.ndarray) -> np.ndarray:
        (ph, pw), (h, w) = self.padding, self.shape[2:]
        return grad_xp[:, :, ph:ph + h, pw:pw + w]

    @property
    def is_2x2(self) -> bool:
        return (self.kernel == (2, 2) and self.stride == (2, 2) and self.padding == (0, 0)
                and self.extra == (0, 0))


def _out_size(n: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size; with ceil_mode the last window must still start inside
    the input or its left padding."""
    span = n + 2 * p - k
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= n + p else out


class MaxPool2d(Function):
    """out = max over each window (padding counts as -inf); grad_x = g at the window's first
    maximum in row-major scan order (PyTorch's choice for ties), 0 elsewhere, summed over windows.
    x (N, C, H, W) -> (N, C, OH, OW)."""
    rule = ("grad_x = g at the window's first maximum in row-major scan order (PyTorch's choice "
            "for ties), 0 elsewhere, summed over windows")
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, kernel_size: Any = 2, stride: Any = None,
                padding: Any = 0, ceil_mode: bool = False) -> np.ndarray:
        geom = PoolGeometry("max_pool2d", x.shape, kernel_size, stride, padding, ceil_mode)
        ctx.geom = geom
        if geom.is_2x2:
            return _max_pool_2x2(ctx, x[:, :, :2 * geom.OH, :2 * geom.OW])
        flat = _flat_windows(x, geom, -np.inf)
        index = flat.argmax(axis=-1)  # argmax returns the first maximum: PyTorch's tie rule
        ctx.save_for_backward(index)
        return np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        geom = ctx.geom
        if isinstance(grad_out, Node):  # create_graph: the choice again, from the input itself
            index = _flat_windows(ctx.parents[0].data, geom, -np.inf).argmax(axis=-1)
            return MaxUnpool2d.apply(grad_out, index=index, geom=geom)
        if geom.is_2x2:
            return _max_pool_2x2_backward(ctx, grad_out)
        (index,) = ctx.saved_tensors
        return _max_unpool(grad_out, index, geom)


def _flat_windows(x: np.ndarray, geom: PoolGeometry, fill: float) -> np.ndarray:
    """(N, C, OH, OW, KH*KW): every window of x padded with `fill`, flattened (a copy)."""
    flat = geom.windows(geom.pad(x, fill))
    return flat.reshape(*flat.shape[:4], -1)


def _max_unpool(grad_out: np.ndarray, index: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """Each window's g sent to the element `index` chose (x-shaped)."""
    kh_size, kw_size = geom.kernel
    grad_xp = geom.padded_zeros(grad_out.dtype)
    for kh in range(kh_size):  # one strided add per kernel offset; windows may overlap
        for kw in range(kw_size):
            geom.targets(grad_xp, kh, kw)[...] += grad_out * (index == kh * kw_size + kw)
    return geom.unpad(grad_xp)


def _max_gather(x: np.ndarray, index: np.ndarray, geom: PoolGeometry) -> np.ndarray:
    """The element `index` chose in each window of x (padding reads 0): _max_unpool's adjoint."""
    flat = _flat_windows(x, geom, 0.0)
    return np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]


class MaxUnpool2d(Function):
    """out = g sent to the element of each window that max pooling chose (`index`), summed over
    windows;  grad_g = MaxGather2d(gg), the element `index` chose in each window of gg.
    g (N, C, OH, OW) -> (N, C, H, W): max_pool2d's backward as an op."""
    rule = "grad_g = MaxGather2d(gg), the element `index` chose in each window of gg"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, grad_out: np.ndarray, index: np.ndarray,
                geom: PoolGeometry) -> np.ndarray:
        ctx.index, ctx.geom = index, geom
        return _max_unpool(grad_out, index, geom)

    @staticmethod
    def backward(ctx: Function, grad_grad: np.ndarray) -> np.ndarray:
        if isinstance(grad_grad, Node):
            return MaxGather2d.apply(grad_grad, index=ctx.index, geom=ctx.geom)
        return _max_gather(grad_grad, ctx.index, ctx.geom)


class MaxGather2d(Function):
    """out = the element of each window of x that max pooling chose (`index`);  grad_x = g sent
    back to that element (MaxUnpool2d). x (N, C, H, W) -> (N, C, OH, OW)."""
    rule = "grad_x = g sent back to that element (MaxUnpool2d)"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, index: np.ndarray,
                geom: PoolGeometry) -> np.ndarray:
        ctx.index, ctx.geom = index, geom
        return _max_gather(x, index, geom)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):
            return MaxUnpool2d.apply(grad_out, index=ctx.index, geom=ctx.geom)
        return _max_unpool(grad_out, ctx.index, ctx.geom)


# The 2x2 / stride 2 fast path: two np.maximum calls over pairs, no window copy and no argmax.
# Width pairs first, then height pairs: "left >= right", then "top >= bottom", gives ties to the
# first maximum in row-major order. H and W split into (size/2, 2) by a reshape, a view in any
# memory layout, so out and grad_x come back in x's memory order. With the compiled tier on
# (ops/compiled.py), one numba pass makes the same choices and saves a uint8 index instead.
def _max_pool_2x2(ctx: Function, x: np.ndarray, relu: bool = False) -> np.ndarray:
    ctx.compiled = x.dtype in (np.float32, np.float64) and compiled.enabled()
    ctx.relu = relu  # the fused ReLU + pool: x is ReLU's input
    if ctx.compiled:
        return _max_pool_2x2_compiled(ctx, x)
    if relu:
        x = np.maximum(x, 0)
    n, c, h, w = x.shape  # already cropped to even sizes
    pairs = x.reshape(n, c, h // 2, 2, w // 2, 2)  # a view: splitting an axis never copies
    width_max = np.maximum(pairs[..., 0], pairs[..., 1])  # (N, C, OH, 2, OW)
    ctx.save_for_backward(pairs, width_max)
    return np.maximum(width_max[:, :, :, 0], width_max[:, :, :, 1])


def _max_pool_2x2_backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
    if ctx.compiled:
        return _max_pool_2x2_backward_compiled(ctx, grad_out)
    pairs, width_max = ctx.saved_tensors
    # g * mask for the winner, g - that for the loser: exactly one of each pair gets g
    grad_width = np.empty_like(width_max)  # in the input's memory order, as every array here
    top = grad_width[:, :, :, 0]
    np.multiply(grad_out, width_max[:, :, :, 0] >= width_max[:, :, :, 1], out=top)
    np.subtract(grad_out, top, out=grad_width[:, :, :, 1])
    grad_pairs = np.empty_like(pairs)
    left = grad_pairs[..., 0]
    np.multiply(grad_width, pairs[..., 0] >= pairs[..., 1], out=left)
    np.subtract(grad_width, left, out=grad_pairs[..., 1])
    if ctx.relu:
        grad_pairs *= pairs > 0
    n, c, oh, _, ow, _ = pairs.shape
    grad_x = grad_pairs.reshape(n, c, 2 * oh, 2 * ow)
    full_shape = ctx.geom.shape
    if grad_x.shape == full_shape:
        return grad_x
    padded = np.zeros(full_shape, dtype=grad_x.dtype)  # odd H or W: the last row/column was in
    padded[:, :, :grad_x.shape[2], :grad_x.shape[3]] = grad_x  # no window
    return padded


def _max_pool_2x2_compiled(ctx: Function, x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape  # already cropped to even sizes
    order = _memory_order(x)
    out = _empty_in_order((n, c, h // 2, w // 2), order, x.dtype)
    index = _empty_in_order(out.shape, order, np.uint8)  # the winner, 0..3 row-major; 4 none
    axes = _loop_axes(order)
    views = _loop_view(x, axes), _loop_view(out, axes), _loop_view(index, axes)
    if ctx.relu:
        compiled.kernels("pool").relu_max_pool_2x2(*views, x.dtype.type(0))
    else:
        compiled.kernels("pool").max_pool_2x2(*views)
    ctx.save_for_backward(index)
    ctx.dtype = x.dtype
    return out


def _max_pool_2x2_backward_compiled(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
    (index,) = ctx.saved_tensors
    full_shape, order = ctx.geom.shape, _memory_order(index)
    grad_x = _empty_in_order(full_shape, order, ctx.dtype)
    oh, ow = index.shape[2:]
    grad_x[:, :, 2 * oh:, :] = 0  # odd H or W: the last row/column was in no window
    grad_x[:, :, :, 2 * ow:] = 0
    axes = _loop_axes(order)
    compiled.kernels("pool").max_unpool_2x2(
        _loop_view(grad_out.astype(grad_x.dtype, copy=False), axes), _loop_view(index, axes),
        _loop_view(grad_x[:, :, :2 * oh, :2 * ow], axes))
    return grad_x


def _memory_order(a: np.ndarray) -> tuple:
    """a's axes from the slowest-varying in memory to the fastest."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -abs(a.strides[axis])))


def _empty_in_order(shape: tuple, order: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of `shape` whose memory runs in `order` (as _memory_order says)."""
    return np.empty([shape[axis] for axis in order], dtype).transpose(np.argsort(order))


def _loop_axes(order: tuple) -> tuple:
    """The kernels' (P, Q, 2 OH, R, 2 OW) axes of a[..., None] (axis 4 the extra size-1 one) for
    an NCHW array stored in `order`: the loops then walk the memory of the conv's layouts
    contiguously (NCHW, Toeplitz's (N, H, C, W), taps' (C, N, H, W)); any other layout gets NCHW
    loops over its strides."""
    n_c = [axis for axis in order if axis < 2]
    if order[-1] != 3 or order[0] == 2:
        return (0, 1, 2, 4, 3)
    if order.index(2) == 2:  # N and C before H
        return (n_c[0], n_c[1], 2, 4, 3)
    return (n_c[0], 4, 2, n_c[1], 3)  # one of them between H and W


def _loop_view(a: np.ndarray, axes: tuple) -> np.ndarray:
    return a[..., None].transpose(axes)



class ReluMaxPool2d(Function):
    """out = max over each 2x2 window (stride 2) of max(x, 0);  grad_x = g at the window's first
    maximum if that maximum is > 0, else 0. x (N, C, H, W) -> (N, C, H // 2, W // 2).
    relu then max_pool2d(2) as one op; on the compiled tier one pass, one uint8 index saved."""
    rule = "grad_x = g at the window's first maximum if that maximum is > 0, else 0"
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        geom = PoolGeometry("relu_max_pool2d", x.shape, 2, 2, 0)
        ctx.geom = geom
        return _max_pool_2x2(ctx, x[:, :, :2 * geom.OH, :2 * geom.OW], relu=True)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):  # create_graph: relu's and max_pool2d's graph backwards
            relu_out = np.maximum(ctx.parents[0].data, 0)
            index = _flat_windows(relu_out, ctx.geom, -np.inf).argmax(axis=-1)
            return MaxUnpool2d.apply(grad_out, index=index, geom=ctx.geom) * (relu_out > 0)
        return _max_pool_2x2_backward(ctx, grad_out)


class AvgPool2d(Function):
    """out = sum over each window / its divisor (kernel size, padding counted: PyTorch's
    count_include_pad=True; or the real elements only; or divisor_override);  grad_x = g /
    divisor added to every element of the window. x (N, C, H, W) -> (N, C, OH, OW)."""
    rule = "grad_x = g / divisor added to every element of the window"
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, kernel_size: Any = 2, stride: Any = None,
                padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                divisor_override: int | None = None) -> np.ndarray:
        geom = PoolGeometry("avg_pool2d", x.shape, kernel_size, stride, padding, ceil_mode)
        ctx.geom = geom
        if divisor_override is not None:
            ctx.divisor = np.asarray(divisor_override, x.dtype)
        elif count_include_pad and geom.extra == (0, 0):
            ctx.divisor = np.asarray(geom.kernel[0] * geom.kernel[1], x.dtype)
        else:
            ctx.divisor = geom.divisor(count_include_pad).astype(x.dtype)
        return _avg_pool(x, geom, ctx.divisor)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):
            return AvgUnpool2d.apply(grad_out, geom=ctx.geom, divisor=ctx.divisor)
        return _avg_unpool(grad_out, ctx.geom, ctx.divisor)


def _avg_pool(x: np.ndarray, geom: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """Each window's sum / divisor."""
    return geom.windows(geom.pad(x, 0.0)).sum(axis=(-2, -1)) / divisor


def _avg_unpool(grad_out: np.ndarray, geom: PoolGeometry, divisor: np.ndarray) -> np.ndarray:
    """g / divisor added to every element of its window (x-shaped): _avg_pool's adjoint."""
    kh_size, kw_size = geom.kernel
    share = grad_out / divisor
    grad_xp = geom.padded_zeros(grad_out.dtype)
    for kh in range(kh_size):
        for kw in range(kw_size):
            geom.targets(grad_xp, kh, kw)[...] += share
    return geom.unpad(grad_xp)


class AvgUnpool2d(Function):
    """out = g / divisor added to every element of its window;  grad_g = AvgGather2d(gg), each
    window's sum / divisor (average pooling with the same geometry and divisor).
    g (N, C, OH, OW) -> (N, C, H, W): avg_pool2d's backward as an op."""
    rule = "grad_g = AvgGather2d(gg), each window's sum / divisor"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, grad_out: np.ndarray, geom: PoolGeometry,
                divisor: np.ndarray) -> np.ndarray:
        ctx.geom, ctx.divisor = geom, divisor
        return _avg_unpool(grad_out, geom, divisor)

    @staticmethod
    def backward(ctx: Function, grad_grad: np.ndarray) -> np.ndarray:
        if isinstance(grad_grad, Node):
            return AvgGather2d.apply(grad_grad, geom=ctx.geom, divisor=ctx.divisor)
        return _avg_pool(grad_grad, ctx.geom, ctx.divisor)


class AvgGather2d(Function):
    """out = each window's sum / divisor;  grad_x = AvgUnpool2d(g).
    avg_pool2d's forward for a geometry and divisor already worked out (AvgUnpool2d's gradient).
    x (N, C, H, W) -> (N, C, OH, OW)."""
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, geom: PoolGeometry,
                divisor: np.ndarray) -> np.ndarray:
        ctx.geom, ctx.divisor = geom, divisor
        return _avg_pool(x, geom, divisor)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):
            return AvgUnpool2d.apply(grad_out, geom=ctx.geom, divisor=ctx.divisor)
        return _avg_unpool(grad_out, ctx.geom, ctx.divisor)


def _adaptive_weights(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size): row i averages input positions floor(i size / out) .. ceil((i+1) size / out),
    PyTorch's adaptive windows (they overlap when size is not a multiple of out)."""
    weights = np.zeros((out, size), dtype)
    for i in range(out):
        start, end = (i * size) // out, -(-(i + 1) * size // out)
        weights[i, start:end] = 1.0 / (end - start)
    return weights


class AdaptiveAvgPool2d(Function):
    """out = Ph @ x @ Pw^T, the average over each adaptive window (rows of Ph and Pw average
    PyTorch's windows; the two directions are independent);  grad_x = Ph^T @ g @ Pw (each
    window's average spread back over it). x (N, C, H, W) -> (N, C, OH, OW)."""
    rule = "grad_x = Ph^T @ g @ Pw (each window's average spread back over it)"
    flops = per_input_element
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, output_size: tuple = (1, 1)) -> np.ndarray:
        ctx.ph = _adaptive_weights(x.shape[2], output_size[0], x.dtype)
        ctx.pw = _adaptive_weights(x.shape[3], output_size[1], x.dtype)
        return ctx.ph @ x @ ctx.pw.T

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        if isinstance(grad_out, Node):
            return AdaptiveAvgUnpool2d.apply(grad_out, ph=ctx.ph, pw=ctx.pw)
        return ctx.ph.T @ grad_out @ ctx.pw


class AdaptiveAvgUnpool2d(Function):
    """out = Ph^T @ g @ Pw;  grad_g = Ph @ gg @ Pw^T (adaptive average pooling again).
    Each window's average spread back over it. g (N, C, OH, OW) -> (N, C, H, W):
    adaptive_avg_pool2d's backward as an op."""
    rule = "grad_g = Ph @ gg @ Pw^T (adaptive average pooling again)"
    graph_backward = True

    @staticmethod
    def forward(ctx: Function, grad_out: np.ndarray, ph: np.ndarray,
                pw: np.ndarray) -> np.ndarray:
        ctx.ph, ctx.pw = ph, pw
        return ph.T @ grad_out @ pw

    @staticmethod
    def backward(ctx: Function, grad_grad: np.ndarray) -> np.ndarray:
        if isinstance(grad_grad, Node):
            output_size = (ctx.ph.shape[0], ctx.pw.shape[0])
            return AdaptiveAvgPool2d.apply(grad_grad, output_size=output_size)
        return ctx.ph @ grad_grad @ ctx.pw.T


def adaptive_avg_pool2d(x: Any, output_size: Any) -> Any:
    """PyTorch's adaptive average pooling to `output_size` (an int, a pair; None keeps that
    input dim) over (N, C, H, W) or (C, H, W) input."""
    shape = np.shape(getattr(x, "data", x))
    if len(shape) not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: input must be (N, C, H, W) or (C, H, W), got "
                         f"shape {shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                         f"{output_size!r}")
    size = tuple(shape[-2 + i] if s is None else as_pair(s, "adaptive_avg_pool2d: output_size",
                                                         minimum=1)[0]
                 for i, s in enumerate(sizes))
    if len(shape) == 3:
        return AdaptiveAvgPool2d.apply(x[None], output_size=size)[0]
    return AdaptiveAvgPool2d.apply(x, output_size=size)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False) -> Any:
    """Max over kernel_size windows (stride defaults to kernel_size), like PyTorch's."""
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=as_flag(ceil_mode, "max_pool2d: ceil_mode"))


def relu_max_pool2d(x: Any) -> Any:
    """max_pool2d(relu(x), 2) as one op (ReluMaxPool2d): the same values and gradients."""
    return ReluMaxPool2d.apply(x)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Any:
    """Mean over kernel_size windows, like PyTorch's (padding counted by default)."""
    if divisor_override is not None and (not isinstance(divisor_override, int)
                                         or divisor_override <= 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                         f"{divisor_override!r}")
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=as_flag(ceil_mode, "avg_pool2d: ceil_mode"),
                           count_include_pad=as_flag(count_include_pad,
                                                     "avg_pool2d: count_include_pad"),
                           divisor_override=divisor_override)
