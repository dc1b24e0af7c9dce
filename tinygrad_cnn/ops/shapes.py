"""Shape and number arguments, checked where they enter: sizes (factories, reshape, expand), pad
widths, fill values."""

from __future__ import annotations

from typing import Any

import numpy as np


def sizes(shape: Any, op: str, unknown: bool = False) -> tuple[int, ...]:
    """`shape` (an int or a sequence of ints) as a tuple of sizes >= 0, with at most one -1 when
    `unknown` (reshape's inferred size); a TypeError or ValueError naming the op otherwise."""
    dims = _ints(shape, op)
    lowest = -1 if unknown else 0
    if any(d < lowest for d in dims) or dims.count(-1) > 1:
        allowed = "sizes >= 0 and at most one -1" if unknown else "sizes >= 0"
        raise ValueError(f"{op}: invalid shape {dims}: it needs {allowed}")
    return dims


def number(value: Any, op: str) -> Any:
    """A fill value, bound or limit: a Python or NumPy number (not a string, None, a list)."""
    if isinstance(value, (int, float, np.number, np.bool_)):
        return value
    raise TypeError(f"{op}: expected a number, got {value!r:.60} ({type(value).__name__})")


def expand_sizes(shape: Any) -> tuple[int, ...]:
    """expand's sizes: ints >= 0, where -1 (any number of them) keeps that dim's size."""
    dims = _ints(shape, "expand")
    if any(d < -1 for d in dims):
        raise ValueError(f"expand: invalid shape {dims}: sizes must be >= 0 or -1")
    return dims


def _ints(shape: Any, op: str) -> tuple[int, ...]:
    """An int or a sequence of ints (not floats, not bools) as a tuple of Python ints."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(dims, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{op}: a shape must be ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def pad_widths(pad: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """One (before, after) pair per dim from any of the three forms `pad` accepts."""
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(pad):
        return ((int(pad), int(pad)),) * len(shape)
    if isinstance(pad, (tuple, list)) and pad and all(is_int(v) for v in pad):
        if len(pad) % 2 or len(pad) // 2 > len(shape):
            raise ValueError(f"pad: {tuple(pad)} needs an even length of at most "
                             f"2 * {len(shape)} for a tensor of shape {shape}")
        pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
        return ((0, 0),) * (len(shape) - len(pairs)) + tuple(reversed(pairs))
    if (isinstance(pad, (tuple, list)) and len(pad) == len(shape) and all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p)
            for p in pad)):
        return tuple((int(a), int(b)) for a, b in pad)
    raise TypeError(f"pad: expected an int, a flat tuple of ints (PyTorch's F.pad) or one "
                    f"(before, after) pair per dim for shape {shape}; got {pad!r}")
