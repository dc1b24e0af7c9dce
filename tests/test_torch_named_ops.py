"""PyTorch-named math ops: sin, cos, rounding, `//`, `%`, prod, logsumexp, all, any. Forward vs
NumPy and float64 gradcheck through check_op; the tricky cases against PyTorch's own numbers
(computed once with torch 2.x on CPU and written down here)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, gradcheck, ops
from tinygrad_cnn.ops.promotion import DtypeError

UNARY = [(), (5,), (2, 3), (3, 1, 4)]
BINARY = [((5,), (5,)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 3), 1.5), (2.5, (2, 3))]
INF, NAN = float("inf"), float("nan")


def _grad(fn, *values, weights=None):
    """fn's output and the float64 gradient of each input for the loss sum(out * weights)."""
    xs = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
    out = fn(*xs)
    out.backward(np.ones(out.shape) if weights is None else np.asarray(weights, np.float64))
    return out.data, [x.grad.data for x in xs]


# ----- sin, cos -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", UNARY, ids=str)
@pytest.mark.parametrize("name", ["sin", "cos"])
def test_trig(shape, name):
    check_op(getattr(Tensor, name), getattr(np, name), [shape], domain=(-4.0, 4.0))


def test_trig_of_integers_is_float32_as_pytorch():
    out = Tensor([0, 1], dtype=np.int64).sin()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, [0.0, 0.8415], atol=1e-4)


# ----- floor, ceil, round, sign: a step function's gradient is 0 ----------------------------------
@pytest.mark.parametrize("shape", UNARY, ids=str)
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign"])
def test_rounding(shape, name):
    check_op(getattr(Tensor, name), getattr(np, name), [shape], domain=(-3.0, 3.0))


STEPS = [-1.5, -0.5, 0.0, 0.5, 1.5, 2.5]


@pytest.mark.parametrize("name, expected", [
    ("floor", [-2.0, -1.0, 0.0, 0.0, 1.0, 2.0]),
    ("ceil", [-1.0, -0.0, 0.0, 1.0, 2.0, 3.0]),
    ("round", [-2.0, -0.0, 0.0, 0.0, 2.0, 2.0]),  # halves to even
    ("sign", [-1.0, -1.0, 0.0, 1.0, 1.0, 1.0]),
])
def test_rounding_numbers_and_zero_gradients_as_pytorch(name, expected):
    out, (grad,) = _grad(getattr(Tensor, name), STEPS)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(expected))  # ceil(-0.5) is -0.0
    np.testing.assert_array_equal(grad, np.zeros(6))


def test_round_halves_to_even_and_decimals_as_pytorch():
    halves = Tensor([-2.5, -0.5, 0.5, 1.5, 2.5, 3.5]).round()
    np.testing.assert_array_equal(halves.data, [-2.0, -0.0, 0.0, 2.0, 2.0, 4.0])
    np.testing.assert_allclose(Tensor([0.125, 1.5]).round(decimals=1).data, [0.1, 1.5])
    hundreds = Tensor([1234.5678, -0.05, 0.15, 2.5]).round(-2)
    np.testing.assert_array_equal(hundreds.data, [1200.0, -0.0, 0.0, 0.0])


def test_sign_of_nan_and_negative_zero_is_plus_zero_as_pytorch():
    out = Tensor([NAN, -0.0, -3.0]).sign()
    np.testing.assert_array_equal(out.data, [0.0, 0.0, -1.0])
    assert not np.signbit(out.data[1])


def test_rounding_keeps_integers_and_refuses_bools_as_pytorch():
    ints = Tensor([-3, 0, 2], dtype=np.int64)
    for name in ("floor", "ceil", "round", "sign"):
        out = getattr(ints, name)()
        assert out.dtype == np.int64
    np.testing.assert_array_equal(ints.sign().data, [-1, 0, 1])
    assert Tensor([True, False], dtype=np.bool_).sign().dtype == np.bool_
    with pytest.raises(DtypeError, match="floor: not implemented for bool"):
        Tensor([True], dtype=np.bool_).floor()
    with pytest.raises(DtypeError, match="decimals=1 needs a float tensor"):
        ints.round(1)
    with pytest.raises(TypeError, match="decimals must be an int"):
        Tensor([1.0]).round(0.5)


# ----- floor division and remainder ---------------------------------------------------------------
DIVIDEND = [-7.0, 7.0, -7.0, 7.0, 5.5, 0.0]
DIVISOR = [2.0, -2.0, -2.0, 2.0, 1.5, 3.0]


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_floor_divide_forward(shapes):
    check_op(lambda x, y: x // y, np.floor_divide, shapes, domain=[(-4, 4), (0.5, 2)], grad=False)


@pytest.mark.parametrize("shapes", BINARY, ids=str)
def test_remainder(shapes):
    check_op(lambda x, y: x % y, np.remainder, shapes, domain=[(-4, 4), (0.5, 2)])


def test_remainder_of_negative_divisors():
    check_op(lambda x, y: x % y, np.remainder, [(3, 4), (4,)], domain=[(-4, 4), (-2, -0.5)])


def test_floor_divide_and_remainder_numbers_as_pytorch():
    x, y = Tensor(DIVIDEND), Tensor(DIVISOR)
    np.testing.assert_array_equal((x // y).data, [-4.0, -4.0, 3.0, 3.0, 3.0, 0.0])
    np.testing.assert_array_equal((x % y).data, [1.0, -1.0, -1.0, 1.0, 1.0, 0.0])  # y's sign
    np.testing.assert_array_equal((7 // Tensor([2.0, -2.0])).data, [3.0, -4.0])
    np.testing.assert_array_equal((7 % Tensor([2.0, -2.0])).data, [1.0, -1.0])


def test_remainder_gradient_as_pytorch():
    out, (grad_x, grad_y) = _grad(lambda x, y: x % y, DIVIDEND, DIVISOR)
    np.testing.assert_array_equal(grad_x, np.ones(6))
    np.testing.assert_array_equal(grad_y, [4.0, 4.0, -3.0, -3.0, -3.0, -0.0])  # -floor(x / y)


def test_a_zero_remainder_keeps_the_dividends_sign_as_pytorch():
    out = Tensor([-4.0, 4.0, -4.0, 4.0, -0.0, 0.0]) % Tensor([2.0, 2.0, -2.0, -2.0, 3.0, -3.0])
    np.testing.assert_array_equal(np.signbit(out.data), [True, False, True, False, True, False])


def test_division_by_zero_as_pytorch():
    x = Tensor([-7.0, 7.0, 0.0])
    np.testing.assert_array_equal((x // 0.0).data, [-INF, INF, NAN])
    assert np.isnan((x % 0.0).data).all()
    np.testing.assert_array_equal((Tensor([-3.0, 3.0]) % INF).data, [INF, 3.0])
    ints = Tensor([-7, 7], dtype=np.int64)
    for op in (lambda a: a // Tensor([0, 1], dtype=np.int64), lambda a: a % 0):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(ints)


def test_integer_floor_divide_and_remainder_as_pytorch():
    x, y = Tensor([-7, 7, -7, 7], dtype=np.int64), Tensor([2, -2, -2, 2], dtype=np.int64)
    assert (x // y).dtype == np.int64
    np.testing.assert_array_equal((x // y).data, [-4, -4, 3, 3])
    np.testing.assert_array_equal((x % y).data, [1, -1, -1, 1])
    np.testing.assert_array_equal((Tensor([7, -7], dtype=np.int64) // 2.5).data, [2.0, -3.0])
    np.testing.assert_array_equal((Tensor([7, -7], dtype=np.int64) % 2.5).data, [2.0, 0.5])
    with pytest.raises(DtypeError, match="not implemented for bool"):
        Tensor([True], dtype=np.bool_) // Tensor([True], dtype=np.bool_)


def test_floor_divide_has_no_derivative_as_pytorch():
    x = Tensor([3.0, -3.0], requires_grad=True)
    out = (x // 2).sum()
    assert out.requires_grad  # as PyTorch: the error comes from backward
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        out.backward()


# ----- prod ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, keepdim", [
    ((4,), None, False), ((2, 3), 1, False), ((2, 3), 0, True), ((2, 3, 2), -1, False),
    ((2, 3), None, False), ((), None, False), ((2, 3), (0, 1), True),
])
def test_prod(shape, dim, keepdim):
    check_op(lambda x: x.prod(dim, keepdim), lambda a: np.prod(a, axis=dim, keepdims=keepdim),
             [shape], domain=(-2.0, 2.0), margin=0.5)


def test_prod_with_zeros_as_pytorch():
    rows = [[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0], [0.0, 1.0, 1.0]]
    out, (grad,) = _grad(lambda x: x.prod(1), rows)
    np.testing.assert_array_equal(out, [0.0, 0.0, 6.0, 0.0])
    np.testing.assert_array_equal(grad, [[0, 6, 0], [0, 0, 0], [6, 3, 2], [1, 0, 0]])
    out, (grad,) = _grad(lambda x: x.prod(0, keepdim=True), rows[:2])
    np.testing.assert_array_equal(out, [[0.0, 0.0, 12.0]])
    np.testing.assert_array_equal(grad, [[0, 0, 4], [2, 0, 3]])
    assert gradcheck(lambda x: x.prod(1), [np.array(rows)])


def test_prod_of_an_infinity_and_of_nothing_as_pytorch():
    out, (grad,) = _grad(lambda x: x.prod(), [2.0, INF])
    assert out == INF
    np.testing.assert_array_equal(grad, [INF, NAN])  # g * out / x, as PyTorch
    assert Tensor(np.zeros((2, 0), np.float32)).prod(1).data.tolist() == [1.0, 1.0]


def test_prod_of_integers_is_int64():
    out = Tensor(np.arange(1, 5), dtype=np.int32).prod()
    assert out.dtype == np.int64 and out.item() == 24
    assert Tensor([True, True], dtype=np.bool_).prod().dtype == np.int64


# ----- logsumexp ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, keepdim", [
    ((5,), 0, False), ((2, 3), 1, False), ((2, 3), 0, True), ((2, 3, 4), (0, 2), False),
    ((), 0, False),
])
def test_logsumexp(shape, dim, keepdim):
    def reference(a):
        return np.log(np.exp(a).sum(axis=dim, keepdims=keepdim))
    check_op(lambda x: x.logsumexp(dim, keepdim), reference, [shape], domain=(-3.0, 3.0))


def test_logsumexp_large_and_infinite_rows_as_pytorch():
    rows = [[1.0, 2.0, 3.0], [-INF, -INF, -INF], [INF, 1.0, 2.0], [1000.0, 1000.0, -1000.0]]
    out, (grad,) = _grad(lambda x: x.logsumexp(1), rows)
    np.testing.assert_allclose(out, [3.4076059644443806, -INF, INF, 1000.6931471805599])
    np.testing.assert_allclose(grad, [[0.09003057317038043, 0.24472847105479759,
                                       0.6652409557748217], [NAN, NAN, NAN], [NAN, 0.0, 0.0],
                                      [0.5, 0.5, 0.0]])
    out, (grad,) = _grad(lambda x: x.logsumexp(1), [[INF, INF, 2.0], [-INF, 0.0, 2.0]])
    np.testing.assert_allclose(out, [INF, 2.1269280110429727])
    np.testing.assert_allclose(grad, [[NAN, NAN, 0.0], [0.0, 0.11920292202211753,
                                                       0.8807970779778823]])


def test_logsumexp_of_nothing_integers_and_no_dim():
    assert Tensor(np.zeros((2, 0), np.float32)).logsumexp(1).data.tolist() == [-INF, -INF]
    out = Tensor(np.arange(3), dtype=np.int64).logsumexp(0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.item(), 2.4076059644443806, rtol=1e-6)
    with pytest.raises(TypeError, match="logsumexp: dim is required"):
        Tensor([1.0]).logsumexp(None)


# ----- all, any -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, keepdim", [
    ((6,), None, False), ((2, 3), 1, False), ((2, 3), 0, True), ((2, 3, 2), (0, 2), False),
])
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(shape, dim, keepdim, name):
    def reference(a):
        return getattr(np, name)(a > 0, axis=dim, keepdims=keepdim)
    check_op(lambda x: getattr(x > 0, name)(dim, keepdim), reference, [shape])
    check_op(lambda x: getattr(ops, name)((x > 0).float(), dim, keepdim), reference, [shape])


def test_all_any_numbers_as_pytorch():
    x = Tensor([[1.0, 0.0], [2.0, 3.0]], requires_grad=True)
    assert x.all().item() is False and not x.any(1).requires_grad
    assert x.all(1).data.tolist() == [False, True]
    assert x.any(0, keepdim=True).data.tolist() == [[True, True]]
    assert Tensor([[1, 0], [2, 3]], dtype=np.uint8).all().dtype == np.uint8
    empty = Tensor(np.zeros(0, np.float32))
    assert empty.all().item() is True and empty.any().item() is False
    assert Tensor([NAN]).all().item() is True  # nan is not zero
    with pytest.raises(IndexError, match="dimension out of range"):
        Tensor(np.zeros((2, 3))).all(3)
    with pytest.raises(TypeError, match="keepdim must be True or False"):
        Tensor([1.0]).any(0, keepdim=1)
