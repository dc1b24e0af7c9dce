"""Gradient clipping: clip_grad_norm_ and clip_grad_value_."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the
    norm of all gradients taken together; returns total_norm. Gradients are replaced, not
    modified in place (a .grad array may be shared)."""
    params = _with_grads(parameters)
    if not params:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.abs(p.grad.data).max(initial=0.0)) for p in params)
    else:
        norms = [np.linalg.norm(p.grad.data.ravel(), ord=norm_type) for p in params]
        total = float(np.linalg.norm(np.asarray(norms, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is "
                           f"{total}; pass error_if_nonfinite=False to clip anyway")
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad = Tensor(p.grad.data * np.asarray(scale, dtype=p.grad.dtype), dtype=None)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] (gradients are replaced)."""
    for p in _with_grads(parameters):
        p.grad = Tensor(np.clip(p.grad.data, -clip_value, clip_value), dtype=None)
