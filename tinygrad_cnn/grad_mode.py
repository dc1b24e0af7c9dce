"""Grad mode: whether ops record the graph, per thread (as PyTorch; the flag is the engine's):
`no_grad`, `enable_grad`, `inference_mode` (the same as no_grad here) and `set_grad_enabled`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .engine import _state


def is_grad_enabled() -> bool:
    return _state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode, restoring the previous mode on exit."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_state.grad_enabled)
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.previous.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad(fn: Callable | None = None) -> Any:
    """Ops inside record no graph: `with no_grad():`, `@no_grad()` or `@no_grad`."""
    return _GradMode(False) if fn is None else _GradMode(False)(fn)


def enable_grad(fn: Callable | None = None) -> Any:
    """Turn graph recording back on inside a `no_grad` block (same three forms as no_grad)."""
    return _GradMode(True) if fn is None else _GradMode(True)(fn)


class inference_mode(_GradMode):  # noqa: N801 (PyTorch's name)
    """PyTorch's inference_mode: no_grad here (nothing is cheaper than not recording);
    `inference_mode(False)` leaves the mode as it is when the block starts. Also a decorator,
    with or without the parentheses."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @inference_mode without parentheses
            return _GradMode(False)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        super().__init__(False)
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self.enabled = False if self.mode else _state.grad_enabled
        super().__enter__()

    def __call__(self, fn: Callable) -> Callable:
        return _GradMode(False)(fn) if self.mode else fn


class set_grad_enabled:  # noqa: N801 (PyTorch's name; used like a function)
    """`set_grad_enabled(False)` switches graph recording off at once, for this thread; as
    `with set_grad_enabled(mode):` the previous mode comes back at the end of the block; as a
    decorator, `@set_grad_enabled(mode)`, the mode holds while the function runs."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.previous

    def __call__(self, fn: Callable) -> Callable:
        _state.grad_enabled = self.previous  # decorating switches nothing by itself
        return _GradMode(self.mode)(fn)
