"""2-D convolution: the Conv2d op, its shape checks, and the choice among its algorithms."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ._args import as_pair
from .conv_algorithms import ALGORITHMS, ConvGeometry
from .promotion import same_dtype

# Row-Toeplitz multiplies waste = Wp / KW times im2col's work but in BLAS-friendly shapes; the
# im2col family does no wasted work and wins once C_out is wide. Measured (1 thread): LeNet's convs
# (waste * C_out = 34, 38) and the seed conv (28) are 1.7-2.5x faster as Toeplitz; 16->32 3x3 on
# 32x32 (362) and wider layers are 2-10x faster as im2col (benchmarks/conv_algorithms.py). Of the
# im2col family the tap-major `taps` beat row-per-pixel `im2col` on every shape measured (2
# threads, fwd+bwd ms: 1->16 5x5 pad 2 on 128x28x28 3.4 vs 7.0; 16->32 3x3 on 16x32x32 4.8 vs 8.8;
# 32->64 3x3 on 8x64x64 33 vs 45; 3->16 7x7 on 4x112x112 12 vs 45), so `auto` picks it.
TOEPLITZ_MAX_WASTE_X_COUT = 96
# Below this many im2col entries (2 MB of float32) the tap copies stay in cache and Toeplitz's
# wasted multiply-adds dominate: the seed model's step (32x1x28x28, 3x3) is 8% faster with `taps`
# (0.61 vs 0.665 ms, 3 alternating runs), while LeNet's batch-128 layers stay Toeplitz (their
# step is 5.3-6.2 ms with Toeplitz, 7.5 ms with conv1 as taps).
TAPS_SMALL_COLS = 1 << 19
TOEPLITZ_MAX_BAND = 1 << 22  # entries of the band matrix (16 MB in float32)


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
        ctx.algorithm = choose_algorithm(geom) if algorithm == "auto" else _checked(algorithm)
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


def conv_geometry(x_shape: tuple, w_shape: tuple, stride: Any, padding: Any,
                  dilation: Any) -> ConvGeometry:
    """Validate the shapes and hyper-parameters; raise ValueError naming both shapes."""
    if len(x_shape) != 4:
        raise ValueError(f"conv2d: input must be 4-D (N, C_in, H, W), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: weight must be 4-D (C_out, C_in, KH, KW), got shape {w_shape}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"conv2d: input has {x_shape[1]} channels (shape {x_shape}) but weight "
                         f"{w_shape} expects {w_shape[1]}")
    stride, padding = as_pair(stride, "stride"), as_pair(padding, "padding")
    dilation = as_pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    geom = ConvGeometry(*x_shape, w_shape[0], *w_shape[2:], stride, padding, dilation)
    if min(w_shape[2:]) < 1 or geom.OH < 1 or geom.OW < 1:
        raise ValueError(
            f"conv2d: kernel {w_shape[2:]} (dilation {dilation}) is larger than the padded input "
            f"{(x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])}; input shape "
            f"{x_shape}, weight shape {w_shape}")
    return geom


def choose_algorithm(geom: ConvGeometry) -> str:
    """'taps' for small problems, 'toeplitz' for narrow layers on small images (LeNet's), else
    'taps'."""
    if geom.C_in * geom.KH * geom.KW * geom.N * geom.OH * geom.OW <= TAPS_SMALL_COLS:
        return "taps"
    wp = geom.W + 2 * geom.padding[1]
    waste = wp / geom.KW
    band = geom.KH * wp * geom.C_in * geom.OW * geom.C_out
    small = waste * geom.C_out <= TOEPLITZ_MAX_WASTE_X_COUT and band <= TOEPLITZ_MAX_BAND
    return "toeplitz" if small else "taps"


def _checked(algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: unknown algorithm {algorithm!r}; choose one of "
                         f"{sorted(ALGORITHMS)} or 'auto'")
    return algorithm


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, algorithm: str = "auto") -> Any:
    """2-D cross-correlation like torch.nn.functional.conv2d, NCHW; groups > 1 runs the grouped
    op (ops/conv_grouped.py)."""
    same_dtype("conv2d", input=x, weight=weight, bias=bias)
    params = dict(stride=stride, padding=padding, dilation=dilation, algorithm=algorithm)
    op: type[Function] = Conv2d
    if groups != 1:
        from .conv_grouped import GroupedConv2d  # it builds on this module: imported when used
        op, params["groups"] = GroupedConv2d, groups
    if bias is None:
        return op.apply(x, weight, **params)
    return op.apply(x, weight, bias, **params)
