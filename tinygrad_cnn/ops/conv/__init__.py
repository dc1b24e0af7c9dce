"""2-D convolution: the Conv2d op, its algorithms, and the one memory layout they return.

`conv2d` below is the entry point; the ops (Conv2d, the grouped GroupedConv2d and the gradients as
ops of their own, ConvTransposeInput and ConvWeightGrad, which make n-th derivatives work) and
`auto`'s choice of algorithm live in `op.py`, the checks of groups in `grouped.py`, the shape
checks in `geometry.py`, the naive reference in `naive.py`, the im2col family (row-per-pixel
`im2col`, tap-major `taps`) in `im2col.py`, the row-Toeplitz GEMM in `toeplitz.py`, and in
`op.py` `hybrid`: im2col's forward and grad_w with Toeplitz's grad_x.

The memory-layout contract, written once here: an algorithm takes x as an NCHW-shaped array in
any memory layout, and returns its output (forward) and grad_x (backward) as NCHW-shaped arrays
in the memory it computed them in: `toeplitz` (N, H, C, W), `taps` (C, N, H, W), `im2col`
(N, H, W, C), `naive` plain NCHW, `hybrid` im2col's output and Toeplitz's grad_x. grad_w and
grad_b come in any layout.

Who relies on it: no op for correctness (each reads its input through shape and strides, and
NumPy's ufuncs keep their input's memory order, so relu and pooling pass a layout on). Two for
speed: Toeplitz's input conversion is free when x already has (N, H, C, W) memory (LeNet's second
conv, after relu and pooling), and 2x2 max-pooling runs fastest over that memory. Returning
contiguous NCHW from every algorithm would cost a copy per output and gradient, measured above the
5%-of-a-LeNet-step bar set for paying it (docs/benchmarks.md, "One layout for conv outputs?").
"""

from __future__ import annotations

from typing import Any

from ...engine import Function
from .._args import shape_of
from ..promotion import same_dtype
from .geometry import ConvGeometry, conv_geometry, conv_params, string_padding
from .op import (
    ALGORITHMS,
    Conv2d,
    ConvTransposeInput,
    ConvWeightGrad,
    GroupedConv2d,
    choose_algorithm,
    resolve_algorithm,
)

__all__ = ["ALGORITHMS", "Conv2d", "ConvGeometry", "ConvTransposeInput", "ConvWeightGrad",
           "GroupedConv2d", "choose_algorithm", "conv2d", "conv_geometry", "conv_params",
           "resolve_algorithm"]


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, algorithm: str = "auto") -> Any:
    """2-D cross-correlation like torch.nn.functional.conv2d, NCHW; groups > 1 runs the grouped
    op (GroupedConv2d)."""
    same_dtype("conv2d", input=x, weight=weight, bias=bias)
    if isinstance(padding, str):
        padding = string_padding(padding, shape_of(weight)[2:], stride, dilation, "conv2d")
    params = dict(stride=stride, padding=padding, dilation=dilation, algorithm=algorithm)
    op: type[Function] = Conv2d
    if groups != 1:
        op, params["groups"] = GroupedConv2d, groups
    if bias is None:
        return op.apply(x, weight, **params)
    return op.apply(x, weight, bias, **params)
