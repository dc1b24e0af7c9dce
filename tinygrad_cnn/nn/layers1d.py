"""1-D layers over (N, C, L) input (or unbatched (C, L)), PyTorch's Conv1d, MaxPool1d and
AvgPool1d: each runs its 2-D counterpart on a height-1 view, so the engine derives their
gradients through the reshapes. The weight of Conv1d is (C_out, C_in / groups, K), as PyTorch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..ops._args import as_count
from ..ops.conv.geometry import string_padding
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def _one(value: Any, name: str) -> int:
    """An int, or a 1-tuple of one (PyTorch's 1-D layers accept both)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


def _as_2d(layer: Module, x: Tensor) -> tuple[Tensor, bool]:
    """(N, C, 1, L) from (N, C, L), or from unbatched (C, L) with a note to drop N again."""
    if x.ndim not in (2, 3):
        raise ValueError(f"{layer!r}: input has shape {tuple(x.shape)}, expected (N, C, L) or "
                         "(C, L)")
    unbatched = x.ndim == 2
    return (x.unsqueeze(0) if unbatched else x).unsqueeze(2), unbatched


def _back(out: Tensor, unbatched: bool) -> Tensor:
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


class Conv1d(Module):
    """1-D convolution; weight (C_out, C_in / groups, K) and bias start as PyTorch's."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode={padding_mode!r} is not supported "
                                      "here; only 'zeros'")
        self.in_channels = as_count(in_channels, "Conv1d: in_channels")
        self.out_channels = as_count(out_channels, "Conv1d: out_channels")
        self.kernel_size = _one(kernel_size, "Conv1d: kernel_size")
        self.stride, self.dilation = _one(stride, "Conv1d: stride"), _one(dilation, "Conv1d: "
                                                                         "dilation")
        if isinstance(padding, str):  # 'same' / 'valid', resolved as the 2-D conv does
            padding = string_padding(padding, (1, self.kernel_size), (1, self.stride),
                                     (1, self.dilation), "Conv1d")[1]
        self.padding = _one(padding, "Conv1d: padding")
        if groups < 1 or self.in_channels % groups or self.out_channels % groups:
            raise ValueError(f"Conv1d: in_channels={self.in_channels} and out_channels="
                             f"{self.out_channels} must be divisible by groups={groups}")
        self.groups = groups
        shape = (self.out_channels, self.in_channels // groups, self.kernel_size)
        self.weight = Parameter(np.zeros(shape, np.float32))
        self.bias = Parameter(np.zeros(self.out_channels, np.float32)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = shape[1] * shape[2]
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        x2, unbatched = _as_2d(self, x)
        out = ops.conv2d(x2, self.weight.unsqueeze(2), self.bias, (1, self.stride),
                         (0, self.padding), (1, self.dilation), self.groups)
        return _back(out, unbatched)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
                f"stride=({self.stride},)")
        text += f", padding=({self.padding},)" if self.padding else ""
        text += f", dilation=({self.dilation},)" if self.dilation != 1 else ""
        text += f", groups={self.groups}" if self.groups != 1 else ""
        return text + (", bias=False" if self.bias is None else "")


class _Pool1d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _one(kernel_size, f"{name}: kernel_size")
        self.stride = self.kernel_size if stride is None else _one(stride, f"{name}: stride")
        self.padding, self.ceil_mode = _one(padding, f"{name}: padding"), ceil_mode

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool1d):
    def forward(self, x: Tensor) -> Tensor:
        x2, unbatched = _as_2d(self, x)
        out = ops.max_pool2d(x2, (1, self.kernel_size), (1, self.stride), (0, self.padding),
                             self.ceil_mode)
        return _back(out, unbatched)


class AvgPool1d(_Pool1d):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        x2, unbatched = _as_2d(self, x)
        out = ops.avg_pool2d(x2, (1, self.kernel_size), (1, self.stride), (0, self.padding),
                             self.ceil_mode, self.count_include_pad)
        return _back(out, unbatched)
