"""Activations: forward vs NumPy, gradients vs central differences, stability at +-1000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, ops

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


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_silu(shape):
    check_op(lambda x: ops.silu(x), lambda a: a / (1 + np.exp(-a)), [shape], domain=(-6, 6))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu(shape, alpha):
    check_op(lambda x: ops.elu(x, alpha), lambda a: np.where(a > 0, a, alpha * np.expm1(a)),
             [shape], margin=0.1)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 3.0)])
def test_softplus(shape, beta, threshold):
    # the domain stays clear of beta * x == threshold, where PyTorch switches to x
    check_op(lambda x: ops.softplus(x, beta, threshold),
             lambda a: np.where(beta * a > threshold, a, np.log1p(np.exp(beta * a)) / beta),
             [shape], domain=(-3, 1.2))


def test_new_activations_match_pytorchs_numbers_at_the_edges():
    # PyTorch 2.13: x = [-2, 0, 0.5, 30]; values and d(sum)/dx
    x = Tensor([-2.0, 0.0, 0.5, 30.0], requires_grad=True)
    expected = {
        "elu": ([-0.8646647334, 0.0, 0.5, 30.0], [0.1353352815, 1.0, 1.0, 1.0]),
        "elu2": ([-1.7293294668, 0.0, 0.5, 30.0], [0.2706705630, 2.0, 1.0, 1.0]),
        "silu": ([-0.2384058386, 0.0, 0.3112296760, 30.0], [-0.0907842517, 0.5, 0.7399612069,
                                                            1.0]),
        "softplus": ([0.1269280016, 0.6931471825, 0.9740769863, 30.0],
                     [0.1192029193, 0.5, 0.6224593520, 1.0]),
        "softplus_b2_t1": ([0.0090749646, 0.3465735912, 0.6566308141, 30.0],
                           [0.0179862101, 0.5, 0.7310585976, 1.0]),
    }
    calls = {"elu": ops.elu, "elu2": lambda t: ops.elu(t, alpha=2.0), "silu": ops.silu,
             "softplus": ops.softplus,
             "softplus_b2_t1": lambda t: ops.softplus(t, beta=2, threshold=1)}
    for name, (values, grads) in expected.items():
        x.grad = None
        out = calls[name](x)
        out.sum().backward()
        np.testing.assert_allclose(out.data, values, rtol=2e-6, err_msg=name)
        np.testing.assert_allclose(x.grad.data, grads, rtol=2e-6, err_msg=name)
