"""IEEE results without NumPy's RuntimeWarnings, for the math ops."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


def quiet_math(cls: Any) -> Any:
    """Class decorator for a Function: its forward and backward return IEEE's inf and nan
    silently, as PyTorch does (log(0) = -inf, 1/0 = inf, sqrt(-1) = nan, exp(1000) = inf),
    instead of printing NumPy's RuntimeWarnings; `detect_anomaly` is the way to find them."""
    for name in ("forward", "backward"):
        fn = getattr(cls, name)

        @functools.wraps(fn)
        def quiet(*args: Any, _fn: Any = fn, **kwargs: Any) -> Any:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return _fn(*args, **kwargs)
        setattr(cls, name, staticmethod(quiet))
    return cls
