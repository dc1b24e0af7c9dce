"""Row-Toeplitz conv: one GEMM row per output *line* against a banded weight matrix.

A GEMM row (n, oh) holds the KH padded input lines output line oh reads, each with all its
channels ((kh, c, w) order); the weight becomes a banded matrix whose column (o, ow) holds
weight[o, c, kh, kw] at line position (kh, c, ow * stride + kw * dilation). It multiplies about
Wp / KW times im2col's work, but in BLAS-friendly shapes, and col2im shrinks to KH shifted adds of
whole lines; it wins for narrow layers on small images (LeNet's), see docs/benchmarks.md.
Output and gradients keep (N, H, C, W) memory behind their NCHW shapes (the package docstring).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import ConvGeometry


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
    """(N*OH, KH*C*Wp): row (n, oh) holds the KH padded input lines output line oh reads; each
    line (C * Wp values) is contiguous, so the copy runs at memcpy speed."""
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


def prepare(x: np.ndarray, geom: ConvGeometry) -> tuple:
    """What forward keeps for grad_w: x as GEMM rows of input lines."""
    return (_lines(_pad_rows(x, geom), geom),)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geom: ConvGeometry,
            need_w: bool) -> tuple:
    (lines,) = prepare(x, geom)
    out = lines @ _band(weight, geom)  # (N*OH, C_out*OW) is (N, OH, C_out, OW) memory
    if bias is not None:
        out += np.repeat(bias, geom.OW)  # one long row: faster than a 4-D broadcast
    out = out.reshape(geom.N, geom.OH, geom.C_out, geom.OW)
    return _nhcw(out), (lines if need_w else None,)


def backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
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
