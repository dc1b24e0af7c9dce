"""How an index reads: Tensors in it become their arrays, lists integer arrays, and an index
that mixes integers with index arrays follows PyTorch, not NumPy.

NumPy counts an integer next to index arrays as one more index array, so `x[1, :, [0, 3]]` on a
(2, 3, 4) tensor puts the advanced dimension first, (2, 3); PyTorch applies integers as basic
indexing first and then the arrays to that view, (3, 2). `SplitIndex` holds those two steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class SplitIndex(NamedTuple):
    """`first`: the integers (slices in the other places), a view; `rest`: everything else,
    applied to that view. `original`: the index as given, for error messages."""

    first: tuple
    rest: tuple
    original: tuple


def take(a: np.ndarray, index: Any) -> Any:
    """a[index], in PyTorch's reading."""
    return a[index.first][index.rest] if isinstance(index, SplitIndex) else a[index]


def put(a: np.ndarray, index: Any, value: Any) -> None:
    """a[index] = value, in place (the first step of a SplitIndex is a view of a)."""
    if isinstance(index, SplitIndex):
        a[index.first][index.rest] = value
    else:
        a[index] = value


def add_at(a: np.ndarray, index: Any, value: Any) -> None:
    """a[index] += value, unbuffered: repeated indices add up."""
    if isinstance(index, SplitIndex):
        np.add.at(a[index.first], index.rest, value)
    else:
        np.add.at(a, index, value)


def index_problem(index: Any) -> str | None:
    """What is wrong with an index NumPy refused, in our words (None: NumPy's are clear)."""
    if isinstance(index, SplitIndex):
        index = index.original
    for part in index if isinstance(index, tuple) else (index,):
        if isinstance(part, np.ndarray) and part.dtype.kind not in "biu":
            return f"index arrays must hold integers or bools, got {part.dtype}"
        if not isinstance(part, (int, np.integer, slice, np.ndarray)) and part not in (None, ...):
            return (f"an index is an int, a slice, None, ... or an integer or bool array, got "
                    f"{part!r:.40}")
    return None


def plain_index(index: Any) -> Any:
    """Tensors inside an index replaced by their arrays (lists become integer arrays); a tuple
    mixing integers with index arrays becomes a SplitIndex."""
    if isinstance(index, SplitIndex):
        return index
    if isinstance(index, tuple):
        parts = tuple(_plain(i) for i in index)
        return _split(parts) if _mixes_ints_and_arrays(parts) else parts
    return _plain(index)


def _plain(part: Any) -> Any:
    if hasattr(part, "data") and isinstance(part.data, np.ndarray):
        if part.data.ndim == 0 and part.data.dtype.kind in "iu":
            return int(part.data)  # a 0-d integer Tensor selects like an int (PyTorch)
        return part.data
    if isinstance(part, list):
        return np.asarray(part)
    return part


def _is_int(part: Any) -> bool:
    return isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_))


def _is_array(part: Any) -> bool:
    return isinstance(part, np.ndarray) and part.ndim > 0


def _mixes_ints_and_arrays(parts: tuple) -> bool:
    return any(_is_int(p) for p in parts) and any(_is_array(p) for p in parts)


def _split(parts: tuple) -> SplitIndex:
    first: list[Any] = []
    rest: list[Any] = []
    for part in parts:
        if _is_int(part):
            first.append(part)
        elif part is Ellipsis:
            first.append(part)
            rest.append(part)
        elif part is None or isinstance(part, (bool, np.bool_)):  # they add a dim, cover none
            rest.append(part)
        else:  # a slice or an array: the first step keeps every dim it covers
            covered = part.ndim if isinstance(part, np.ndarray) and part.dtype == np.bool_ else 1
            first.extend([slice(None)] * covered)
            rest.append(part)
    return SplitIndex(tuple(first), tuple(rest), parts)
