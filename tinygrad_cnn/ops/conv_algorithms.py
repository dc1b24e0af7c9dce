"""The conv2d algorithms behind ops.conv2d: naive loop reference, im2col + GEMM, tap-major im2col
(`taps`), row-Toeplitz GEMM.

Each algorithm has `<name>_forward(x, weight, bias, geom, need_w) -> (out, saved)` and
`<name>_backward(grad_out, weight, saved, geom, needs) -> (grad_x, grad_w, grad_b)`, NCHW shapes
at the boundary (bias may be None; `needs` is ctx.needs_input_grad). im2col and Toeplitz compute in
another memory layout and return NCHW-shaped *views* of it: NumPy's ufuncs keep that layout
(order='K'), so relu / pool outputs keep it and the next conv's conversion to it is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import as_strided


@dataclass(frozen=True)
class ConvGeometry:
    """Every size an algorithm needs, derived once from the input and weight shapes."""

    N: int
    C_in: int
    H: int
    W: int
    C_out: int
    KH: int
    KW: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    @cached_property  # read in every loop of the algorithms: computed once per call
    def OH(self) -> int:  # noqa: N802 (the maths' name)
        span = self.dilation[0] * (self.KH - 1) + 1  # the dilated kernel's extent
        return (self.H + 2 * self.padding[0] - span) // self.stride[0] + 1

    @cached_property
    def OW(self) -> int:  # noqa: N802
        span = self.dilation[1] * (self.KW - 1) + 1
        return (self.W + 2 * self.padding[1] - span) // self.stride[1] + 1

    def rows(self, kh: int) -> slice:
        """Input rows (of the padded input) that kernel row kh touches, one per output row."""
        start = kh * self.dilation[0]
        return slice(start, start + self.stride[0] * (self.OH - 1) + 1, self.stride[0])

    def cols(self, kw: int) -> slice:
        start = kw * self.dilation[1]
        return slice(start, start + self.stride[1] * (self.OW - 1) + 1, self.stride[1])

    def window(self, oh: int, ow: int) -> tuple[slice, slice]:
        """The (dilated) input window of output pixel (oh, ow), in padded coordinates."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return (slice(oh * sh, oh * sh + dh * (self.KH - 1) + 1, dh),
                slice(ow * sw, ow * sw + dw * (self.KW - 1) + 1, dw))


# ----- layout helpers ---------------------------------------------------------------------------
def _nhwc(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 3, 1)


def _nchw(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 3, 1, 2)


def _pad_nhwc(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """x (NCHW, any memory layout) as a C-contiguous, zero-padded (N, Hp, Wp, C) array."""
    ph, pw = geom.padding
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(_nhwc(x))  # free when x is already channels-last memory
    xp = np.zeros((geom.N, geom.H + 2 * ph, geom.W + 2 * pw, geom.C_in), dtype=x.dtype)
    xp[:, ph:ph + geom.H, pw:pw + geom.W, :] = _nhwc(x)
    return xp


def _unpad_nchw(grad_xp: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The gradient of the unpadded input, as an NCHW view of the NHWC buffer."""
    ph, pw = geom.padding
    return _nchw(grad_xp[:, ph:ph + geom.H, pw:pw + geom.W, :])


# ----- naive: the reference to read -------------------------------------------------------------
def naive_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                  geom: ConvGeometry, need_w: bool) -> tuple:
    """out[n, o, oh, ow] = sum over c, kh, kw of weight[o, c, kh, kw] * window(oh, ow)[n, c, kh, kw]
    (one tensordot per output pixel)."""
    ph, pw = geom.padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((geom.N, geom.C_out, geom.OH, geom.OW), dtype=np.result_type(x, weight))
    for oh in range(geom.OH):
        for ow in range(geom.OW):
            patch = xp[(slice(None), slice(None), *geom.window(oh, ow))]  # (N, C_in, KH, KW)
            out[:, :, oh, ow] = np.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        out += bias[:, None, None]
    return out, (xp,)


def naive_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                   needs: tuple[bool, ...]) -> tuple:
    """Each output pixel sends g * weight back to its window and g * window to the weight;
    grad_b = g summed over all but the channel axis."""
    (xp,) = saved
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(weight)
    for oh in range(geom.OH):
        for ow in range(geom.OW):
            window = (slice(None), slice(None), *geom.window(oh, ow))
            g = grad_out[:, :, oh, ow]  # (N, C_out)
            grad_xp[window] += np.tensordot(g, weight, axes=(1, 0))
            grad_w += np.tensordot(g, xp[window], axes=(0, 0))
    ph, pw = geom.padding
    grad_b = grad_out.sum(axis=(0, 2, 3)) if len(needs) > 2 else None
    return grad_xp[:, :, ph:ph + geom.H, pw:pw + geom.W], grad_w, grad_b


# ----- im2col: one row per output pixel ---------------------------------------------------------
def _windows(xp: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Read-only view (N, OH, OW, KH, KW, C) of every input window: strides, not copies."""
    sn, sh_, sw_, sc = xp.strides
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    shape = (geom.N, geom.OH, geom.OW, geom.KH, geom.KW, geom.C_in)
    strides = (sn, sh * sh_, sw * sw_, dh * sh_, dw * sw_, sc)
    return as_strided(xp, shape, strides, writeable=False)


def _weight_matrix(weight: np.ndarray) -> np.ndarray:
    """weight as (C_out, KH*KW*C_in): (kh, kw, c) order matches the channels-last windows."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def im2col_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   geom: ConvGeometry, need_w: bool) -> tuple:
    xp = _pad_nhwc(x, geom)
    cols = _windows(xp, geom).reshape(-1, geom.KH * geom.KW * geom.C_in)  # the one copy
    out = cols @ _weight_matrix(weight).T  # (N*OH*OW, C_out) is NHWC memory
    if bias is not None:
        out += bias
    out = out.reshape(geom.N, geom.OH, geom.OW, geom.C_out)
    return _nchw(out), (cols if need_w else None,)


def im2col_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                    needs: tuple[bool, ...]) -> tuple:
    (cols,) = saved
    g2 = _nhwc(grad_out).reshape(-1, geom.C_out)
    grad_x = grad_w = grad_b = None
    if needs[1]:
        # a long inner dimension (N*OH*OW): tensordot beats g2.T @ cols here
        grad_w = np.tensordot(g2, cols, axes=(0, 0))
        grad_w = grad_w.reshape(geom.C_out, geom.KH, geom.KW, geom.C_in).transpose(0, 3, 1, 2)
    if needs[0]:
        grad_cols = (g2 @ _weight_matrix(weight)).reshape(
            geom.N, geom.OH, geom.OW, geom.KH, geom.KW, geom.C_in)
        ph, pw = geom.padding
        grad_xp = np.zeros((geom.N, geom.H + 2 * ph, geom.W + 2 * pw, geom.C_in), grad_cols.dtype)
        # col2im: one strided add per kernel offset, never a loop over output pixels
        for kh in range(geom.KH):
            for kw in range(geom.KW):
                grad_xp[:, geom.rows(kh), geom.cols(kw), :] += grad_cols[:, :, :, kh, kw, :]
        grad_x = _unpad_nchw(grad_xp, geom)
    if len(needs) > 2 and needs[2]:
        grad_b = g2.sum(axis=0)
    return grad_x, grad_w, grad_b


# ----- row-Toeplitz: one GEMM row per output *line* ---------------------------------------------
# Stored as (N, H, C, W) (each image row holds all its channels), one padded input line (C * Wp
# values) is contiguous and the KH lines an output line reads are evenly spaced, so a GEMM row is a
# strided view of KH whole lines and the copy that makes the GEMM operand runs at memcpy speed.
# The weight becomes a banded matrix: column (o, ow) holds weight[o, c, kh, kw] at line position
# (kh, c, ow * stride + kw * dilation). It multiplies about Wp / KW times im2col's work, but in
# BLAS-friendly shapes, and col2im shrinks to KH shifted adds. The output keeps the (N, H, C, W)
# layout, where pooling's stride-2 views are long 1-D runs (see docs/benchmarks.md).
def _nhcw(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 1, 3)  # (N, C, H, W) <-> (N, H, C, W): its own inverse


def _pad_rows(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """x (NCHW, any memory layout) as a C-contiguous, zero-padded (N, Hp, C, Wp) array."""
    ph, pw = geom.padding
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(_nhcw(x))  # free when x is already in this layout
    xp = np.zeros((geom.N, geom.H + 2 * ph, geom.C_in, geom.W + 2 * pw), dtype=x.dtype)
    xp[:, ph:ph + geom.H, :, pw:pw + geom.W] = _nhcw(x)
    return xp


def _lines(xp: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """(N*OH, KH*C*Wp): row (n, oh) holds the KH padded input lines output line oh reads."""
    n, _, c, wp = xp.shape
    sn, sh_ = xp.strides[:2]
    shape = (n, geom.OH, geom.KH, c * wp)
    strides = (sn, geom.stride[0] * sh_, geom.dilation[0] * sh_, xp.itemsize)
    return as_strided(xp, shape, strides, writeable=False).reshape(n * geom.OH, -1)  # copies


def _band_entries(band: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """View (KH, KW, C_in, C_out, OW) of band (KH, C_in, Wp, C_out, OW) at its nonzero entries,
    wp = ow * stride + kw * dilation: one strided view, so no loop over ow or kw."""
    s_kh, s_c, s_wp, s_o, s_ow = band.strides
    shape = (geom.KH, geom.KW, geom.C_in, geom.C_out, geom.OW)
    strides = (s_kh, geom.dilation[1] * s_wp, s_c, s_o, s_ow + geom.stride[1] * s_wp)
    return as_strided(band, shape, strides)


def _band(weight: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The banded weight matrix (KH*C_in*Wp, C_out*OW), rebuilt from the weight on every call."""
    wp = geom.W + 2 * geom.padding[1]
    band = np.zeros((geom.KH, geom.C_in, wp, geom.C_out, geom.OW), dtype=weight.dtype)
    _band_entries(band, geom)[...] = weight.transpose(2, 3, 1, 0)[..., None]
    return band.reshape(-1, geom.C_out * geom.OW)


def toeplitz_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                     geom: ConvGeometry, need_w: bool) -> tuple:
    lines = _lines(_pad_rows(x, geom), geom)
    out = lines @ _band(weight, geom)  # (N*OH, C_out*OW) is (N, OH, C_out, OW) memory
    if bias is not None:
        out += np.repeat(bias, geom.OW)  # one long row: faster than a 4-D broadcast
    out = out.reshape(geom.N, geom.OH, geom.C_out, geom.OW)
    return _nhcw(out), (lines if need_w else None,)


def toeplitz_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                      needs: tuple[bool, ...]) -> tuple:
    (lines,) = saved
    g2 = _nhcw(grad_out).reshape(geom.N * geom.OH, geom.C_out * geom.OW)
    grad_x = grad_w = grad_b = None
    if needs[0]:
        grad_lines = (g2 @ _band(weight, geom).T).reshape(geom.N, geom.OH, geom.KH, -1)
        ph, pw = geom.padding
        hp, wp = geom.H + 2 * ph, geom.W + 2 * pw
        grad_xp = np.zeros((geom.N, hp, geom.C_in * wp), dtype=grad_lines.dtype)
        for kh in range(geom.KH):  # col2im: KH shifted adds of whole lines
            grad_xp[:, geom.rows(kh)] += grad_lines[:, :, kh]
        grad_xp = grad_xp.reshape(geom.N, hp, geom.C_in, wp)
        grad_x = _nhcw(grad_xp[:, ph:ph + geom.H, :, pw:pw + geom.W])
    if needs[1]:
        grad_band = np.tensordot(lines, g2, axes=(0, 0))  # long inner dimension: N*OH
        grad_band = grad_band.reshape(geom.KH, geom.C_in, -1, geom.C_out, geom.OW)
        grad_w = _band_entries(grad_band, geom).sum(axis=4).transpose(3, 2, 0, 1)
    if len(needs) > 2 and needs[2]:
        grad_b = g2.sum(axis=0).reshape(geom.C_out, geom.OW).sum(axis=1)
    return grad_x, grad_w, grad_b


# ----- taps: im2col with one GEMM row per kernel tap ---------------------------------------------
# cols (C_in*KH*KW, N*OH*OW): row (c, kh, kw) holds what that tap sees at every output pixel, so it
# is built by KH*KW copies of whole (C_in, N, OH, OW) blocks with long contiguous runs (im2col's
# gather has inner runs of only KH*KW*C_in). It does no wasted multiply-adds, so it wins where
# Toeplitz's band is mostly zeros and cols stay small (few input channels). Output and gradients
# live in (C, N, H, W) memory behind their NCHW shapes.
def _pad_cnhw(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """x (NCHW, any memory layout) as a zero-padded (C, N, Hp, Wp) array (a view if no padding)."""
    ph, pw = geom.padding
    if ph == 0 and pw == 0:
        return x.transpose(1, 0, 2, 3)
    xp = np.zeros((geom.C_in, geom.N, geom.H + 2 * ph, geom.W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + geom.H, pw:pw + geom.W] = x.transpose(1, 0, 2, 3)
    return xp


def taps_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                 geom: ConvGeometry, need_w: bool) -> tuple:
    xp = _pad_cnhw(x, geom)
    cols = np.empty((geom.C_in, geom.KH, geom.KW, geom.N, geom.OH, geom.OW), dtype=x.dtype)
    for kh in range(geom.KH):
        for kw in range(geom.KW):
            cols[:, kh, kw] = xp[:, :, geom.rows(kh), geom.cols(kw)]
    cols = cols.reshape(geom.C_in * geom.KH * geom.KW, -1)
    out = weight.reshape(geom.C_out, -1) @ cols  # (C_out, N*OH*OW) is (C, N, H, W) memory
    if bias is not None:
        out += bias[:, None]
    out = out.reshape(geom.C_out, geom.N, geom.OH, geom.OW).transpose(1, 0, 2, 3)
    return out, (cols if need_w else None,)


def taps_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                  needs: tuple[bool, ...]) -> tuple:
    (cols,) = saved
    g2 = np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(geom.C_out, -1)
    grad_x = grad_w = grad_b = None
    if needs[1]:
        grad_w = _long_inner_product(g2, cols).reshape(weight.shape)
    if needs[0]:
        grad_cols = (weight.reshape(geom.C_out, -1).T @ g2).reshape(
            geom.C_in, geom.KH, geom.KW, geom.N, geom.OH, geom.OW)
        ph, pw = geom.padding
        grad_xp = np.zeros((geom.C_in, geom.N, geom.H + 2 * ph, geom.W + 2 * pw), g2.dtype)
        for kh in range(geom.KH):  # col2im: one strided add per kernel tap
            for kw in range(geom.KW):
                grad_xp[:, :, geom.rows(kh), geom.cols(kw)] += grad_cols[:, kh, kw]
        grad_x = grad_xp[:, :, ph:ph + geom.H, pw:pw + geom.W].transpose(1, 0, 2, 3)
    if len(needs) > 2 and needs[2]:
        grad_b = np.einsum("op->o", g2)  # 3x faster than g2.sum(axis=1) on these long rows
    return grad_x, grad_w, grad_b


def _long_inner_product(g2: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """g2 (C_out, P) @ cols.T (P, K) for a long P. With few output channels one GEMV per channel
    beats OpenBLAS's GEMM, which handles a tiny C_out x K result badly (measured, 2 threads:
    3x9 from P = 21632: 35 vs 107 us; 6x25 from 73728: 306 vs 680 us; at 16 channels GEMM wins)."""
    if len(g2) <= 8:
        return np.stack([cols @ g for g in g2])
    return g2 @ cols.T


ALGORITHMS = {
    "naive": (naive_forward, naive_backward),
    "im2col": (im2col_forward, im2col_backward),
    "taps": (taps_forward, taps_backward),
    "toeplitz": (toeplitz_forward, toeplitz_backward),
}
