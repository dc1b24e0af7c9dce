"""Pooling with PyTorch's ceil_mode, count_include_pad and divisor_override, against naive loops
over every window (PyTorch's rules for the last window and for the divisor, written out)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, nn, ops


def _out(n, k, s, p, ceil):
    if not ceil:
        return (n + 2 * p - k) // s + 1
    out = math.ceil((n + 2 * p - k) / s) + 1
    return out - 1 if (out - 1) * s >= n + p else out


def _naive(a, k, s, p, ceil, kind, include_pad=True, divisor=None):
    n, c, h, w = a.shape
    oh, ow = _out(h, k, s, p, ceil), _out(w, k, s, p, ceil)
    out = np.empty((n, c, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        r0, c0 = i * s - p, j * s - p
        r1, c1 = min(r0 + k, h + p), min(c0 + k, w + p)  # the window, clipped to the padding
        window = a[:, :, max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)]
        if kind == "max":
            out[:, :, i, j] = window.max(axis=(2, 3))
        else:
            count = (r1 - r0) * (c1 - c0) if include_pad else window.shape[2] * window.shape[3]
            out[:, :, i, j] = window.sum(axis=(2, 3)) / (divisor or count)
    return out


CASES = [((1, 2, 5, 5), 2, 2, 0), ((1, 2, 6, 7), 3, 2, 1), ((2, 1, 7, 4), 3, 3, 1),
         ((1, 1, 5, 5), 3, 2, 0)]


@pytest.mark.parametrize("shape, k, s, p", CASES, ids=str)
@pytest.mark.parametrize("ceil", [False, True])
def test_max_pool_ceil_mode(shape, k, s, p, ceil):
    check_op(lambda x: ops.max_pool2d(x, k, s, p, ceil), lambda a: _naive(a, k, s, p, ceil, "max"),
             [shape])


@pytest.mark.parametrize("shape, k, s, p", CASES, ids=str)
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("include_pad, divisor", [(True, None), (False, None), (True, 2)])
def test_avg_pool_options(shape, k, s, p, ceil, include_pad, divisor):
    check_op(lambda x: ops.avg_pool2d(x, k, s, p, ceil, include_pad, divisor),
             lambda a: _naive(a, k, s, p, ceil, "avg", include_pad, divisor), [shape])


def test_layers_take_the_options_and_show_ceil_mode():
    x = Tensor(np.arange(25.0).reshape(1, 1, 5, 5))
    pool = nn.MaxPool2d(2, ceil_mode=True)
    assert pool(x).shape == (1, 1, 3, 3) and repr(pool).endswith("ceil_mode=True)")
    avg = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    np.testing.assert_allclose(avg(x).data[0, 0, 0, 0], np.mean([0, 1, 5, 6]))
    with pytest.raises(NotImplementedError, match="dilation and return_indices"):
        nn.MaxPool2d(2, dilation=2)
    with pytest.raises(ValueError, match="divisor_override must be a positive int, got 0"):
        ops.avg_pool2d(x, 2, divisor_override=0)
