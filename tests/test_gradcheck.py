"""gradcheck itself, and that check_op fails when an op or its gradient is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, uniform

from tinygrad_cnn import Function, GradcheckError, Tensor, gradcheck


class BadSquare(Function):
    """out = x**2, with a deliberately wrong gradient 3x instead of 2x."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * 3 * ctx.saved_tensors[0]


class BadSecondInput(Function):
    """out = x * y; the gradient of y is wrong at one element only."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        x, y = ctx.saved_tensors
        grad_y = grad_out * x
        grad_y[1, 2] *= 1.5
        return grad_out * y, grad_y


def test_returns_true_on_correct_ops():
    assert gradcheck(lambda x, y: (x * y).exp() / (y + 3.0), [uniform(2, 3), uniform(3, seed=1)])
    assert gradcheck(lambda x: x.softmax(0), [uniform(4, 2)])


def test_wrong_gradient_names_the_input_element_and_relative_error():
    with pytest.raises(GradcheckError, match=r"input 0 at element \(\d+,\).*relative error 0\.5"):
        gradcheck(BadSquare.apply, [uniform(5)])


def test_wrong_gradient_of_the_second_input_points_at_the_element():
    x, y = uniform(2, 3), uniform(2, 3, seed=1)
    with pytest.raises(GradcheckError, match=r"input 1 at element \(1, 2\).*relative error 0\.5"):
        gradcheck(BadSecondInput.apply, [x, y])


def test_only_inputs_that_require_grad_are_checked():
    x = Tensor(uniform(2, 3), requires_grad=True, dtype=np.float64)
    y = Tensor(uniform(2, 3, seed=1), dtype=np.float64)
    assert gradcheck(BadSecondInput.apply, [x, y])


def test_works_in_float64_even_for_float32_inputs():
    # float32 central differences with eps=1e-6 would be noise; gradcheck upcasts
    assert gradcheck(lambda x: (x * x).sum(), [Tensor([0.3, 0.7], requires_grad=True)])


def test_a_float32_input_that_is_not_checked_is_upcast_too():
    """linear refuses mixed dtypes: a float32 weight beside the checked float64 input failed."""
    x = Tensor(uniform(2, 3), requires_grad=True)
    weight = Tensor(uniform(4, 3, seed=1))  # float32, no grad: not checked
    assert gradcheck(lambda x, w: x.linear(w), [x, weight])


def test_check_op_catches_a_wrong_forward_and_a_wrong_gradient():
    with pytest.raises(AssertionError):
        check_op(lambda x: x.exp(), np.sin, [(2, 3)])
    with pytest.raises(GradcheckError):
        check_op(BadSquare.apply, np.square, [(2, 3)])
    with pytest.raises(AssertionError, match="float64"):
        check_op(lambda x: x * np.float64(2.0) + Tensor(np.zeros(3), dtype=np.float64),
                 lambda a: 2 * a, [(3,)])
