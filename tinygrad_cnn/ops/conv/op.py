"""The Conv2d op and `auto`'s choice among the algorithms."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import Function
from . import im2col, naive, toeplitz
from .geometry import ConvGeometry, conv_geometry

# name -> (forward, backward); each keeps the layout contract of the package docstring
ALGORITHMS = {
    "naive": (naive.forward, naive.backward),
    "im2col": (im2col.im2col_forward, im2col.im2col_backward),
    "taps": (im2col.taps_forward, im2col.taps_backward),
    "toeplitz": (toeplitz.forward, toeplitz.backward),
}

# Row-Toeplitz multiplies waste = Wp / KW times im2col's work but in BLAS-friendly shapes; the
# im2col family does no wasted work and wins once C_out is wide, and of that family `taps` beat
# `im2col` on every shape measured (docs/benchmarks.md, "Per-layer algorithms").
TOEPLITZ_MAX_WASTE_X_COUT = 96
TOEPLITZ_MAX_BAND = 1 << 22  # entries of the band matrix (16 MB in float32)
# Below this many im2col entries (2 MB of float32) the tap copies stay in cache and Toeplitz's
# wasted multiply-adds dominate (the seed model's conv; docs/benchmarks.md has the steps), unless
# the band wastes little: then Toeplitz's KH line copies beat KH*KW tap copies even here (5x5
# kernels on 8+ channels, "Small problems" in docs/benchmarks.md).
TAPS_SMALL_COLS = 1 << 19
SMALL_TOEPLITZ_MAX_WASTE = 4
SMALL_TOEPLITZ_MAX_WASTE_X_COUT = 64


class Conv2d(Function):
    """out[n, o] = bias[o] + sum over c, kh, kw of weight[o, c, kh, kw] * x[n, c, window]
    (cross-correlation); grad_x = full conv of g with the weight, grad_w = g (*) x, grad_b = sum g.
    x (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out,) -> (N, C_out, OH, OW).
    `ctx.algorithm` (and the op's name, e.g. 'Conv2d[toeplitz]') records the algorithm that ran."""
    rule = "grad_x = full conv of g with the weight, grad_w = g (*) x, grad_b = sum g"

    algorithm = "auto"

    @property
    def name(self) -> str:
        return f"Conv2d[{self.algorithm}]"

    def flops(self, out: np.ndarray) -> int:
        weight = self.parents[1]
        bias = out.size if len(self.parents) > 2 else 0
        return 2 * out.size * int(np.prod(weight.shape[1:])) + bias

    def backward_flops(self, forward_flops: int, input_grads: tuple) -> int:
        # the bias gradient is a cheap sum, not another product
        return forward_flops * sum(g is not None for g in input_grads[:2])

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                algorithm: str = "auto") -> np.ndarray:
        geom = conv_geometry(x.shape, weight.shape, stride, padding, dilation)
        if bias is not None and bias.shape != (geom.C_out,):
            raise ValueError(f"conv2d: bias has shape {bias.shape}, expected ({geom.C_out},) "
                             f"for weight {weight.shape}")
        ctx.algorithm = resolve_algorithm(algorithm, geom)
        ctx.geom = geom
        forward_fn = ALGORITHMS[ctx.algorithm][0]
        out, saved = forward_fn(x, weight, bias, geom, need_w=ctx.needs_input_grad[1])
        ctx.save_for_backward(weight, *saved)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        weight, *saved = ctx.saved_tensors
        backward_fn = ALGORITHMS[ctx.algorithm][1]
        grads = backward_fn(grad_out, weight, tuple(saved), ctx.geom, ctx.needs_input_grad)
        return grads[:len(ctx.needs_input_grad)]  # (grad_x, grad_w) when there is no bias


def choose_algorithm(geom: ConvGeometry) -> str:
    """'toeplitz' for narrow layers on small images (LeNet's), with a stricter limit on the
    band's waste for small problems; else 'taps'."""
    wp = geom.W + 2 * geom.padding[1]
    waste = wp / geom.KW
    band = geom.KH * wp * geom.C_in * geom.OW * geom.C_out
    if geom.C_in * geom.KH * geom.KW * geom.N * geom.OH * geom.OW <= TAPS_SMALL_COLS:
        narrow = (waste <= SMALL_TOEPLITZ_MAX_WASTE
                  and waste * geom.C_out <= SMALL_TOEPLITZ_MAX_WASTE_X_COUT)
    else:
        narrow = waste * geom.C_out <= TOEPLITZ_MAX_WASTE_X_COUT
    return "toeplitz" if narrow and band <= TOEPLITZ_MAX_BAND else "taps"


def resolve_algorithm(algorithm: str, geom: ConvGeometry) -> str:
    """The algorithm to run: `auto`'s choice for this geometry, or the one named (ValueError
    listing them when it names none)."""
    if algorithm == "auto":
        return choose_algorithm(geom)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: unknown algorithm {algorithm!r}; choose one of "
                         f"{sorted(ALGORITHMS)} or 'auto'")
    return algorithm
