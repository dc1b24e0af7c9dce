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
    # a flat pair pads the last dim only (PyTorch's F.pad); NumPy's meaning needs one per dim
    numpy_width = ((0, 0),) * (len(shape) - 1) + (tuple(width),) if _flat(width) else width
    check_op(lambda x: x.pad(width), lambda a: np.pad(a, numpy_width), [shape])
    check_op(lambda x: x.pad(width, value=-1.5),
             lambda a: np.pad(a, numpy_width, constant_values=-1.5), [shape])


def _flat(width):
    return isinstance(width, tuple) and all(isinstance(w, int) for w in width)


@pytest.mark.parametrize("shapes, axis", [([(2,), (3,)], 0), ([(2, 3), (4, 3)], 0),
                                          ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3, 4)] * 2, -1),
                                          ([(1, 2, 3, 1), (1, 2, 3, 2)], 3)], ids=str)
def test_concatenate(shapes, axis):
    check_op(lambda *xs: tg.concatenate(xs, axis), lambda *a: np.concatenate(a, axis), shapes)


@pytest.mark.parametrize("shapes, axis", [([(), ()], 0), ([(3,)] * 2, 0), ([(2, 3)] * 3, 1),
                                          ([(2, 3)] * 2, -1), ([(2, 1, 3)] * 2, 3)], ids=str)
def test_stack(shapes, axis):
    check_op(lambda *xs: tg.stack(xs, axis), lambda *a: np.stack(a, axis), shapes)



def test_stack_promotes_as_pytorch_and_each_gradient_keeps_its_dtype():
    ints, floats = Tensor([1, 2], dtype=np.int64), Tensor([0.5, 1.5], requires_grad=True)
    out = tg.stack([ints, floats])
    assert out.dtype == np.float32 and out.tolist() == [[1.0, 2.0], [0.5, 1.5]]  # PyTorch: float32
    doubles = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    (tg.stack([doubles, floats]) * Tensor([[1.0], [2.0]], dtype=np.float64)).sum().backward()
    assert floats.grad.dtype == np.float32 and floats.grad.tolist() == [2.0, 2.0]
    assert doubles.grad.dtype == np.float64 and doubles.grad.tolist() == [1.0, 1.0]

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


RANGE_2D = r"dimension out of range \(expected to be in range of \[-2, 1\], but got {}\)"


@pytest.mark.parametrize("call, op, bad", [
    (lambda x: x.squeeze(7), "squeeze", 7),
    (lambda x: x.squeeze((0, -3)), "squeeze", -3),
    (lambda x: x.permute(0, 5), "permute", 5),
    (lambda x: x.flatten(0, 2), "flatten", 2),
    (lambda x: tg.concatenate([x, x], axis=5), "concatenate", 5),
], ids=["squeeze", "squeeze-tuple", "permute", "flatten", "concatenate"])
def test_axis_out_of_range_is_an_index_error_naming_op_axis_and_shape(call, op, bad):
    pattern = rf"{op}: " + RANGE_2D.format(bad) + r" for a tensor of shape \(2, 3\)"
    with pytest.raises(IndexError, match=pattern):
        call(Tensor(np.ones((2, 3))))


def test_unsqueeze_and_stack_accept_one_past_the_last_axis_and_no_further():
    x = Tensor(np.ones((2, 3)))
    assert x.unsqueeze(2).shape == (2, 3, 1) and x.unsqueeze(-3).shape == (1, 2, 3)
    assert tg.stack([x, x], axis=-1).shape == (2, 3, 2)
    with pytest.raises(IndexError, match=r"unsqueeze: .*\[-3, 2\], but got 5\) .*shape \(2, 3\)"):
        x.unsqueeze(5)
    with pytest.raises(IndexError, match=r"stack: .*\[-3, 2\], but got -4\) .*shape \(2, 3\)"):
        tg.stack([x, x], axis=-4)


def test_transpose_of_a_1d_tensor_names_the_op_the_dims_and_the_shape():
    pattern = (r"transpose\(dim0=-2, dim1=-1\): dimension out of range \(expected to be in range "
               r"of \[-1, 0\], but got -2\) for a tensor of shape \(3,\)")
    with pytest.raises(IndexError, match=pattern):
        Tensor(np.ones(3)).transpose()
    x = Tensor(np.ones(3), requires_grad=True)
    assert x.transpose(0, -1).shape == (3,)


def test_zero_dim_tensor_takes_axis_0_and_minus_1_like_pytorch():
    x = Tensor(2.5, requires_grad=True)
    assert x.squeeze(0).shape == () and x.squeeze(-1).shape == () and x.squeeze().shape == ()
    assert x.unsqueeze(0).shape == (1,) and x.unsqueeze(-1).shape == (1,)
    assert x.transpose(0, -1).shape == () and x.flatten(0, -1).shape == (1,)
    x.unsqueeze(0).sum().backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match=r"squeeze: .*\[-1, 0\], but got 1\) .*shape \(\)"):
        x.squeeze(1)
    with pytest.raises(IndexError, match=r"unsqueeze: .*\[-1, 0\], but got 1\) .*shape \(\)"):
        x.unsqueeze(1)
    with pytest.raises(ValueError, match="concatenate: zero-dimensional tensors cannot be"):
        tg.concatenate([x, x])


def test_numpy_integer_axes_are_accepted_by_movement_ops():
    a = np.arange(6.0).reshape(2, 1, 3)
    x = Tensor(a)
    assert x.squeeze(np.int64(1)).shape == (2, 3)
    assert x.unsqueeze(np.int64(0)).shape == (1, 2, 1, 3)
    assert x.transpose(np.int64(0), np.int32(2)).shape == (3, 1, 2)
    assert x.permute(np.int64(2), 0, 1).shape == (3, 2, 1)
    np.testing.assert_array_equal(tg.concatenate([x, x], axis=np.int64(-1)).data,
                                  np.concatenate([a, a], axis=-1))
    with pytest.raises(TypeError, match=r"squeeze: an axis must be an int, got 1.0"):
        x.squeeze(1.0)


def test_expand_rejects_minus_one_for_a_new_leading_dim_like_pytorch():
    x = Tensor(np.ones(3))
    assert x.expand(2, -1).shape == (2, 3)
    with pytest.raises(ValueError, match=r"expand: size -1 is not allowed for a new leading "
                                         r"dimension \(expanding shape \(3,\) to \(-1, 3\)\)"):
        x.expand(-1, 3)


def test_concatenate_rank_mismatch_and_flatten_order_are_value_errors():
    with pytest.raises(ValueError, match=r"concatenate: shapes \[\(2, 3\), \(3,\)\] differ"):
        tg.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones(3))], axis=1)
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        Tensor(np.ones((2, 3))).flatten(1, 0)
    with pytest.raises(ValueError, match=r"squeeze: axis \(0, -2\) names a dimension more"):
        Tensor(np.ones((1, 3))).squeeze((0, -2))
