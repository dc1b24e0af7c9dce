"""batch_norm, layer_norm and normalize against per-channel / per-sample NumPy references:
forward, gradients, running statistics over successive calls, memory layouts and errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, uniform

from tinygrad_cnn import Tensor, gradcheck, ops

EPS = 1e-5


def reference_batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1):
    """One channel at a time: (out, new running_mean, new running_var)."""
    out = np.empty_like(x)
    new_mean, new_var = running_mean.copy(), running_var.copy()
    for c in range(x.shape[1]):
        values = x[:, c]
        if training:
            mean, var = values.mean(), values.var()
            new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
            new_var[c] = (1 - momentum) * running_var[c] + momentum * values.var(ddof=1)
        else:
            mean, var = running_mean[c], running_var[c]
        out[:, c] = (values - mean) / np.sqrt(var + EPS) * weight[c] + bias[c]
    return out, new_mean, new_var


def reference_layer_norm(x, k, weight=None, bias=None):
    """Per row of x flattened to (leading, trailing k dims)."""
    rows = x.reshape(-1, int(np.prod(x.shape[x.ndim - k:])))
    out = np.stack([(r - r.mean()) / np.sqrt(r.var() + EPS) for r in rows]).reshape(x.shape)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


SHAPES = [(7, 3), (2, 3), (7, 3, 5), (1, 3, 5), (7, 3, 5, 3), (1, 2, 3, 5), (4, 1, 3, 3),
          (5, 3, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_reference(shape, training):
    channels = shape[1]
    stats = np.random.default_rng(1)
    running_mean = stats.uniform(-0.5, 0.5, channels)
    running_var = stats.uniform(0.5, 2.0, channels)

    def ours(x, weight, bias):  # fresh running statistics per call: gradcheck calls it often
        return ops.batch_norm(x, running_mean.copy(), running_var.copy(), weight, bias,
                              training=training)

    def reference(x, weight, bias):
        return reference_batch_norm(x, running_mean, running_var, weight, bias, training)[0]

    check_op(ours, reference, [shape, (channels,), (channels,)], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_without_affine(training):
    x = uniform(5, 4, 3, 3)
    ones, zeros = np.ones(4), np.zeros(4)
    expected = reference_batch_norm(x, zeros + 0.2, ones * 1.5, ones, zeros, training)[0]
    out = ops.batch_norm(Tensor(x, dtype=None), zeros + 0.2, ones * 1.5, training=training)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: ops.batch_norm(t, zeros + 0.2, ones * 1.5, training=training), [x])
    only_bias = lambda t, b: ops.batch_norm(t, zeros + 0.2, ones * 1.5, None, b, training)  # noqa: E731
    assert gradcheck(only_bias, [x, uniform(4, seed=3)])


def test_batch_norm_running_statistics_over_successive_calls():
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    weight, bias = np.ones(3), np.zeros(3)
    for step in range(3):
        x = uniform(6, 3, 4, 5, low=-1 + step, high=2 + 2 * step, seed=step)
        ops.batch_norm(Tensor(x), running_mean, running_var, Tensor(weight), Tensor(bias),
                       training=True, momentum=0.1)
        per_channel = x.transpose(1, 0, 2, 3).reshape(3, -1)
        n = per_channel.shape[1]
        expected_mean = 0.9 * expected_mean + 0.1 * per_channel.mean(axis=1)
        unbiased = ((per_channel - per_channel.mean(axis=1, keepdims=True)) ** 2).sum(1) / (n - 1)
        expected_var = 0.9 * expected_var + 0.1 * unbiased
        np.testing.assert_allclose(running_mean, expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(running_var, expected_var, rtol=1e-5)
    assert running_mean.dtype == np.float32 and running_var.dtype == np.float32


def test_batch_norm_updates_tensor_buffers_in_place_and_eval_leaves_them():
    running_mean, running_var = Tensor.zeros(2), Tensor.ones(2)
    arrays = running_mean.data, running_var.data
    x = Tensor(uniform(4, 2, 3, seed=5, dtype=np.float32))
    ops.batch_norm(x, running_mean, running_var, training=True, momentum=0.5)
    assert running_mean.data is arrays[0] and running_var.data is arrays[1]
    np.testing.assert_allclose(running_mean.data, 0.5 * x.data.mean(axis=(0, 2)), rtol=1e-6)
    before = running_mean.data.copy(), running_var.data.copy()
    ops.batch_norm(x, running_mean, running_var, training=False)
    np.testing.assert_array_equal(running_mean.data, before[0])
    np.testing.assert_array_equal(running_var.data, before[1])


def test_batch_norm_eval_normalises_each_sample_alone():
    running_mean, running_var = np.array([0.5, -1.0]), np.array([4.0, 0.25])
    x = uniform(5, 2, 3, seed=2)
    batch = ops.batch_norm(Tensor(x, dtype=None), running_mean, running_var, training=False)
    for i in range(5):
        alone = ops.batch_norm(Tensor(x[i:i + 1], dtype=None), running_mean, running_var)
        np.testing.assert_allclose(alone.data[0], batch.data[i], rtol=1e-12)


LAYOUTS = {
    "contiguous": lambda a: a,
    "channels_last": lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
    "strided": lambda a: np.repeat(a, 2, axis=3)[:, :, :, ::2],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_any_memory_layout(layout, training):
    """Contiguous and other layouts take different paths through the per-channel sums; all
    equal the reference."""
    x = uniform(6, 5, 7, 3, seed=4)
    weight, bias = uniform(5, seed=6), uniform(5, seed=7)
    stats = np.random.default_rng(2).uniform(0.5, 1.5, (2, 5))
    view = LAYOUTS[layout](x)
    np.testing.assert_array_equal(view, x)
    expected, mean, var = reference_batch_norm(x, *stats, weight, bias, training)
    running = stats.copy()
    out = ops.batch_norm(Tensor(view, dtype=None), *running, Tensor(weight, dtype=None),
                         Tensor(bias, dtype=None), training=training)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(running, [mean, var], rtol=1e-12)

    def fn(t, w, b):
        return ops.batch_norm(t, *stats.copy(), w, b, training=training)

    assert gradcheck(fn, [Tensor(view, requires_grad=True, dtype=None), weight, bias])


def test_batch_norm_float32_stays_float32():
    x = Tensor(uniform(4, 3, 2, 2, dtype=np.float32), requires_grad=True)
    weight, bias = Tensor.ones(3, requires_grad=True), Tensor.zeros(3, requires_grad=True)
    out = ops.batch_norm(x, np.zeros(3), np.ones(3), weight, bias, training=True)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == weight.grad.dtype == bias.grad.dtype == np.float32
    eval_out = ops.batch_norm(x, np.zeros(3), np.ones(3), weight, bias, training=False)
    assert eval_out.dtype == np.float32


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_batch_norm_one_value_per_channel_errors_when_training(shape):
    x = Tensor(np.ones(shape))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        ops.batch_norm(x, np.zeros(3), np.ones(3), training=True)
    ops.batch_norm(x, np.zeros(3), np.ones(3), training=False)  # eval is fine


def test_batch_norm_errors():
    x = Tensor(np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match=r"running_mean has shape \(4,\), expected \(3,\)"):
        ops.batch_norm(x, np.zeros(4), np.ones(3), training=True)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        ops.batch_norm(x, np.zeros(3), np.ones(3), Tensor.ones(2), training=True)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C, \.\.\.\), got \(4,\)"):
        ops.batch_norm(Tensor(np.ones(4)), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="eval mode"):
        ops.batch_norm(x, None, None, training=False)
    with pytest.raises(TypeError, match="running statistics must be arrays or Tensors"):
        ops.batch_norm(x, [0.0, 0.0, 0.0], np.ones(3), training=True)


def test_batch_norm_without_running_statistics_uses_the_batch():
    x = uniform(5, 3, 4)
    out = ops.batch_norm(Tensor(x, dtype=None), None, None, training=True)
    expected = reference_batch_norm(x, np.zeros(3), np.ones(3), np.ones(3), np.zeros(3), True)[0]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, k", [((7, 6), 1), ((1, 6), 1), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                      ((2, 3, 4, 3), 2), ((1, 3, 4, 3), 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_reference(shape, k, affine):
    normalized = shape[len(shape) - k:]
    if affine:
        check_op(lambda x, w, b: ops.layer_norm(x, normalized, w, b),
                 lambda x, w, b: reference_layer_norm(x, k, w, b),
                 [shape, normalized, normalized], rtol=1e-4, atol=1e-5)
    else:
        check_op(lambda x: ops.layer_norm(x, normalized), lambda x: reference_layer_norm(x, k),
                 [shape], rtol=1e-4, atol=1e-5)


def test_layer_norm_int_shape_and_weight_only():
    x, weight = uniform(4, 5), uniform(5, seed=1)
    out = ops.layer_norm(Tensor(x, dtype=None), 5, Tensor(weight, dtype=None))
    np.testing.assert_allclose(out.data, reference_layer_norm(x, 1, weight), rtol=1e-12)
    assert gradcheck(lambda t, w: ops.layer_norm(t, 5, w), [x, weight])


def test_layer_norm_errors():
    x = Tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"normalized_shape \(3,\) must be the last dims of the "
                                         r"input shape \(2, 3, 4\)"):
        ops.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"bias has shape \(3, 4\), expected \(4,\)"):
        ops.layer_norm(x, (4,), None, Tensor.zeros(3, 4))


@pytest.mark.parametrize("shape", [(1, 5), (7, 5), (7, 3, 4), (1, 2, 3, 5), (7, 1, 5, 3)])
def test_normalize_matches_reference(shape):
    check_op(ops.normalize, lambda x: reference_layer_norm(x, len(shape) - 1), [shape],
             rtol=1e-4, atol=1e-5)


def test_normalize_standardises_each_sample():
    x = Tensor(uniform(6, 3, 8, 8, low=-5, high=40, dtype=np.float32))
    out = ops.normalize(x).data.reshape(6, -1)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=1), 1, rtol=1e-3)
    assert out.dtype == np.float32
    assert ops.normalize(x).grad_fn is None  # no input requires grad: nothing recorded


def test_normalize_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, \.\.\.features\)"):
        ops.normalize(Tensor(np.ones(5)))
