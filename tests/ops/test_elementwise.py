"""Elementwise ops: forward vs NumPy, gradients vs float64 central differences, kink conventions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, ops

# broadcasting both ways, size-1 axes, rank 0 to 4, Python scalars on either side
BINARY = [
    ((), ()),
    ((5,), (5,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((3, 1), (1, 4)),
    ((1, 4), (3, 1)),
    ((4,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3, 1), (4, 1, 5)),
    ((2, 3, 1, 5), (2, 3, 4, 5)),
    (1.5, (2, 3)),
    ((2, 3), 1.5),
]
UNARY = [(), (1,), (5,), (2, 3), (3, 1, 4), (2, 1, 3, 2)]
POSITIVE = (0.5, 2.0)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_add(shapes):
    check_op(lambda x, y: x + y, lambda a, b: a + b, shapes)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_sub(shapes):
    check_op(lambda x, y: x - y, lambda a, b: a - b, shapes)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_mul(shapes):
    check_op(lambda x, y: x * y, lambda a, b: a * b, shapes)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_div(shapes):
    check_op(lambda x, y: x / y, lambda a, b: a / b, shapes, domain=[(-2, 2), POSITIVE])


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_pow(shapes):
    check_op(lambda x, y: x**y, lambda a, b: a**b, shapes, domain=[POSITIVE, (-2, 2)])


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_maximum(shapes):
    check_op(lambda x, y: ops.maximum(x, y), np.maximum, shapes)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_minimum(shapes):
    check_op(lambda x, y: ops.minimum(x, y), np.minimum, shapes)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_comparisons_are_bool_and_need_no_grad(shapes, name):
    ours = {"lt": lambda x, y: x < y, "le": lambda x, y: x <= y, "gt": lambda x, y: x > y,
            "ge": lambda x, y: x >= y, "eq": lambda x, y: x == y, "ne": lambda x, y: x != y}
    reference = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
                 "eq": np.equal, "ne": np.not_equal}
    check_op(ours[name], reference[name], shapes)


def test_comparisons_on_ties():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.testing.assert_array_equal((x == 2.0).data, [False, True, False])
    np.testing.assert_array_equal((x <= 2.0).data, [True, True, False])
    np.testing.assert_array_equal((2.0 <= x).data, [False, True, True])


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_neg(shape):
    check_op(lambda x: -x, lambda a: -a, [shape])


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_exp(shape):
    check_op(lambda x: x.exp(), np.exp, [shape])


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_log(shape):
    check_op(lambda x: x.log(), np.log, [shape], domain=POSITIVE)


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_sqrt(shape):
    check_op(lambda x: x.sqrt(), np.sqrt, [shape], domain=POSITIVE)


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_abs(shape):
    check_op(lambda x: x.abs(), np.abs, [shape], margin=0.1)


@pytest.mark.parametrize("shape", UNARY, ids=str)
@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.3), (-0.3, None)])
def test_clip(shape, low, high):
    check_op(lambda x: x.clip(low, high), lambda a: np.clip(a, low, high), [shape])


@pytest.mark.parametrize("shape", UNARY, ids=str)
def test_python_scalar_on_the_left(shape):
    check_op(lambda x: 2.0 - 3 / x, lambda a: 2.0 - 3 / a, [shape], domain=POSITIVE)
    check_op(lambda x: 2.0**x * 0.5 + 1, lambda a: 2.0**a * 0.5 + 1, [shape])


def test_pow_with_scalar_exponent_allows_negative_base():
    check_op(lambda x: x**2, lambda a: a**2, [(2, 3)])
    check_op(lambda x: x**3.0, lambda a: a**3.0, [(2, 3)])


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip"):
        Tensor([1.0]).clip()


# ----- PyTorch's conventions at non-differentiable points -------------------------------------
def _grad(fn, values):
    x = Tensor(values, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.data


def test_abs_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_grad(lambda x: x.abs(), [-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])


def test_clip_gradient_at_the_boundary_is_one():
    grad = _grad(lambda x: x.clip(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grad, [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("op", [ops.maximum, ops.minimum])
def test_maximum_minimum_split_ties_evenly(op):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    op(x, y).sum().backward()
    big = op is ops.maximum
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 1.0] if big else [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 0.5, 0.0] if big else [0.0, 0.5, 1.0])


@pytest.mark.parametrize("op, name", [(lambda x, y: x + y, "add"), (lambda x, y: x * y, "mul"),
                                      (lambda x, y: x < y, "lt"), (ops.maximum, "maximum")])
def test_broadcast_mismatch_names_both_shapes_and_the_op(op, name):
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        op(Tensor(np.ones((2, 3))), Tensor(np.ones(4)))


def test_integer_to_a_negative_power_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        Tensor([2, 3], dtype=np.int64) ** -1


@pytest.mark.parametrize("other", [[1.0, 2.0, 3.0, 4.0], np.ones((4,)), 2.0])
def test_broadcast_check_covers_lists_arrays_and_scalars(other):
    x = Tensor(np.ones((2, 3)))
    if np.shape(other) == ():
        np.testing.assert_array_equal((x * other).data, np.ones((2, 3)) * other)
        return
    with pytest.raises(ValueError, match=r"add: cannot broadcast shapes \(2, 3\) and \(4,\)"):
        x + other
    with pytest.raises(ValueError, match=r"sub: cannot broadcast shapes \(4,\) and \(2, 3\)"):
        other - x


def test_math_at_the_edges_gives_ieee_values_silently_as_pytorch():
    """PyTorch 2.x's values (torch.log(torch.tensor([0., -1., 1.])) and so on, written here as
    numbers), with no RuntimeWarning: this test turns every warning into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Tensor(np.array([0.0, -1.0, 1.0], np.float32), requires_grad=True)
        y = x.log()
        np.testing.assert_array_equal(y.data, [-np.inf, np.nan, 0.0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.data, [np.inf, -1.0, 1.0])  # 1 / x
        a = Tensor(np.array([0.0, 4.0, -1.0], np.float32), requires_grad=True)
        s = a.sqrt()
        np.testing.assert_array_equal(s.data, [0.0, 2.0, np.nan])
        s.sum().backward()
        np.testing.assert_array_equal(a.grad.data, [np.inf, 0.25, np.nan])  # 1 / (2 sqrt a)
        num = Tensor(np.array([1.0, 0.0, -1.0], np.float32), requires_grad=True)
        q = num / Tensor(np.zeros(3, np.float32))
        np.testing.assert_array_equal(q.data, [np.inf, np.nan, -np.inf])
        q.sum().backward()
        np.testing.assert_array_equal(num.grad.data, [np.inf, np.inf, np.inf])  # 1 / 0
        np.testing.assert_array_equal(Tensor(np.float32([1000.0])).exp().data, [np.inf])
        np.testing.assert_array_equal((Tensor(np.float32([0.0])) ** -1).data, [np.inf])
