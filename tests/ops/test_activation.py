"""Activations: forward vs NumPy, gradients vs central differences, stability at +-1000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor

SHAPES = [(), (1,), (5,), (2, 3), (3, 1, 4), (2, 1, 3, 2)]
AXIS_CASES = [((5,), 0), ((5,), -1), ((2, 3), 1), ((2, 3), 0), ((3, 1, 4), -1), ((3, 1, 4), 1),
              ((2, 3, 4, 2), 2), ((2, 3, 4, 2), -4)]


def _softmax(a, axis):
    e = np.exp(a)
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sigmoid(shape):
    check_op(lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), [shape], domain=(-6, 6))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu(shape):
    check_op(lambda x: x.relu(), lambda a: np.where(a > 0, a, 0.0), [shape], margin=0.1)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tanh(shape):
    check_op(lambda x: x.tanh(), np.tanh, [shape])


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu(shape, slope):
    check_op(lambda x: x.leaky_relu(slope), lambda a: np.where(a > 0, a, slope * a), [shape],
             margin=0.1)


@pytest.mark.parametrize("shape, axis", AXIS_CASES, ids=str)
def test_softmax(shape, axis):
    check_op(lambda x: x.softmax(axis), lambda a: _softmax(a, axis), [shape])


@pytest.mark.parametrize("shape, axis", AXIS_CASES, ids=str)
def test_log_softmax(shape, axis):
    check_op(lambda x: x.log_softmax(axis), lambda a: np.log(_softmax(a, axis)), [shape])


def test_relu_gradient_at_zero_is_zero():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_leaky_relu_gradient_at_zero_is_the_slope():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.leaky_relu(0.1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.1, 0.1, 1.0])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "softmax",
                                  "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_and_warning_free_at_plus_minus_1000(name, dtype):
    x = Tensor([[-1000.0, -1.0, 0.0, 1.0, 1000.0]], requires_grad=True, dtype=dtype)
    # underflow to 0 (exp(-2000)) is the correctly rounded answer and NumPy's default ignores
    # it; overflow, divide-by-zero and invalid (nan) are the failures that matter
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        out = getattr(x, name)()
        out.backward(np.linspace(-1, 1, 5).reshape(1, 5))
    assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
    assert out.dtype == dtype and x.grad.dtype == dtype


def test_extreme_values_are_exact():
    x = Tensor([[-1000.0, 0.0, 1000.0]])
    np.testing.assert_array_equal(x.sigmoid().data, [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(x.softmax().data, [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(x.log_softmax().data, [[-2000.0, -1000.0, 0.0]])
