"""Movement ops and indexing: forward vs NumPy, gradients vs central differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor


@pytest.mark.parametrize("shape, new", [((), (1,)), ((6,), (2, 3)), ((2, 3), (3, 2)),
                                        ((2, 3, 4), (-1, 4)), ((2, 1, 3, 2), (3, 4)),
                                        ((1,), ())], ids=str)
def test_reshape(shape, new):
    check_op(lambda x: x.reshape(new), lambda a: a.reshape(new), [shape])


@pytest.mark.parametrize("shape, dims", [((2, 3), (-2, -1)), ((2, 3), (0, 1)),
                                         ((2, 3, 4), (0, 2)), ((2, 1, 3, 4), (1, 3))], ids=str)
def test_transpose(shape, dims):
    check_op(lambda x: x.transpose(*dims), lambda a: np.swapaxes(a, *dims), [shape])


@pytest.mark.parametrize("shape, dims", [((), ()), ((3,), (0,)), ((2, 3), (1, 0)),
                                         ((2, 3, 4), (2, 0, 1)), ((2, 1, 3, 4), (3, 1, 0, 2)),
                                         ((2, 3, 4), (-1, 0, 1))], ids=str)
def test_permute(shape, dims):
    check_op(lambda x: x.permute(*dims), lambda a: np.transpose(a, dims), [shape])


def test_T_reverses_axes():
    check_op(lambda x: x.T, lambda a: a.T, [(2, 3, 4)])


@pytest.mark.parametrize("shape, start", [((2, 3), 0), ((2, 3, 4), 1), ((2, 3, 4, 5), 2),
                                          ((2, 3, 4), -1), ((5,), 0)], ids=str)
def test_flatten(shape, start):
    check_op(lambda x: x.flatten(start), lambda a: a.reshape(a.shape[:start % a.ndim] + (-1,)),
             [shape])


@pytest.mark.parametrize("shape, axis, expected", [((1, 3, 1), None, (3,)), ((1, 3, 1), 0, (3, 1)),
                                                   ((1, 3, 1), -1, (1, 3)), ((2, 3), 0, (2, 3)),
                                                   ((1, 3, 1), (0, 2), (3,)), ((1,), None, ())],
                         ids=str)
def test_squeeze(shape, axis, expected):
    # squeezing an axis that is not 1 is a no-op, as in PyTorch
    check_op(lambda x: x.squeeze(axis), lambda a: a.reshape(expected), [shape])


@pytest.mark.parametrize("shape, axis", [((), 0), ((3,), 0), ((3,), 1), ((2, 3), -1),
                                         ((2, 3, 4), 1), ((2, 3, 4), -4)], ids=str)
def test_unsqueeze(shape, axis):
    check_op(lambda x: x.unsqueeze(axis), lambda a: np.expand_dims(a, axis), [shape])


@pytest.mark.parametrize("shape, new", [((), (2, 3)), ((3,), (2, 3)), ((3, 1), (3, 4)),
                                        ((1, 3, 1), (2, 4, 3, 5)), ((2, 1), (-1, 3))], ids=str)
def test_expand(shape, new):
    target = tuple(s if s != -1 else shape[i] for i, s in enumerate(new))
    check_op(lambda x: x.expand(*new), lambda a: np.broadcast_to(a, target), [shape])


@pytest.mark.parametrize("shape, width", [((3,), ((1, 2),)), ((2, 3), 1), ((2, 3), (0, 2)),
                                          ((2, 3, 4), ((0, 0), (1, 0), (2, 1))),
                                          ((1, 2, 3, 2), ((0, 0), (0, 0), (1, 1), (1, 1)))],
                         ids=str)
def test_pad(shape, width):
    check_op(lambda x: x.pad(width), lambda a: np.pad(a, width), [shape])
    check_op(lambda x: x.pad(width, value=-1.5),
             lambda a: np.pad(a, width, constant_values=-1.5), [shape])


@pytest.mark.parametrize("shapes, axis", [([(2,), (3,)], 0), ([(2, 3), (4, 3)], 0),
                                          ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3, 4)] * 2, -1),
                                          ([(1, 2, 3, 1), (1, 2, 3, 2)], 3)], ids=str)
def test_concatenate(shapes, axis):
    check_op(lambda *xs: tg.concatenate(xs, axis), lambda *a: np.concatenate(a, axis), shapes)


@pytest.mark.parametrize("shapes, axis", [([(), ()], 0), ([(3,)] * 2, 0), ([(2, 3)] * 3, 1),
                                          ([(2, 3)] * 2, -1), ([(2, 1, 3)] * 2, 3)], ids=str)
def test_stack(shapes, axis):
    check_op(lambda *xs: tg.stack(xs, axis), lambda *a: np.stack(a, axis), shapes)


INDICES = [
    (slice(None), 1),
    (1,),
    (1, 2),
    (slice(1, None), slice(None, 2)),
    (slice(None, None, -1),),
    (slice(None, None, -2), slice(3, 0, -1)),
    (None, Ellipsis, 0),
    (Ellipsis, None),
    (Ellipsis, slice(1, 3)),
    (np.array([0, 0, 2, 1, 0]),),  # repeated rows: gradients must add up
    (np.array([0, 2, 2]), np.array([3, 1, 1])),  # repeated (row, col) pairs
    (slice(None), np.array([[0, 0], [3, 3]])),
    (np.array([-1, 1]),),
]


@pytest.mark.parametrize("index", INDICES, ids=str)
def test_getitem(index):
    check_op(lambda x: x[index], lambda a: a[index], [(3, 4)])


def test_getitem_rank_4_and_list_and_tensor_indices():
    check_op(lambda x: x[:, [1, 1, 0], ..., ::-1], lambda a: a[:, [1, 1, 0], ..., ::-1],
             [(2, 3, 2, 4)])
    index = Tensor(np.array([2, 0, 2]), dtype=None)
    check_op(lambda x: x[index], lambda a: a[np.array([2, 0, 2])], [(3, 2)])


def test_getitem_boolean_mask():
    mask = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])
    check_op(lambda x: x[mask], lambda a: a[mask], [(3, 4)])
    check_op(lambda x: x[Tensor(mask, dtype=None)], lambda a: a[mask], [(3, 4)])


def test_getitem_repeated_index_scatter_adds():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_getitem_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"\(3, 4\)"):
        Tensor(np.ones((3, 4)))[5]


def test_shape_errors():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match=r"expand.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).expand(4, 3)
    with pytest.raises(ValueError, match="concatenate"):
        tg.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4)))])
    with pytest.raises(ValueError, match="stack"):
        tg.stack([Tensor(np.ones(2)), Tensor(np.ones(3))])
    with pytest.raises(ValueError, match="permute"):
        Tensor(np.ones((2, 3))).permute(0, 0)
    with pytest.raises(ValueError, match="pad"):
        Tensor(np.ones(3)).pad(-1)
