"""Readers for the activations and pooling that PyTorch models add to the classic CNN set: Elu,
Softplus, LogSoftmax, Clip (as ReLU6 or Hardtanh) and GlobalAveragePool (AdaptiveAvgPool2d(1))."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .readers import Node, softmax_axis


def elu(node: Node, shape: tuple) -> nn.Module:
    return nn.ELU(node.attr("alpha", 1.0))


def softplus(node: Node, shape: tuple) -> nn.Module:
    return nn.Softplus()


def log_softmax(node: Node, shape: tuple) -> nn.Module:
    return nn.LogSoftmax(softmax_axis(node, shape))


def clip(node: Node, shape: tuple) -> nn.Module:
    """Clip with constant bounds (inputs since opset 11): ReLU6 for [0, 6], else Hardtanh."""
    bounds = [node.constant_or_none(i) for i in (1, 2)]
    if any(b is None for b in bounds):
        raise node.error("Clip needs both bounds as constants to become ReLU6 or Hardtanh")
    low, high = (float(np.asarray(b)) for b in bounds)
    return nn.ReLU6() if (low, high) == (0.0, 6.0) else nn.Hardtanh(low, high)


def global_average_pool(node: Node, shape: tuple) -> nn.Module:
    if len(shape) != 4:
        raise node.error(f"GlobalAveragePool of a {len(shape)}-D input has no nn layer (4-D only)")
    return nn.AdaptiveAvgPool2d(1)


MORE_READERS: dict[str, Any] = {
    "Elu": elu, "Softplus": softplus, "LogSoftmax": log_softmax, "Clip": clip,
    "GlobalAveragePool": global_average_pool,
}
