"""What a recorded op keeps for backward, counted in bytes: the arrays its context holds, each
buffer once (a view counts as the array that owns its memory, which it keeps alive).

NumPy and the engine only, so `nn.summary`, the profiler and `tinygrad_cnn.saved_memory` share
one count. What counts: every ndarray the context holds, in `save_for_backward` (`ctx._saved`)
or as another attribute set by forward (pooling's divisor, an index array), also inside tuples,
lists and dicts, and the array of any Tensor held there. `ctx.parents` is not counted: the
inputs are the graph's values, not arrays kept for this op (an op that needs an input saves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import Function, Node, toposort


def owner(array: np.ndarray) -> np.ndarray:
    """The array that owns `array`'s memory: `.base` walked to its end (through the plain
    objects `as_strided` puts in between); `array` itself when it owns its memory."""
    found, base = array, array.base
    while base is not None:
        if isinstance(base, np.ndarray):
            found = base
        base = getattr(base, "base", None)
    return found


def saved_arrays(ctx: Function) -> list[np.ndarray]:
    """Every array `ctx` holds for backward (see the module docstring), in attribute order."""
    return arrays_in([value for key, value in vars(ctx).items() if key != "parents"])


def arrays_in(value: Any) -> list[np.ndarray]:
    """The ndarrays in `value`: itself, a Tensor's array, or inside tuples, lists and dicts."""
    found: list[np.ndarray] = []
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, Node):
            value = value.data
        if isinstance(value, np.ndarray):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
    return found


def unique_owners(arrays: Iterable[np.ndarray]) -> list[np.ndarray]:
    """The distinct owners of `arrays` (by identity), first seen first."""
    owners: dict[int, np.ndarray] = {}
    for array in arrays:
        base = owner(array)
        owners.setdefault(id(base), base)
    return list(owners.values())


def count_bytes(arrays: Iterable[np.ndarray]) -> int:
    """Bytes of the memory behind `arrays`: each owner's `nbytes` once."""
    return sum(base.nbytes for base in unique_owners(arrays))


def saved_bytes(ctx: Function) -> int:
    """Bytes that one recorded op keeps for backward (its views counted once)."""
    return count_bytes(saved_arrays(ctx))


def recorded_ops(root: Node) -> list[Function]:
    """The contexts of the ops that `root` was computed from, in forward (topological) order."""
    return [node._ctx for node in toposort(root) if node._ctx is not None]


def saved_bytes_by_module(ctxs: Iterable[Function]) -> dict[int, tuple[Any, int]]:
    """id(module) -> (module, bytes its ops keep), a buffer shared by two of its ops counted once;
    module is `ctx.module`, the innermost module running when the op was recorded (or None)."""
    groups: dict[int, tuple[Any, list[np.ndarray]]] = {}
    for ctx in ctxs:
        groups.setdefault(id(ctx.module), (ctx.module, []))[1].extend(saved_arrays(ctx))
    return {key: (module, count_bytes(arrays)) for key, (module, arrays) in groups.items()}
