"""The naive conv: one tensordot per output pixel, NCHW throughout; the reference the fast
algorithms are tested against."""

from __future__ import annotations

import numpy as np

from .geometry import ConvGeometry


def prepare(x: np.ndarray, geom: ConvGeometry) -> tuple:
    """What forward keeps for grad_w: x zero-padded."""
    ph, pw = geom.padding
    return (np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))),)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geom: ConvGeometry,
            need_w: bool) -> tuple:
    """out[n, o, oh, ow] = sum over c, kh, kw of weight[o, c, kh, kw] * window(oh, ow)[n, c, kh,
    kw]: one tensordot per output pixel."""
    (xp,) = prepare(x, geom)
    out = np.zeros((geom.N, geom.C_out, geom.OH, geom.OW), dtype=np.result_type(x, weight))
    for oh in range(geom.OH):
        for ow in range(geom.OW):
            patch = xp[(slice(None), slice(None), *geom.window(oh, ow))]  # (N, C_in, KH, KW)
            out[:, :, oh, ow] = np.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        out += bias[:, None, None]
    return out, (xp,)


def backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
             needs: tuple[bool, ...]) -> tuple:
    """Each output pixel sends g * weight back to its window and g * window to the weight;
    grad_b = g summed over all but the channel axis. Only what `needs` asks for is computed
    (ConvTransposeInput passes no saved input, ConvWeightGrad no weight)."""
    (xp,) = saved
    ph, pw = geom.padding
    x_shape = (geom.N, geom.C_in, geom.H + 2 * ph, geom.W + 2 * pw)
    w_shape = (geom.C_out, geom.C_in, geom.KH, geom.KW)
    grad_xp = np.zeros(x_shape, grad_out.dtype) if needs[0] else None
    grad_w = np.zeros(w_shape, grad_out.dtype) if needs[1] else None
    for oh in range(geom.OH):
        for ow in range(geom.OW):
            window = (slice(None), slice(None), *geom.window(oh, ow))
            g = grad_out[:, :, oh, ow]  # (N, C_out)
            if needs[0]:
                grad_xp[window] += np.tensordot(g, weight, axes=(1, 0))
            if needs[1]:
                grad_w += np.tensordot(g, xp[window], axes=(0, 0))
    grad_b = grad_out.sum(axis=(0, 2, 3)) if len(needs) > 2 else None
    grad_x = grad_xp[:, :, ph:ph + geom.H, pw:pw + geom.W] if needs[0] else None
    return grad_x, grad_w, grad_b
