"""matmul / @: matrices, batches with broadcasting batch dims, vectors on either side."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, ops

SHAPES = [
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),
    ((3,), (3,)),  # vector . vector -> 0-d
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 2)),
    ((4, 2, 3), (4, 3, 5)),
    ((4, 2, 3), (3, 5)),  # batch dims broadcast both ways
    ((2, 3), (4, 3, 5)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((1, 4, 2, 3), (3, 1, 3, 2)),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul(shapes):
    check_op(lambda a, b: a @ b, np.matmul, shapes, rtol=1e-5, atol=1e-5)


def test_matmul_function_and_method_and_reflected():
    check_op(lambda a, b: ops.matmul(a, b), np.matmul, [(2, 3), (3, 2)], atol=1e-5)
    check_op(lambda a, b: a.matmul(b), np.matmul, [(2, 3), (3, 2)], atol=1e-5)
    b = np.arange(6.0).reshape(3, 2)
    check_op(lambda a: a @ b, lambda a: a @ b, [(2, 3)], atol=1e-5)


def test_only_the_needed_gradient_is_computed():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((3, 4)))
    (a @ b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.full((2, 3), 4.0))
    assert b.grad is None


@pytest.mark.parametrize("sa, sb, pattern", [
    ((2, 3), (2, 3), r"matmul: shapes \(2, 3\) and \(2, 3\)"),
    ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\)"),
    ((2, 2, 3), (3, 3, 4), r"matmul: batch dims of shapes \(2, 2, 3\) and \(3, 3, 4\)"),
    ((), (3,), r"matmul: .*\(\) and \(3,\)"),
])
def test_matmul_shape_mismatch_names_both_shapes(sa, sb, pattern):
    with pytest.raises(ValueError, match=pattern):
        Tensor(np.ones(sa)) @ Tensor(np.ones(sb))


@pytest.mark.parametrize("w_shape, b_shape, pattern", [
    ((3, 4), (4,), r"linear: bias must have shape \(3,\) for the weight of shape \(3, 4\), "
                   r"got \(4,\)"),
    ((3, 4), (1, 3), r"linear: bias must have shape \(3,\) .*got \(1, 3\)"),
    ((4,), None, r"linear: weight must be 2-D \(out_features, in_features\), got shape \(4,\)"),
    ((3, 5), None, r"linear: input of shape \(2, 4\) has 4 features but the weight of shape "
                   r"\(3, 5\) expects 5"),
])
def test_linear_checks_weight_and_bias_shapes(w_shape, b_shape, pattern):
    x, w = Tensor(np.ones((2, 4))), Tensor(np.ones(w_shape))
    with pytest.raises(ValueError, match=pattern):
        ops.linear(x, w, None if b_shape is None else Tensor(np.ones(b_shape)))
