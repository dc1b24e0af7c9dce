"""Losses against NumPy references: cross_entropy (reductions, label smoothing, ignore_index,
extra dims, extreme logits), nll_loss, mse_loss, binary_cross_entropy (+ with logits), errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op, uniform

from tinygrad_cnn import Tensor, gradcheck, ops


def reference_log_softmax(x):
    """log p along axis 1 through np.logaddexp (a different route from the op's max shift)."""
    return x - np.logaddexp.reduce(x, axis=1, keepdims=True)


def reduce(loss, reduction, count=None):
    if reduction == "none":
        return loss
    count = loss.size if count is None else count
    return loss.sum() if reduction == "sum" else loss.sum() / count


def reference_cross_entropy(x, target, reduction="mean", smoothing=0.0, ignore_index=-100):
    """Per element with explicit loops over the (N, d1...) positions."""
    log_p = reference_log_softmax(x)
    loss = np.zeros(target.shape)
    for pos in np.ndindex(target.shape):
        t = target[pos]
        if t == ignore_index:
            continue
        row = log_p[(pos[0], slice(None)) + pos[1:]]
        loss[pos] = -(1 - smoothing) * row[t] - smoothing * row.mean()
    return reduce(loss, reduction, int((target != ignore_index).sum()))


def targets(shape, classes, seed=0):
    """Integer class targets for input `shape` (N, C, d1...)."""
    return np.random.default_rng(seed).integers(0, classes, shape[:1] + shape[2:])


CLASS_SHAPES = [(1, 4), (7, 5), (7, 4, 3), (2, 3, 5, 3)]


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_reference(shape, reduction, smoothing):
    target = targets(shape, shape[1])
    check_op(lambda x: ops.cross_entropy(x, target, reduction, smoothing),
             lambda x: reference_cross_entropy(x, target, reduction, smoothing),
             [shape], domain=(-4.0, 4.0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5)])
def test_cross_entropy_ignore_index(shape, reduction, smoothing):
    target = targets(shape, shape[1], seed=1)
    target.flat[[0, 3]] = -100
    check_op(lambda x: ops.cross_entropy(x, target, reduction, smoothing),
             lambda x: reference_cross_entropy(x, target, reduction, smoothing),
             [shape])
    custom = np.where(target == -100, 2, target)  # ignore_index may be a real class index
    out = ops.cross_entropy(Tensor(uniform(*shape)), custom, reduction, smoothing,
                            ignore_index=2)
    expected = reference_cross_entropy(uniform(*shape), custom, reduction, smoothing, 2)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)


def test_cross_entropy_ignored_rows_get_no_gradient():
    x = Tensor(uniform(4, 3, seed=2), requires_grad=True)
    ops.cross_entropy(x, np.array([1, -100, 0, -100]), label_smoothing=0.1).backward()
    np.testing.assert_array_equal(x.grad.data[[1, 3]], 0)
    assert np.abs(x.grad.data[[0, 2]]).min() > 0


def test_cross_entropy_all_ignored_is_nan_like_pytorch():
    x = Tensor(uniform(3, 4), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ops.cross_entropy(x, np.full(3, -100))
        assert np.isnan(loss.item())
        assert ops.cross_entropy(x, np.full(3, -100), reduction="sum").item() == 0.0


def test_cross_entropy_gradient_is_softmax_minus_smoothed_onehot():
    x = uniform(6, 5, seed=3)
    target = targets(x.shape, 5, seed=3)
    leaf = Tensor(x, requires_grad=True, dtype=None)
    ops.cross_entropy(leaf, target, label_smoothing=0.2).backward()
    softmax = np.exp(reference_log_softmax(x))
    smoothed = np.eye(5)[target] * 0.8 + 0.2 / 5
    np.testing.assert_allclose(leaf.grad.data, (softmax - smoothed) / 6, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_finite_and_warning_free_at_extreme_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0], [1000.0, 1000.0, -1000.0]],
                 dtype=np.float32)
    target = np.array([0, 0, 2])
    leaf = Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ops.cross_entropy(leaf, target, reduction="none", label_smoothing=0.1)
        loss.sum().backward()
    # row 0: p = (1, 0, 0); row 1: -log p0 = 2000; row 2: p = (.5, .5, 0), -log p2 = 2000 + log 2
    expected = np.array([0.1 * (0 + 2000 + 1000) / 3, 0.9 * 2000 + 0.1 * (2000 + 0 + 1000) / 3,
                         0.9 * (2000 + np.log(2)) + 0.1 * (2 * np.log(2) + 2000 + np.log(2)) / 3])
    np.testing.assert_allclose(loss.data, expected, rtol=1e-6)
    assert np.isfinite(leaf.grad.data).all()
    np.testing.assert_allclose(leaf.grad.data[2], [0.5 - 0.1 / 3, 0.5 - 0.1 / 3, -0.9 - 0.1 / 3],
                               rtol=1e-6)


def test_cross_entropy_accepts_list_array_and_int_tensor_targets():
    x = Tensor(uniform(4, 3, dtype=np.float32))
    results = [ops.cross_entropy(x, t).item()
               for t in ([2, 0, 1, 1], np.array([2, 0, 1, 1], dtype=np.int32),
                         Tensor(np.array([2, 0, 1, 1]), dtype=np.int64))]
    assert results[0] == results[1] == results[2]
    assert ops.cross_entropy(x, [2, 0, 1, 1]).dtype == np.float32


def test_cross_entropy_equals_nll_of_log_softmax():
    x = uniform(5, 7, seed=4)
    target = targets(x.shape, 7, seed=4)
    fused = ops.cross_entropy(Tensor(x, dtype=None), target)
    composed = ops.nll_loss(ops.log_softmax(Tensor(x, dtype=None), axis=1), target)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)


def test_cross_entropy_errors():
    x = Tensor(uniform(4, 3))
    with pytest.raises(IndexError, match=r"target 3 is out of bounds for 3 classes"):
        ops.cross_entropy(x, [0, 1, 3, 2])
    with pytest.raises(IndexError, match=r"target -1 is out of bounds for 3 classes"):
        ops.cross_entropy(x, [0, -1, 2, 2])
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match input shape "
                                         r"\(4, 3\) \(expected target shape \(4,\)\)"):
        ops.cross_entropy(x, [0, 1, 2])
    with pytest.raises(TypeError, match="target must hold integer class indices, got dtype "
                                        "float"):
        ops.cross_entropy(x, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C, \.\.\.\)"):
        ops.cross_entropy(Tensor(uniform(3)), np.array(1))
    with pytest.raises(ValueError, match="reduction must be one of"):
        ops.cross_entropy(x, [0, 1, 2, 2], reduction="average")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        ops.cross_entropy(x, [0, 1, 2, 2], label_smoothing=1.5)
    with pytest.raises(IndexError, match="nll_loss: target 5 is out of bounds"):
        ops.nll_loss(x, [0, 1, 5, 2])


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_reference(shape, reduction):
    target = targets(shape, shape[1], seed=5)
    if target.size > 1:  # with one target, ignoring it leaves 0 / 0 (tested above)
        target.flat[0] = -100

    def reference(x):
        picked = np.zeros(target.shape)
        for pos in np.ndindex(target.shape):
            if target[pos] != -100:
                picked[pos] = -x[(pos[0], target[pos]) + pos[1:]]
        return reduce(picked, reduction, int((target != -100).sum()))

    check_op(lambda x: ops.nll_loss(x, target, reduction), reference, [shape])


@pytest.mark.parametrize("shape", [(1, 3), (7, 4), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_reference_and_differentiates_both(shape, reduction):
    check_op(lambda x, y: ops.mse_loss(x, y, reduction),
             lambda x, y: reduce((x - y) ** 2, reduction), [shape, shape])


@pytest.mark.parametrize("shape", [(1, 3), (7, 4), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_reference(shape, reduction):
    def reference(p, y):
        return reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)

    check_op(lambda p, y: ops.binary_cross_entropy(p, y, reduction), reference, [shape, shape],
             domain=[(0.05, 0.95), (0.0, 1.0)], rtol=1e-4)


def test_binary_cross_entropy_clamps_log_at_0_and_1():
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ops.binary_cross_entropy(p, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])
    assert loss.dtype == np.float32 and np.isfinite(p.grad.data).all()


def test_binary_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], got values from -0.5 to 1"):
        ops.binary_cross_entropy(Tensor([-0.5, 1.0]), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match input shape \(2,\)"):
        ops.binary_cross_entropy(Tensor([0.5, 0.5]), [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(2, 1\) does not match input"):
        ops.mse_loss(Tensor([0.5, 0.5]), np.ones((2, 1)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits_matches_reference(reduction):
    def reference(z, y):  # log sigmoid(z) = -logaddexp(0, -z)
        return reduce(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z), reduction)

    check_op(lambda z, y: ops.binary_cross_entropy_with_logits(z, y, reduction), reference,
             [(7, 3), (7, 3)], domain=[(-6.0, 6.0), (0.0, 1.0)])


def test_binary_cross_entropy_with_logits_is_finite_at_extreme_logits():
    z = Tensor(np.array([1000.0, -1000.0, 1000.0], dtype=np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ops.binary_cross_entropy_with_logits(z, [0.0, 1.0, 1.0], reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.data, [1000.0, 1000.0, 0.0])
    np.testing.assert_array_equal(z.grad.data, [1.0, -1.0, 0.0])


def test_float_target_gradient_where_pytorch_has_one():
    p, y = uniform(3, 4, low=0.1, high=0.9), uniform(3, 4, low=0.0, high=1.0, seed=1)
    for loss in (ops.mse_loss, ops.binary_cross_entropy, ops.binary_cross_entropy_with_logits):
        leaves = [Tensor(p, requires_grad=True, dtype=None), Tensor(y, requires_grad=True,
                                                                      dtype=None)]
        loss(*leaves).backward()
        assert leaves[1].grad is not None and np.abs(leaves[1].grad.data).max() > 0
        assert gradcheck(loss, [p, y])
