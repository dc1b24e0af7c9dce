"""Grouped 2-D convolution, `conv2d(groups=g)` (depthwise when g == C_in), by conv2d's algorithms.

Each group of C_in / g input channels meets only its own C_out / g filters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import Function
from .geometry import ConvGeometry, conv_geometry
from .op import ALGORITHMS, Conv2d, resolve_algorithm


class GroupedConv2d(Function):
    """out[:, group k] = conv2d(x[:, group k], weight[group k]) + bias[group k] for k < groups;
    grad_x, grad_w, grad_b are conv2d's, group by group. x (N, C_in, H, W), weight
    (C_out, C_in / groups, KH, KW), bias (C_out,) -> (N, C_out, OH, OW). The chosen algorithm
    runs once per group (`ctx.geom` is one group's), so every algorithm supports groups."""

    algorithm = "auto"
    rule = "grad_x, grad_w, grad_b are conv2d's, group by group"
    flops = Conv2d.flops  # weight holds C_in / groups channels: the same count holds
    backward_flops = Conv2d.backward_flops

    @property
    def name(self) -> str:
        return f"GroupedConv2d[{self.algorithm}]"

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                algorithm: str = "auto") -> np.ndarray:
        geom = grouped_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d: bias has shape {bias.shape}, expected ({weight.shape[0]},) "
                             f"for weight {weight.shape}")
        ctx.algorithm = resolve_algorithm(algorithm, geom)
        ctx.geom, ctx.groups = geom, groups
        forward_fn = ALGORITHMS[ctx.algorithm][0]
        outs, saved = [], []
        for k in range(groups):
            b_k = None if bias is None else bias[_part(k, geom.C_out)]
            out_k, saved_k = forward_fn(x[:, _part(k, geom.C_in)], weight[_part(k, geom.C_out)],
                                        b_k, geom, need_w=ctx.needs_input_grad[1])
            outs.append(out_k)
            saved.append(saved_k)
        ctx.save_for_backward(weight, *saved)
        return np.concatenate(outs, axis=1)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        weight, *saved = ctx.saved_tensors
        geom, needs = ctx.geom, ctx.needs_input_grad
        backward_fn = ALGORITHMS[ctx.algorithm][1]
        per_group = [backward_fn(grad_out[:, _part(k, geom.C_out)], weight[_part(k, geom.C_out)],
                                 saved[k], geom, needs) for k in range(ctx.groups)]
        grads = []
        for i, need in enumerate(needs):  # grad_x joins on channels, grad_w and grad_b on axis 0
            parts = [group_grads[i] for group_grads in per_group]
            grads.append(np.concatenate(parts, axis=1 if i == 0 else 0) if need else None)
        return tuple(grads)


def _part(k: int, size: int) -> slice:
    """The k-th block of `size` channels."""
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
