"""The im2col family: `im2col` (one GEMM row per output pixel) and `taps` (one GEMM row per
kernel tap). Both copy the input windows into a matrix and multiply once by the weight."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import compiled
from .geometry import ConvGeometry


# ----- im2col: one row per output pixel, channels-last windows -----------------------------------
def _pad_nhwc(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """x (NCHW, any memory layout) as a C-contiguous, zero-padded (N, Hp, Wp, C) array."""
    ph, pw = geom.padding
    if ph == 0 and pw == 0:  # free when x is already channels-last memory (an im2col output)
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    xp = np.zeros((geom.N, geom.H + 2 * ph, geom.W + 2 * pw, geom.C_in), dtype=x.dtype)
    xp[:, ph:ph + geom.H, pw:pw + geom.W, :] = x.transpose(0, 2, 3, 1)
    return xp


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


def im2col_prepare(x: np.ndarray, geom: ConvGeometry) -> tuple:
    """What forward keeps for grad_w: the windows as rows (N*OH*OW, KH*KW*C_in)."""
    xp = _pad_nhwc(x, geom)
    return (_windows(xp, geom).reshape(-1, geom.KH * geom.KW * geom.C_in),)  # the one copy


def im2col_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   geom: ConvGeometry, need_w: bool) -> tuple:
    (cols,) = im2col_prepare(x, geom)
    out = cols @ _weight_matrix(weight).T  # (N*OH*OW, C_out) is NHWC memory
    if bias is not None:
        out += bias
    out = out.reshape(geom.N, geom.OH, geom.OW, geom.C_out)
    return out.transpose(0, 3, 1, 2), (cols if need_w else None,)


def im2col_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                    needs: tuple[bool, ...]) -> tuple:
    (cols,) = saved
    g2 = grad_out.transpose(0, 2, 3, 1).reshape(-1, geom.C_out)
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
        _col2im(grad_cols, grad_xp, geom)
        grad_x = grad_xp[:, ph:ph + geom.H, pw:pw + geom.W].transpose(0, 3, 1, 2)
    if len(needs) > 2 and needs[2]:
        grad_b = g2.sum(axis=0)
    return grad_x, grad_w, grad_b


def compiled_col2im(dtype: np.dtype) -> bool:
    """Whether im2col's col2im runs as one compiled loop for this dtype (ops/compiled.py)."""
    return dtype in (np.float32, np.float64) and compiled.enabled()


def _col2im(grad_cols: np.ndarray, grad_xp: np.ndarray, geom: ConvGeometry) -> None:
    """grad_xp (N, Hp, Wp, C_in) += every window's gradient from grad_cols (N, OH, OW, KH, KW,
    C_in): one compiled loop, or one strided NumPy add per kernel offset (the reference; the
    same bits)."""
    if compiled_col2im(grad_cols.dtype) and grad_cols.flags.c_contiguous:
        compiled.kernels("conv").col2im(grad_cols, grad_xp, *geom.stride, *geom.dilation)
        return
    for kh in range(geom.KH):
        for kw in range(geom.KW):
            grad_xp[:, geom.rows(kh), geom.cols(kw), :] += grad_cols[:, :, :, kh, kw, :]


# ----- taps: one GEMM row per kernel tap ----------------------------------------------------------
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


def taps_prepare(x: np.ndarray, geom: ConvGeometry) -> tuple:
    """What forward keeps for grad_w: the taps as rows (C_in*KH*KW, N*OH*OW)."""
    xp = _pad_cnhw(x, geom)
    cols = np.empty((geom.C_in, geom.KH, geom.KW, geom.N, geom.OH, geom.OW), dtype=x.dtype)
    for kh in range(geom.KH):
        for kw in range(geom.KW):
            cols[:, kh, kw] = xp[:, :, geom.rows(kh), geom.cols(kw)]
    return (cols.reshape(geom.C_in * geom.KH * geom.KW, -1),)


def taps_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                 geom: ConvGeometry, need_w: bool) -> tuple:
    (cols,) = taps_prepare(x, geom)
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
        grad_w = _long_inner_product(g2, cols).reshape(geom.C_out, geom.C_in, geom.KH, geom.KW)
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
        grad_b = np.einsum("op->o", g2)  # einsum: NumPy's sum is slow on a few long rows
    return grad_x, grad_w, grad_b


def _long_inner_product(g2: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """g2 (C_out, P) @ cols.T (P, K) for a long P. With few output channels one GEMV per channel
    beats OpenBLAS's GEMM, which handles a tiny C_out x K result badly (docs/benchmarks.md); from
    about 16 channels GEMM wins."""
    if len(g2) <= 8:
        return np.stack([cols @ g for g in g2])
    return g2 @ cols.T
