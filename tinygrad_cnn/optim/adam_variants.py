"""Adam's variants, PyTorch's formulas: Adamax (infinity norm), NAdam (Nesterov momentum) and
RAdam (variance rectification). Each keeps Adam's first moment m = b1 m + (1 - b1) g."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_adam


def _decayed(p: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
    """L2 weight decay added to the gradient, or (decoupled) applied to p in place."""
    wd = group["weight_decay"]
    if wd == 0:
        return grad
    if group.get("decoupled_weight_decay"):
        p *= 1 - group["lr"] * wd
        return grad
    return grad + wd * p


def _moments(grad: np.ndarray, state: dict[str, Any], beta1: float, beta2: float) -> None:
    """m += (1 - b1) (g - m) (PyTorch's lerp) and v = b2 v + (1 - b2) g^2, in place."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (grad * grad)


class Adamax(Optimizer):
    """PyTorch's Adamax: g += wd * p; m = b1 m + (1 - b1) g; u = max(b2 u, |g| + eps);
    p -= lr / (1 - b1^t) * m / u."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        _check_adam("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        grad = _decayed(p, grad, group)
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_inf=np.zeros_like(p))
        state["step"] += 1
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + group["eps"], out=exp_inf)
        p -= group["lr"] / (1 - beta1 ** state["step"]) * (exp_avg / exp_inf)


class NAdam(Optimizer):
    """PyTorch's NAdam: mu_t = b1 (1 - 0.5 * 0.96^(t psi)) (psi = momentum_decay), P_t = prod mu;
    m, v as Adam; d = sqrt(v / (1 - b2^t)) + eps;
    p -= lr (1 - mu_t) / (1 - P_t) g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False) -> None:
        _check_adam("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0:
            raise ValueError(f"NAdam: invalid momentum_decay={momentum_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": bool(decoupled_weight_decay)})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        grad = _decayed(p, grad, group)
        if not state:
            state.update(step=0, mu_product=1.0, exp_avg=np.zeros_like(p),
                         exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        step = state["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        _moments(grad, state, beta1, beta2)
        denom = np.sqrt(state["exp_avg_sq"] / (1 - beta2**step)) + group["eps"]
        p -= lr * (1 - mu) / (1 - mu_product) * (grad / denom)
        p -= lr * mu_next / (1 - mu_product * mu_next) * (state["exp_avg"] / denom)


class RAdam(Optimizer):
    """PyTorch's RAdam: m, v as Adam; rho_inf = 2 / (1 - b2) - 1,
    rho_t = rho_inf - 2 t b2^t / (1 - b2^t); while rho_t <= 5, p -= lr m / (1 - b1^t); then
    p -= lr m / (1 - b1^t) * r_t sqrt(1 - b2^t) / (sqrt(v) + eps), with the rectification
    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False) -> None:
        _check_adam("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": bool(decoupled_weight_decay)})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        grad = _decayed(p, grad, group)
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        step = state["step"]
        _moments(grad, state, beta1, beta2)
        bias_correction2 = 1 - beta2**step
        update = state["exp_avg"] * (lr / (1 - beta1**step))
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
        if rho_t > 5.0:  # the variance of the adaptive step is tractable: rectify it
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            update *= rect * math.sqrt(bias_correction2) / (np.sqrt(state["exp_avg_sq"])
                                                           + group["eps"])
        p -= update
