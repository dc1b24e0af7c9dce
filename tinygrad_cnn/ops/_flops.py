"""FLOP counts whole op families share: an op names one as its `flops` method."""

from __future__ import annotations

from typing import Any

import numpy as np


def per_element(ctx: Any, out: np.ndarray) -> int:
    """One operation per output element (elementwise ops, activations)."""
    return out.size


def per_input_element(ctx: Any, out: np.ndarray) -> int:
    """One operation per element of the first input (reductions, softmax, pooling)."""
    return ctx.parents[0].size


def no_flops(ctx: Any, out: np.ndarray) -> int:
    """Views and copies do no arithmetic (movement ops)."""
    return 0
