"""PyTorch-named layout and indexing ops: flip, repeat, t, cat, split, chunk, gather, masked_fill,
where. Forward vs NumPy and float64 gradcheck through check_op; gradients and error messages
against PyTorch's (computed once with torch 2.x on CPU and written down here)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, ops
from tinygrad_cnn.ops.promotion import DtypeError

X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
MASK = np.array([[True, False, True], [False, False, True]])


def _grad(fn, *values, weights=None):
    """fn's output and the float64 gradient of each input for the loss sum(out * weights)."""
    xs = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
    out = fn(*xs)
    out.backward(np.ones(out.shape) if weights is None else np.asarray(weights, np.float64))
    return out.data, [x.grad.data for x in xs]


def _ramp(*shape: int) -> np.ndarray:
    """Weights 1, 2, 3, ... so each output element's gradient can be told apart."""
    return np.arange(1, np.prod(shape) + 1, dtype=np.float64).reshape(shape)


# ----- flip, repeat, t, cat -----------------------------------------------------------------------
@pytest.mark.parametrize("shape, dims", [((5,), (0,)), ((2, 3), (0, 1)), ((2, 3, 4), (-1,)),
                                         ((2, 3), ()), ((), (0,))], ids=str)
def test_flip(shape, dims):
    # a 0-d tensor flips along its dim 0 (as PyTorch), which NumPy has no name for
    check_op(lambda x: x.flip(dims), lambda a: np.flip(a, dims) if a.ndim else a, [shape])


def test_flip_gradient_and_errors_as_pytorch():
    out, (grad,) = _grad(lambda x: x.flip(1), X, weights=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(grad, [[2, 1, 0], [5, 4, 3]])
    x = Tensor(X)
    assert not np.shares_memory(x.flip(0).data, x.data)  # a copy, as PyTorch
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.flip(0, 0)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        x.flip(2)


@pytest.mark.parametrize("shape, sizes", [((3,), (2,)), ((2, 3), (2, 1)), ((2, 3), (2, 1, 2)),
                                          ((), (3, 2)), ((2, 1), (1, 3)), ((2, 3), (0, 2))],
                         ids=str)
def test_repeat(shape, sizes):
    check_op(lambda x: x.repeat(*sizes), lambda a: np.tile(a, sizes), [shape])


def test_repeat_gradient_sums_the_copies_as_pytorch():
    out, (grad,) = _grad(lambda x: x.repeat(2, 1, 2), X, weights=_ramp(2, 2, 6))
    assert out.shape == (2, 2, 6)
    np.testing.assert_array_equal(grad, [[34, 38, 42], [58, 62, 66]])
    assert Tensor(X).repeat((2, 2)).shape == (4, 6)
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        Tensor(X).repeat(2)
    with pytest.raises(RuntimeError, match="sizes must be >= 0"):
        Tensor(X).repeat(-1, 2)


@pytest.mark.parametrize("shape", [(2, 3), (4,), ()], ids=str)
def test_t(shape):
    check_op(lambda x: x.t(), np.transpose, [shape])


def test_t_refuses_more_than_two_dims_as_pytorch():
    out, (grad,) = _grad(lambda x: x.t(), X, weights=np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(grad, [[0, 2, 4], [1, 3, 5]])
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but "
                                           "self is 3D"):
        Tensor(np.zeros((2, 3, 4))).t()


def test_cat_is_concatenate_under_pytorchs_name():
    check_op(lambda x, y: tg.cat([x, y], dim=1), lambda a, b: np.concatenate([a, b], 1),
             [(2, 3), (2, 2)])
    assert tg.cat((Tensor(X), Tensor(X))).shape == (4, 3)
    assert ops.cat([Tensor(X)], 0).shape == (2, 3)


# ----- split, chunk -------------------------------------------------------------------------------
@pytest.mark.parametrize("sections, dim, piece", [(2, 1, 0), (2, 1, 1), ([1, 2], 1, 1),
                                                  (1, 0, 1), ([0, 3], -1, 1)], ids=str)
def test_split_pieces(sections, dim, piece):
    def reference(a):
        bounds = (np.cumsum(sections)[:-1] if isinstance(sections, list)
                  else range(sections, a.shape[dim], sections))
        return np.split(a, list(bounds), axis=dim)[piece]
    check_op(lambda x: x.split(sections, dim)[piece], reference, [(2, 3)])


def test_split_sends_every_pieces_gradient_back_as_pytorch():
    def weighted(x, sections):  # piece i counts i + 1 times
        return ops.cat([p.flatten() * (i + 1) for i, p in enumerate(x.split(sections, 1))])
    out, (grad,) = _grad(lambda x: weighted(x, 2), X, weights=_ramp(6))
    np.testing.assert_array_equal(grad, [[1, 2, 10], [3, 4, 12]])
    out, (grad,) = _grad(lambda x: weighted(x, [1, 2]), X, weights=_ramp(6))
    np.testing.assert_array_equal(grad, [[1, 6, 8], [2, 10, 12]])


def test_split_pieces_are_views():
    x = Tensor(np.arange(5.0))
    first, rest = x.split([2, 3])
    assert isinstance(x.split(2), tuple) and np.shares_memory(first.data, x.data)
    assert [p.shape for p in x.split(2)] == [(2,), (2,), (1,)]
    assert [p.shape for p in x.split(10)] == [(5,)]
    assert [p.shape for p in Tensor(np.zeros(0)).split(2)] == [(0,)]


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.split([2, 2]), RuntimeError,
     r"split_with_sizes expects split_sizes to sum exactly to 5 \(input tensor's size at "
     r"dimension 0\), but got split_sizes=\[2, 2\]"),
    (lambda x: x.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0"),
    (lambda x: x.split(-1), RuntimeError, "split expects split_size be non-negative"),
    (lambda x: x.split([2, -1, 4]), RuntimeError, "have only non-negative entries"),
    (lambda x: x.split(2.5), TypeError, "must be an int or a list of ints"),
    (lambda x: x.split(2, dim=1), IndexError, r"range of \[-1, 0\], but got 1"),
    (lambda x: x.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda x: x.chunk(2.0), TypeError, "argument 'chunks' must be int, not float"),
    (lambda x: x.sum().chunk(2), RuntimeError, "chunk expects at least a 1-dimensional tensor"),
    (lambda x: x.sum().split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
])
def test_split_and_chunk_errors_as_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call(Tensor(np.arange(5.0)))


def test_chunk_sizes_as_pytorch():
    def sizes(n, chunks):
        return [p.shape[0] for p in Tensor(np.zeros(n)).chunk(chunks)]
    assert sizes(5, 3) == [2, 2, 1]
    assert sizes(6, 4) == [2, 2, 2]  # fewer chunks than asked, as PyTorch
    assert sizes(5, 10) == [1, 1, 1, 1, 1]
    assert sizes(0, 3) == [0, 0, 0]
    assert [p.shape for p in Tensor(np.zeros((2, 7))).chunk(3, dim=1)] == [(2, 3), (2, 3), (2, 1)]
    out, (grad,) = _grad(lambda x: x.chunk(2, 1)[0] * 10, X)
    np.testing.assert_array_equal(grad, [[10, 10, 0], [10, 10, 0]])


# ----- gather -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dim, index", [
    ((2, 3), 1, [[0, 0, 2], [1, 1, 1]]),
    ((2, 3), 0, [[1, 0, 1]]),
    ((3, 4), 1, [[3], [0], [3]]),
    ((2, 3, 4), -1, np.zeros((2, 3, 5), np.int64)),
    ((4,), 0, [3, 3, 0, 1, 3]),
], ids=str)
def test_gather(shape, dim, index):
    index = np.asarray(index, np.int64)

    def reference(a):
        corner = tuple(slice(None) if d == dim % a.ndim else slice(n)
                       for d, n in enumerate(index.shape))
        return np.take_along_axis(a[corner], index, axis=dim)
    check_op(lambda x: x.gather(dim, Tensor(index, dtype=np.int64)), reference, [shape])


def test_gather_adds_up_repeated_indices_as_pytorch():
    out, (grad,) = _grad(lambda x: x.gather(1, np.array([[0, 0, 2], [1, 1, 1]])), X)
    np.testing.assert_array_equal(out, [[1, 1, 3], [5, 5, 5]])
    np.testing.assert_array_equal(grad, [[2, 0, 1], [0, 3, 0]])
    assert Tensor(5.0).gather(0, np.array([0])).data.tolist() == [5.0]
    assert Tensor([5.0]).gather(0, np.array(0)).shape == ()


@pytest.mark.parametrize("dim, index, error, message", [
    (1, [[0, 0, 2, 0], [0, 1, 1, 1], [0, 0, 0, 0]], RuntimeError,
     r"Size does not match at dimension 0 expected index \[3, 4\] to be no larger than self "
     r"\[2, 3\] apart from dimension 1"),
    (1, [0, 1], RuntimeError, "Index tensor must have the same number of dimensions as input"),
    (1, [[0, 3]], RuntimeError, "index 3 is out of bounds for dimension 1 with size 3"),
    (1, [[0, -1]], RuntimeError, "index -1 is out of bounds for dimension 1 with size 3"),
    (2, [[0, 1]], IndexError, r"range of \[-2, 1\], but got 2"),
])
def test_gather_errors_as_pytorch(dim, index, error, message):
    with pytest.raises(error, match=message):
        Tensor(X).gather(dim, np.array(index))


def test_gather_wants_an_integer_index_as_pytorch():
    with pytest.raises(DtypeError, match="Expected dtype int32/int64 for index, got float32"):
        Tensor(X).gather(1, Tensor([[0.0, 1.0]]))
    assert Tensor(X).gather(1, np.array([[0, 1]], np.int32)).data.tolist() == [[1.0, 2.0]]


# ----- masked_fill, where -------------------------------------------------------------------------
@pytest.mark.parametrize("mask_shape", [(2, 3), (3,), (1, 1, 3)], ids=str)
def test_masked_fill(mask_shape):
    mask = np.broadcast_to(MASK[1], mask_shape) if mask_shape != (2, 3) else MASK
    check_op(lambda x: x.masked_fill(mask, -1.5), lambda a: np.where(mask, -1.5, a), [(2, 3)])
    check_op(lambda x, v: ops.masked_fill(x, mask, v), lambda a, v: np.where(mask, v, a),
             [(2, 3), ()])


def test_masked_fill_gradients_and_dtypes_as_pytorch():
    mask = np.array([True, False, True])
    out, (grad, grad_value) = _grad(lambda x, v: x.masked_fill(mask, v), X, -1.0,
                                    weights=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(out, [[-1, 2, -1], [-1, 5, -1]])
    np.testing.assert_array_equal(grad, [[0, 1, 0], [0, 4, 0]])
    assert grad_value == 0 + 2 + 3 + 5
    ints = Tensor([0, 1, 2], dtype=np.int64)
    assert ints.masked_fill(mask, 2.7).data.tolist() == [2, 1, 2]  # the value takes x's dtype
    assert Tensor(X).masked_fill(mask, float("-inf")).data[0, 0] == -np.inf
    with pytest.raises(DtypeError, match="only boolean masks are supported, but got mask with "
                                         "dtype int64"):
        Tensor(X).masked_fill(np.array([1, 0, 1]), 0.0)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor, but got "
                                           r"tensor with 1 dimension\(s\)"):
        Tensor(X).masked_fill(mask, Tensor([7.0]))
    with pytest.raises(ValueError, match=r"cannot broadcast shapes: mask \(2,\), x \(2, 3\)"):
        Tensor(X).masked_fill(np.array([True, False]), 0.0)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1)),
                                    ((2, 3), 2.5), (-1.0, (3,))], ids=str)
def test_where(shapes):
    check_op(lambda x, y: ops.where(MASK, x, y), lambda a, b: np.where(MASK, a, b), shapes)


def test_where_splits_the_gradient_as_pytorch():
    out, (grad_x, grad_y) = _grad(lambda x, y: ops.where(MASK, x, y), X, [10.0, 20.0, 30.0],
                                  weights=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(out, [[1, 20, 3], [10, 20, 6]])
    np.testing.assert_array_equal(grad_x, [[0, 0, 2], [0, 0, 5]])
    np.testing.assert_array_equal(grad_y, [3, 5, 0])
    x = Tensor(X)
    assert x.where(x > 2, -1.0).data.tolist() == [[-1, -1, 3], [4, 5, 6]]


def test_where_promotes_as_pytorch():
    mask = Tensor(MASK, dtype=None)  # numbers on both sides: the condition makes it a Tensor op
    assert ops.where(mask, 1, 0).dtype == np.int64
    assert ops.where(mask, 1.0, 0).dtype == np.float32
    with pytest.raises(TypeError, match="where: expected a Tensor among the operands"):
        ops.where(MASK, 1, 0)  # as torch.where(ndarray, 1, 0): no Tensor at all
    assert ops.where(MASK, Tensor([0, 1, 2], dtype=np.int64), 0.5).dtype == np.float32
    assert ops.where(MASK, Tensor([0, 1, 2], dtype=np.int64), Tensor(X, dtype=np.float64)
                     ).dtype == np.float64
    with pytest.raises(DtypeError, match="where expected condition to be a boolean tensor, but "
                                         "got a tensor with dtype int64"):
        ops.where(np.array([1, 0, 1]), Tensor(X), 0.0)
    with pytest.raises(ValueError, match=r"where: cannot broadcast shapes: condition \(2, 3\), "
                                         r"x \(2, 3\), y \(4,\)"):
        ops.where(MASK, Tensor(X), Tensor(np.zeros(4)))
