"""Adadelta (Zeiler 2012), PyTorch's formulas: a step size from running averages of squared
gradients and of squared updates, so the default lr is 1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _numbers


class Adadelta(Optimizer):
    """PyTorch's Adadelta: g += wd * p; v = rho v + (1 - rho) g^2;
    d = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) d^2; p -= lr * d."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        _numbers("Adadelta", lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        if lr < 0 or eps < 0 or weight_decay < 0 or not 0 <= rho <= 1:
            raise ValueError(f"Adadelta: invalid lr={lr}, rho={rho}, eps={eps} or "
                             f"weight_decay={weight_decay}")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p), acc_delta=np.zeros_like(p))
        state["step"] += 1
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * (grad * grad)
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta
