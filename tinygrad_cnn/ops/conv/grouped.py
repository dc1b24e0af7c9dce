"""Groups of a 2-D convolution, `conv2d(groups=g)` (depthwise when g == C_in): their checks and
one group's geometry; the op, GroupedConv2d, is in op.py beside Conv2d (their gradient ops call
both).

Each group of C_in / g input channels meets only its own C_out / g filters."""

from __future__ import annotations

from typing import Any

import numpy as np

from .geometry import ConvGeometry, conv_geometry


def group_slice(k: int, size: int) -> slice:
    """The k-th block of `size` channels: group k's channels."""
    return slice(k * size, (k + 1) * size)


def check_groups(groups: Any) -> int:
    """groups as an int >= 1 (PyTorch's rule), else TypeError/ValueError naming the value."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"conv2d: groups must be >= 1, got {groups}")
    return int(groups)


def grouped_geometry(x_shape: tuple, w_shape: tuple, stride: Any, padding: Any, dilation: Any,
                     groups: int) -> ConvGeometry:
    """The geometry of one group; raise ValueError naming both shapes and groups when the
    channels do not split into `groups` (PyTorch's checks)."""
    if check_groups(groups) == 1 or len(x_shape) != 4 or len(w_shape) != 4:
        return conv_geometry(x_shape, w_shape, stride, padding, dilation)  # its own messages
    if w_shape[0] % groups:
        raise ValueError(f"conv2d: weight {w_shape} has {w_shape[0]} output channels, which "
                         f"groups={groups} does not divide")
    if x_shape[1] != w_shape[1] * groups:
        raise ValueError(f"conv2d: input has {x_shape[1]} channels (shape {x_shape}) but weight "
                         f"{w_shape} with groups={groups} expects {w_shape[1] * groups}")
    group_x = (x_shape[0], w_shape[1], *x_shape[2:])
    try:
        return conv_geometry(group_x, (w_shape[0] // groups, *w_shape[1:]), stride, padding,
                             dilation)
    except ValueError as err:
        raise ValueError(f"{err} (one of groups={groups}: input {x_shape}, weight "
                         f"{w_shape})") from None
