"""Reductions: sum, mean, amax, amin, var over int, tuple, negative and None axes; max and min
along a dim with PyTorch's (values, indices); argmax; PyTorch's dim=/keepdim= names."""

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
def test_amax(shape, axis, keepdims):
    check_op(lambda x: x.amax(axis, keepdims), lambda a: a.max(axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_amin(shape, axis, keepdims):
    check_op(lambda x: x.amin(axis, keepdims), lambda a: a.min(axis, keepdims=keepdims), [shape])


INT_AXES = [(shape, axis) for shape, axis in CASES if isinstance(axis, int)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", INT_AXES, ids=str)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_along_a_dim_give_values_and_indices(name, shape, axis, keepdims):
    check_op(lambda x: getattr(x, name)(axis, keepdims).values,
             lambda a: getattr(a, name)(axis, keepdims=keepdims), [shape])
    a = np.random.default_rng(1).standard_normal(shape)
    result = getattr(Tensor(a), name)(dim=axis, keepdim=keepdims)
    values, indices = result  # a namedtuple, as torch.return_types.max
    assert type(result).__name__ == name and result.indices is indices
    find = np.argmax if name == "max" else np.argmin
    np.testing.assert_array_equal(indices.data, find(a, axis=axis, keepdims=keepdims))
    assert indices.dtype == np.int64 and not indices.requires_grad


def test_max_along_a_dim_sends_the_gradient_to_the_first_maximum_only():
    # PyTorch: torch.tensor([[1., 3., 3.], [2., 2., 2.]]).max(dim=1) -> indices [1, 0], and
    # backward of values * [1, 6] gives [[0, 1, 0], [6, 0, 0]]
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [1, 0]
    (values * Tensor([1.0, 6.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0, 0.0], [6.0, 0.0, 0.0]])


def test_max_with_a_tensor_is_maximum_and_a_tuple_dim_points_to_amax():
    a, b = Tensor([1.0, 5.0]), Tensor([3.0, 2.0])
    assert a.max(b).tolist() == [3.0, 5.0] and a.min(b).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match=r"max: dim must be an int, got \(0, 1\) \(use "
                       r"amax\(dim=\(0, 1\)\)"):
        Tensor(np.ones((2, 3))).max(dim=(0, 1))


def test_torch_and_numpy_argument_names_are_both_accepted():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data, a.sum(1, keepdims=True))
    np.testing.assert_array_equal(x.mean(dim=(0, 2)).data, a.mean((0, 2)))
    np.testing.assert_array_equal(x.amax(dim=-1).data, a.max(-1))
    np.testing.assert_allclose(x.std(dim=1, unbiased=False).data, a.std(1), rtol=1e-6)
    np.testing.assert_allclose(x.var(1, unbiased=True).data, a.var(1, ddof=1), rtol=1e-6)
    # PyTorch's positional order (dim, unbiased, keepdim), and a lone bool is unbiased
    np.testing.assert_allclose(x.var(1, False).data, a.var(1), rtol=1e-6)
    assert x.std(0, True).shape == (3, 4) and x.std(0, True, True).shape == (1, 3, 4)
    np.testing.assert_allclose(x.var(False).item(), a.var(), rtol=1e-6)
    np.testing.assert_array_equal(x.argmax(dim=2).data, a.argmax(2))
    np.testing.assert_allclose(x.softmax(dim=1).data.sum(1), np.ones((2, 4)), rtol=1e-6)
    assert x.unsqueeze(dim=0).shape == (1, 2, 3, 4) and x[:1].squeeze(dim=0).shape == (3, 4)
    with pytest.raises(TypeError, match=r"sum\(\) got both dim= and axis="):
        x.sum(dim=1, axis=1)


# variance needs at least two elements in each reduced group
VAR_CASES = [c for c in CASES if c[0] and np.prod([c[0][a] for a in np.atleast_1d(
    c[1] if c[1] is not None else range(len(c[0])))]) > 1]


@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", VAR_CASES, ids=str)
def test_var(shape, axis, keepdims, correction):
    check_op(lambda x: x.var(axis, keepdims=keepdims, correction=correction),
             lambda a: a.var(axis, keepdims=keepdims, ddof=correction), [shape])


@pytest.mark.parametrize("shape, axis", [((5,), None), ((2, 3), 1), ((2, 3, 4), -1),
                                         ((2, 3, 4), 0), ((3,), 0)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_and_argmin(shape, axis, keepdims):
    check_op(lambda x: x.argmax(axis, keepdims), lambda a: a.argmax(axis, keepdims=keepdims),
             [shape])
    check_op(lambda x: x.argmin(axis, keepdims), lambda a: a.argmin(axis, keepdims=keepdims),
             [shape])


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_ties_split_the_gradient_evenly(name):
    # like PyTorch's amax/amin and full max(): each tied element gets g / count
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    y = -x if name == "amin" else x
    getattr(y, name)(axis=1).backward(np.array([1.0, 6.0]) * (-1 if name == "amin" else 1))
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
    if name in ("max", "min"):  # (values, indices), as PyTorch: (2.5, 0)
        out, index = out
        assert index.shape == () and index.item() == 0
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
    np.testing.assert_array_equal(Tensor(a).amax(axis=(np.int32(0), -1)).data, a.max(axis=(0, 2)))
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
    with pytest.raises(TypeError, match=f"keepdim must be True or False, got {bad!r}"):
        getattr(x, reduce)(axis=0, keepdims=bad)
    out = getattr(x, reduce)(axis=0, keepdims=np.bool_(True))
    assert (out[0] if reduce in ("max", "min") else out).shape == (1, 2)


@pytest.mark.parametrize("name, reference", [
    ("prod", lambda a: a.prod(axis=0, keepdims=True)),
    ("logsumexp", lambda a: np.log(np.exp(a).sum(axis=0, keepdims=True))),
    ("all", lambda a: a.all(axis=0, keepdims=True)),
    ("any", lambda a: a.any(axis=0, keepdims=True)),
    ("sum", lambda a: a.sum(axis=0, keepdims=True)),
])
def test_every_reduction_method_takes_numpys_axis_and_keepdims(name, reference):
    """One convention (issue 17): dim/keepdim, with NumPy's names as aliases on every method
    (prod, logsumexp, norm, cumsum, all and any refused axis= while sum took it)."""
    a = np.array([[1.0, 2.0], [3.0, 0.0]], dtype=np.float32)
    out = getattr(Tensor(a), name)(axis=0, keepdims=True)
    np.testing.assert_allclose(out.data, reference(a), rtol=1e-6)
    np.testing.assert_allclose(Tensor(a).norm(2, axis=1).data, np.sqrt((a * a).sum(axis=1)))
    np.testing.assert_allclose(Tensor(a).cumsum(axis=1).data, a.cumsum(axis=1))
