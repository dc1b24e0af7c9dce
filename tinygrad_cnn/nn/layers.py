"""Layers with parameters or hyper-parameters: Linear, Conv2d, pooling, Flatten, Dropout
(activations are in activation.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops, rng
from ..ops._args import as_count, as_pair
from ..ops.conv import conv_params
from ..ops.conv.geometry import string_padding
from ..ops.conv.grouped import check_groups, grouped_geometry
from ..ops.pool import pool_params
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

IntPair = int | tuple[int, int]


def _padding_mode(mode: Any) -> str:
    """PyTorch's check of padding_mode; the modes other than zeros are not implemented here."""
    modes = ("zeros", "reflect", "replicate", "circular")
    if mode not in modes:
        raise ValueError(f"padding_mode must be one of {list(modes)}, but got "
                         f"padding_mode={mode!r}")
    if mode != "zeros":
        raise NotImplementedError(f"Conv2d: padding_mode={mode!r} is not implemented here; "
                                  "only 'zeros' pads")
    return mode


def _empty(*shape: int) -> Parameter:
    return Parameter(np.zeros(shape, dtype=np.float32))


def _init_uniform_bias(bias: Parameter, fan_in: int) -> None:
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    init.uniform_(bias, -bound, bound)


def _check_groups(in_channels: int, out_channels: int, groups: int) -> int:
    """PyTorch's rule: both channel counts divisible by groups."""
    groups = check_groups(groups)
    for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"Conv2d: {what}={channels} must be divisible by groups={groups}")
    return groups


class Linear(Module):
    """y = x @ weight^T + bias; weight (out_features, in_features), both initialised from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as PyTorch does."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = as_count(in_features, "Linear: in_features")
        self.out_features = as_count(out_features, "Linear: out_features")
        self.weight = _empty(self.out_features, self.in_features)
        self.bias = _empty(self.out_features) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _init_uniform_bias(self.bias, self.in_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: input has shape {tuple(x.shape)}, expected (..., {self.in_features})"
            )
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-D convolution over NCHW input; weight (C_out, C_in / groups, KH, KW) (`groups` splits
    the channels into independent convolutions; groups == C_in is depthwise). Weight and bias
    start from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in / groups * KH * KW, as PyTorch.
    `algorithm` picks the conv implementation ('auto' chooses by shape). `padding_mode` is
    PyTorch's: 'zeros' is what pads here; 'reflect', 'replicate' and 'circular' raise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair,
                 stride: IntPair = 1, padding: IntPair = 0, dilation: IntPair = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 algorithm: str = "auto") -> None:
        super().__init__()
        self.padding_mode = _padding_mode(padding_mode)
        self.in_channels = in_channels = as_count(in_channels, "Conv2d: in_channels")
        self.out_channels = out_channels = as_count(out_channels, "Conv2d: out_channels")
        self.groups = _check_groups(in_channels, out_channels, groups)
        self.kernel_size = as_pair(kernel_size, "Conv2d: kernel_size", minimum=1)
        padding = string_padding(padding, self.kernel_size, stride, dilation, "Conv2d")
        self.stride, self.padding, self.dilation = conv_params("Conv2d", stride, padding, dilation)
        self.algorithm = algorithm
        self.weight = _empty(out_channels, in_channels // groups, *self.kernel_size)
        self.bias = _empty(out_channels) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            _init_uniform_bias(self.bias, fan_in)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, C_out, OH, OW) for an (N, C_in, H, W) input, from the conv op's own geometry;
        raises naming the layer if the input has the wrong channels or is smaller than the
        (dilated) kernel."""
        input_shape = tuple(input_shape)
        if len(input_shape) != 4 or input_shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: input has shape {input_shape}, expected "
                             f"(N, {self.in_channels}, H, W)")
        try:
            geom = grouped_geometry(input_shape, self.weight.shape, self.stride, self.padding,
                                    self.dilation, self.groups)
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None
        return geom.N, self.out_channels, geom.OH, geom.OW

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: input has shape {x.shape}, expected "
                             f"(N, {self.in_channels}, H, W)")
        try:  # the op validates the rest once; its errors get this layer's name
            return ops.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                              self.groups, self.algorithm)
        except ValueError as err:
            raise ValueError(f"{self!r}: {err}") from None

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.algorithm != "auto":
            text += f", algorithm={self.algorithm!r}"
        return text


class _Pool2d(Module):
    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, ceil_mode: bool = False) -> None:
        super().__init__()
        pool_params(type(self).__name__, kernel_size, stride, padding)  # the op's own check
        # kept as given (ints stay ints), as PyTorch's pooling layers show them
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode

    def _check(self, x: Tensor) -> None:
        if x.ndim != 4:
            raise ValueError(f"{self!r}: input has shape {tuple(x.shape)}, expected (N, C, H, W)")

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool2d):
    """Max over each kernel window (stride defaults to the kernel size); PyTorch's dilation
    and return_indices are not supported."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, dilation: IntPair = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        if as_pair(dilation, "MaxPool2d: dilation", minimum=1) != (1, 1) or return_indices:
            raise NotImplementedError("MaxPool2d: dilation and return_indices are not supported "
                                      "here; leave them at their defaults")
        super().__init__(kernel_size, stride, padding, ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)


class AvgPool2d(_Pool2d):
    """Mean over each kernel window (stride defaults to the kernel size), PyTorch's options."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)


class Dropout2d(Module):
    """Zero whole channels with probability p while training (scaling the rest by 1/(1-p)),
    over (N, C, H, W) input (or (N, C, L), whose channels PyTorch 2.13 drops too); the identity
    after `eval()`."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"{self!r}: input has shape {tuple(x.shape)}, expected (N, C, H, W) "
                             "or (N, C, L)")
        if not self.training or self.p == 0.0:
            return x
        channels = x.shape[:2] + (1,) * (x.ndim - 2)
        keep = rng.generator().random(channels) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        return x * Tensor((keep * scale).astype(x.dtype), dtype=None)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Unflatten(Module):
    """Split dim into `unflattened_size` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % x.ndim
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (an int, a pair; None keeps that input dim),
    whatever the input size: PyTorch's adaptive windows (ops.adaptive_avg_pool2d)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return ops.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zero each element with probability p while training (scaling the rest by 1/(1-p));
    the identity after `eval()`. `inplace=True` (PyTorch's) is computed out of place."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return ops.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
