"""PyTorch's dtype names (`tg.float32`, `tg.long`, ...) as NumPy dtypes, so `x.dtype == tg.float32`
holds and `x.to(tg.float64)` works. Use them through the package (`tg.float`): imported bare,
`float`, `int` and `bool` would hide Python's own."""

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001 (PyTorch's names shadow Python's here only)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001

__all__ = ["bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8",
           "int16", "int32", "int64", "long", "short", "uint8"]
