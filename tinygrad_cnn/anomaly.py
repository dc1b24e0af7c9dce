"""Anomaly mode: stop at the first op whose output or gradient holds NaN or Inf, and name it.

    with tinygrad_cnn.detect_anomaly(model):
        loss = loss_fn(model(x), y)
        loss.backward()

raises AnomalyError('Log produced -inf in its forward output (module fc1 (Linear)); inputs:
(4,) float32 ...'). It is an observer (`autograd.observe`), so nothing runs when it is off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import autograd
from .naming import ModuleNames


class AnomalyError(RuntimeError):
    """An op produced NaN or Inf. Attributes: op (its name), phase ('forward' or 'backward'),
    module (display name or None), input_shapes, and ctx (the op's context)."""

    def __init__(self, message: str, ctx: Any, phase: str, module: str | None) -> None:
        super().__init__(message)
        self.ctx = ctx
        self.op = ctx.name
        self.phase = phase
        self.module = module
        self.input_shapes = [tuple(p.shape) for p in ctx.parents]


def _bad_values(array: Any) -> str | None:
    """'nan', 'inf', '-inf' (the kinds present), or None when every value is finite."""
    array = np.asarray(array)
    if array.size == 0 or not np.issubdtype(array.dtype, np.inexact):
        return None
    # two reductions without a temporary bool array: NaN propagates through both, and an
    # infinity shows up as the min or the max
    low, high = array.min(), array.max()
    if np.isfinite(low) and np.isfinite(high):
        return None
    kinds = [k for k, bad in (("nan", np.isnan(array).any()), ("inf", np.isposinf(array).any()),
                              ("-inf", np.isneginf(array).any())) if bad]
    return "/".join(kinds)


class _AnomalyObserver:
    def __init__(self, model: Any, check_forward: bool, check_backward: bool) -> None:
        self.names = ModuleNames(model)
        self.check_forward = check_forward
        self.check_backward = check_backward

    def on_forward(self, ctx: Any, out: Any, seconds: float) -> None:
        if self.check_forward:
            kinds = _bad_values(out.data)
            if kinds:
                self._raise(ctx, "forward", f"{kinds} in its forward output")

    def on_backward(self, ctx: Any, input_grads: Any, seconds: float) -> None:
        if not self.check_backward:
            return
        grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
        for index, grad in enumerate(grads):
            kinds = _bad_values(grad) if grad is not None else None
            if kinds:
                self._raise(ctx, "backward", f"{kinds} in the gradient for its input {index}")

    def _raise(self, ctx: Any, phase: str, what: str) -> None:
        module = None if ctx.module is None else self.names.title(ctx.module)
        inputs = ", ".join(_describe(p) for p in ctx.parents) or "none"
        where = f" in module {module}" if module else ""
        message = f"{ctx.name}{where} produced {what}; inputs: {inputs}"
        if phase == "forward" and any(_bad_values(p.data) for p in ctx.parents):
            message += " (an input was already non-finite, so the cause lies before this op)"
        raise AnomalyError(message, ctx, phase, module)


def _describe(tensor: Any) -> str:
    kinds = _bad_values(tensor.data)
    return f"{tuple(tensor.shape)} {tensor.dtype}" + (f" holding {kinds}" if kinds else "")


@contextmanager
def detect_anomaly(model: Any = None, check_forward: bool = True,
                   check_backward: bool = True) -> Iterator[None]:
    """Raise AnomalyError at the first op whose forward output (or backward gradient) holds NaN
    or Inf, naming the op, its module (dotted name when `model` is given), its inputs' shapes
    and the phase. Every op's output is scanned (two reductions), so use it to debug, not to
    train."""
    with autograd.observe(_AnomalyObserver(model, check_forward, check_backward)):
        yield
