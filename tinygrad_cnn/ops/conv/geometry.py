"""The conv's shape facts: ConvGeometry and the validation that builds it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .._args import as_pair


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


def string_padding(padding: Any, kernel: Any, stride: Any, dilation: Any, op: str) -> Any:
    """PyTorch's padding='valid' (none) and 'same' (output size = input size, stride 1) as a
    pair of ints; any other padding comes back as given. 'same' needs an even total padding
    dilation * (kernel - 1) in each dim: PyTorch pads one more on the right/bottom otherwise,
    which this conv's symmetric padding cannot express, so that case is an error."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return (0, 0)
    if padding != "same":
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    if as_pair(stride, f"{op}: stride", minimum=1) != (1, 1):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    dilation = as_pair(dilation, f"{op}: dilation", minimum=1)
    totals = [d * (k - 1) for d, k in zip(dilation, as_pair(kernel, f"{op}: kernel_size"))]
    if any(total % 2 for total in totals):
        raise ValueError(f"{op}: padding='same' with kernel_size {kernel} and dilation "
                         f"{dilation} needs uneven padding (one more on one side), which is not "
                         "supported here; use an odd kernel size, or ops.pad the input first")
    return totals[0] // 2, totals[1] // 2


def conv_params(op: str, stride: Any, padding: Any, dilation: Any) -> tuple:
    """(stride, padding, dilation) as pairs, checked once for the op and the layer: stride and
    dilation >= 1, padding >= 0; errors start with `op`."""
    return (as_pair(stride, f"{op}: stride", minimum=1),
            as_pair(padding, f"{op}: padding", minimum=0),
            as_pair(dilation, f"{op}: dilation", minimum=1))


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
    stride, padding, dilation = conv_params("conv2d", stride, padding, dilation)
    geom = ConvGeometry(*x_shape, w_shape[0], *w_shape[2:], stride, padding, dilation)
    if min(w_shape[2:]) < 1 or geom.OH < 1 or geom.OW < 1:
        raise ValueError(
            f"conv2d: kernel {w_shape[2:]} (dilation {dilation}) is larger than the padded input "
            f"{(x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])}; input shape "
            f"{x_shape}, weight shape {w_shape}")
    return geom

