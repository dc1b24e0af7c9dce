"""Reductions: sum, mean, max, min, var over int, tuple, negative and None axes; argmax."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor

CASES = [
    ((), None),
    ((5,), 0),
    ((5,), -1),
    ((2, 3), 1),
    ((2, 3), (0, 1)),
    ((2, 3), None),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), -2),
    ((2, 3, 4), (-1, 0)),
    ((2, 1, 3, 4), (1, 3)),
    ((2, 1, 3, 4), 1),
    ((2, 3, 2, 2), None),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_sum(shape, axis, keepdims):
    check_op(lambda x: x.sum(axis, keepdims), lambda a: a.sum(axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_mean(shape, axis, keepdims):
    check_op(lambda x: x.mean(axis, keepdims), lambda a: a.mean(axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_max(shape, axis, keepdims):
    check_op(lambda x: x.max(axis, keepdims), lambda a: a.max(axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_min(shape, axis, keepdims):
    check_op(lambda x: x.min(axis, keepdims), lambda a: a.min(axis, keepdims=keepdims), [shape])


# variance needs at least two elements in each reduced group
VAR_CASES = [c for c in CASES if c[0] and np.prod([c[0][a] for a in np.atleast_1d(
    c[1] if c[1] is not None else range(len(c[0])))]) > 1]


@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", VAR_CASES, ids=str)
def test_var(shape, axis, keepdims, correction):
    check_op(lambda x: x.var(axis, keepdims, correction),
             lambda a: a.var(axis, keepdims=keepdims, ddof=correction), [shape])


@pytest.mark.parametrize("shape, axis", [((5,), None), ((2, 3), 1), ((2, 3, 4), -1),
                                         ((2, 3, 4), 0), ((3,), 0)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_and_argmin(shape, axis, keepdims):
    check_op(lambda x: x.argmax(axis, keepdims), lambda a: a.argmax(axis, keepdims=keepdims),
             [shape])
    check_op(lambda x: x.argmin(axis, keepdims), lambda a: a.argmin(axis, keepdims=keepdims),
             [shape])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_ties_split_the_gradient_evenly(name):
    # like PyTorch's amax/amin and full max(): each tied element gets g / count
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    y = -x if name == "min" else x
    getattr(y, name)(axis=1).backward(np.array([1.0, 6.0]) * (-1 if name == "min" else 1))
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.5, 0.5], [2.0, 2.0, 2.0]])


def test_full_max_tie_across_the_tensor():
    x = Tensor([[4.0, 1.0], [4.0, 4.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 0.0], [1 / 3, 1 / 3]], rtol=1e-6)


def test_argmax_has_no_gradient():
    x = Tensor([1.0, 3.0, 2.0], requires_grad=True)
    index = x.argmax()
    assert index.item() == 1 and not index.requires_grad and index.dtype == np.int64


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_zero_dim_tensor_reduces_over_axis_0_like_pytorch(name):
    x = Tensor(2.5, requires_grad=True)
    out = getattr(x, name)(axis=0)
    out.backward()
    assert out.shape == () and out.item() == 2.5 and x.grad.item() == 1.0


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "argmax", "argmin"])
def test_axis_out_of_range_is_an_index_error_naming_op_axis_and_shape(name):
    pattern = (rf"{name}: dimension out of range \(expected to be in range of \[-2, 1\], but got "
               rf"5\) for a tensor of shape \(2, 3\)")
    with pytest.raises(IndexError, match=pattern):
        getattr(Tensor(np.ones((2, 3))), name)(axis=5)
    with pytest.raises(IndexError, match=r"\[-1, 0\], but got 1\) for a tensor of shape \(\)"):
        getattr(Tensor(2.0), name)(axis=1)


def test_numpy_integer_axes_are_accepted():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(a).sum(axis=np.int64(1)).data, a.sum(axis=1))
    np.testing.assert_array_equal(Tensor(a).max(axis=(np.int32(0), -1)).data, a.max(axis=(0, 2)))
    np.testing.assert_array_equal(Tensor(a).argmax(axis=np.int64(-1)).data, a.argmax(axis=-1))


def test_argmax_of_a_zero_dim_tensor_over_axis_0_is_0_like_pytorch():
    out = Tensor(2.5).argmax(axis=-1)
    assert out.shape == () and out.item() == 0


def test_repeated_axis_is_rejected_like_pytorch():
    with pytest.raises(ValueError, match=r"sum: axis \(1, -1\) names a dimension more than once"):
        Tensor(np.ones((2, 3))).sum(axis=(1, -1))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "var", "std", "argmax", "argmin"])
@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_keepdims_must_be_a_bool(reduce, bad):
    x = Tensor([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(TypeError, match=f"keepdims must be True or False, got {bad!r}"):
        getattr(x, reduce)(axis=0, keepdims=bad)
    assert getattr(x, reduce)(axis=0, keepdims=np.bool_(True)).shape == (1, 2)
