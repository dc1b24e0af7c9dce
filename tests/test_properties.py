"""Laws that hold for all inputs (hypothesis): broadcasting gradients, reductions, softmax."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_cnn import Tensor

FAST = settings(max_examples=60, deadline=None)
values = st.floats(-3, 3, allow_nan=False, width=64)


def reduce_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Independent reference: sum a broadcast gradient back to `shape` with plain loops."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@FAST
@given(st.data())
def test_broadcast_gradient_of_sum_x_times_y(data):
    shape_x, shape_y = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4,
                                                                   max_side=3)).input_shapes
    x_val = data.draw(hnp.arrays(np.float64, shape_x, elements=values))
    y_val = data.draw(hnp.arrays(np.float64, shape_y, elements=values))
    x = Tensor(x_val, requires_grad=True, dtype=np.float64)
    y = Tensor(y_val, requires_grad=True, dtype=np.float64)
    (x * y).sum().backward()
    out_shape = np.broadcast_shapes(shape_x, shape_y)
    np.testing.assert_allclose(x.grad.data, reduce_to(np.broadcast_to(y_val, out_shape), shape_x))
    np.testing.assert_allclose(y.grad.data, reduce_to(np.broadcast_to(x_val, out_shape), shape_y))


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4, max_side=4),
                  elements=values))
def test_grad_of_sum_is_ones_and_of_mean_is_one_over_n(a):
    x = Tensor(a, requires_grad=True, dtype=np.float64)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones_like(a))
    x.grad = None
    x.mean().backward()
    np.testing.assert_allclose(x.grad.data, np.full_like(a, 1 / a.size))


@FAST
@given(st.data())
def test_reducing_a_tuple_of_axes_equals_sequential_reductions(data):
    a = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                             elements=values))
    axes = data.draw(st.lists(st.integers(0, a.ndim - 1), min_size=1, unique=True))
    for name in ("sum", "amax", "amin"):
        together = getattr(Tensor(a, dtype=np.float64), name)(axis=tuple(axes))
        one_by_one = Tensor(a, dtype=np.float64)
        for axis in sorted(axes, reverse=True):
            one_by_one = getattr(one_by_one, name)(axis=axis)
        np.testing.assert_allclose(together.data, one_by_one.data, rtol=1e-12)
        numpy_name = name.removeprefix("a")  # amax: NumPy's max
        np.testing.assert_allclose(together.data, getattr(a, numpy_name)(axis=tuple(axes)),
                                   rtol=1e-12)


@FAST
@given(st.data())
def test_grad_of_sum_over_axes_is_ones_and_mean_is_one_over_count(data):
    a = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                             elements=values))
    axes = tuple(data.draw(st.lists(st.integers(0, a.ndim - 1), min_size=1, unique=True)))
    negative = tuple(axis - a.ndim for axis in axes)  # the same axes, counted from the end
    keepdims = data.draw(st.booleans())
    x = Tensor(a, requires_grad=True, dtype=np.float64)
    out = x.sum(axis=axes, keepdims=keepdims)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(x.grad.data, np.ones_like(a))
    x.grad = None
    out = x.mean(axis=negative, keepdims=keepdims)
    out.backward(np.ones(out.shape))
    count = np.prod([a.shape[axis] for axis in axes])
    np.testing.assert_allclose(x.grad.data, np.full_like(a, 1 / count))


logits = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-1000, 1000, allow_nan=False, width=64))


@FAST
@given(logits, st.integers(-1, 0))
def test_softmax_sums_to_one(a, axis):
    out = Tensor(a, dtype=np.float64).softmax(axis).data
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-12)
    out32 = Tensor(a).softmax(axis).data
    np.testing.assert_allclose(out32.sum(axis=axis), 1.0, rtol=1e-5)


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.floats(-30, 30, allow_nan=False, width=64)), st.integers(-1, 0))
def test_log_softmax_is_log_of_softmax(a, axis):
    x = Tensor(a, dtype=np.float64)
    np.testing.assert_allclose(x.log_softmax(axis).data, np.log(x.softmax(axis).data),
                               rtol=1e-10, atol=1e-10)
