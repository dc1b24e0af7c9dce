"""A pickle loader that can rebuild NumPy arrays and nothing else (for legacy dataset pickles)."""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any

import numpy as np

try:  # NumPy >= 2 moved the implementation; the old path still appears inside old pickles
    from numpy._core.multiarray import _reconstruct, scalar
    from numpy._core.numeric import _frombuffer
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct, scalar
    from numpy.core.numeric import _frombuffer

# Every global that pickles of arrays and NumPy scalars (protocols 0-5, NumPy 1.x or 2.x) refer
# to. Pickle calls whatever find_class returns, so anything beyond these could run arbitrary code.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): scalar,
    ("numpy._core.multiarray", "scalar"): scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # protocol 5, non-contiguous arrays
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # protocols 0-2 written by Python 3 spell bytes as encode(str, "latin1"): a pure function
    ("_codecs", "encode"): codecs.encode,
}


class ArrayUnpickler(pickle.Unpickler):
    """An Unpickler whose `find_class` resolves only the NumPy array globals above."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only NumPy arrays are allowed"
            ) from None


def loads_arrays(data: bytes) -> Any:
    """Unpickle `data` (tuples, lists, numbers, NumPy arrays) without running foreign code.
    latin1 lets NumPy read the byte strings inside Python 2 pickles such as mnist.pkl.gz."""
    return ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
