"""gradcheck: compare backward() with float64 central differences and explain any mismatch;
gradgradcheck: the same for the gradient itself (backward with create_graph=True)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import autograd
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """backward() disagrees with finite differences; the message says where and by how much."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check `fn`'s gradients w.r.t. every input that requires grad (all inputs when none do).

    Inputs are copied to float64. A non-scalar output is reduced with fixed random weights, so
    every output element takes part. Returns True, or raises GradcheckError naming the input
    index, the worst element, both gradients there and the relative error.
    """
    check, values = _float64_inputs(inputs)
    probe = _probe(fn, values, seed)

    leaves = [Tensor(v, requires_grad=c, dtype=None) for v, c in zip(values, check)]
    loss = _weighted(fn(*leaves), probe)
    loss.backward()
    for index, leaf in enumerate(leaves):
        if not check[index]:
            continue
        analytic = np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad.data
        numeric = _central_differences(fn, values, index, probe, eps)
        _compare(index, analytic, numeric, atol, rtol)
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """PyTorch's gradgradcheck: the first-order gradients of `fn` (autograd.grad with
    create_graph=True, for a fixed random grad_output) are themselves a function of the inputs;
    gradcheck checks it against float64 central differences, i.e. the second derivatives.
    Returns True or raises GradcheckError as gradcheck does."""
    check, values = _float64_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    grad_out = rng.uniform(0.5, 1.5, _probe(fn, values, seed).shape)
    weights = [rng.uniform(0.5, 1.5, v.shape) for v in values]

    def first_order(*leaves: Tensor) -> Tensor:
        leaves = [leaf if leaf.requires_grad or not c else leaf.detach().requires_grad_()
                  for leaf, c in zip(leaves, check)]
        wanted = [leaf for leaf, c in zip(leaves, check) if c]
        grads = autograd.grad(fn(*leaves), wanted, grad_outputs=Tensor(grad_out, dtype=None),
                              create_graph=True, allow_unused=True)
        total = sum((leaf * 0.0).sum() for leaf in wanted)  # a path to every input
        for g, w in zip(grads, [w for w, c in zip(weights, check) if c]):
            if g is not None:
                total = total + (g * Tensor(w, dtype=None)).sum()
        return total

    return gradcheck(first_order, [Tensor(v, requires_grad=c, dtype=None)
                                   for v, c in zip(values, check)], eps, atol, rtol, seed)


def _float64_inputs(inputs: Sequence[Any]) -> tuple[list[bool], list[np.ndarray]]:
    """Which inputs to check (those that require grad; every float input when none does) and
    the inputs' values, every float one copied to float64 (a float32 constant beside a float64
    input would make ops that refuse mixed dtypes, such as linear, fail)."""
    tensors = [x if isinstance(x, Tensor) else Tensor(x, dtype=np.float64) for x in inputs]
    check = [t.requires_grad for t in tensors]
    if not any(check):
        check = [np.issubdtype(t.dtype, np.floating) for t in tensors]
    if not any(check):  # PyTorch's gradcheck refuses too: there would be nothing to check
        raise ValueError("gradcheck: expects at least one floating-point input to check; got "
                         f"dtypes {[str(t.dtype) for t in tensors]}")
    values = [np.array(t.data, dtype=np.float64 if t.dtype.kind == "f" else t.dtype)
              for t in tensors]
    return check, values


def _probe(fn: Callable, values: list[np.ndarray], seed: int) -> np.ndarray:
    out = fn(*[Tensor(v, dtype=None) for v in values])
    return np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)


def _weighted(out: Tensor, probe: np.ndarray) -> Tensor:
    return (out * Tensor(probe, dtype=np.float64)).sum()


def _central_differences(
    fn: Callable, values: list[np.ndarray], index: int, probe: np.ndarray, eps: float
) -> np.ndarray:
    def f() -> float:
        out = fn(*[Tensor(v, dtype=None) for v in values])
        return float((np.asarray(out.data, dtype=np.float64) * probe).sum())

    x = values[index]
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        plus = f()
        x[i] = original - eps
        minus = f()
        x[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _compare(index: int, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float):
    if analytic.shape != numeric.shape:
        raise GradcheckError(
            f"input {index}: backward() gave a gradient of shape {analytic.shape}, "
            f"expected {numeric.shape}"
        )
    error = np.abs(analytic - numeric)
    excess = error - (atol + rtol * np.abs(numeric))
    if excess.size == 0 or excess.max() <= 0:
        return
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    relative = error[worst] / max(np.abs(numeric[worst]), 1e-12)
    raise GradcheckError(
        f"gradcheck failed for input {index} at element {tuple(int(i) for i in worst)}: "
        f"backward() gave {analytic[worst]:.6g}, finite differences gave {numeric[worst]:.6g} "
        f"(relative error {relative:.3g}, atol={atol}, rtol={rtol}); "
        f"{int((excess > 0).sum())} of {excess.size} elements are off"
    )
