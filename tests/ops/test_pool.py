"""max_pool2d and avg_pool2d against loop references: forward, gradients (ties to the first
maximum in row-major scan order), overlapping windows, padding, odd sizes, layouts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, uniform

from tinygrad_cnn import Tensor, gradcheck, nn, ops
from tinygrad_cnn.ops import compiled


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def tier(request):
    """Every test twice: the NumPy path and the compiled tier's kernels (where numba is)."""
    if request.param == "compiled" and not compiled.available():
        pytest.skip("numba is not installed")
    with compiled.use(request.param == "compiled"):
        yield


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_shape(x_shape, kernel, stride, padding):
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    (sh, sw) = pair(kernel if stride is None else stride)
    n, c, h, w = x_shape
    return n, c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def reference_pool(x, grad_out, kernel, stride=None, padding=0, mode="max"):
    """Loops over every output pixel: (out, grad_x). Max sends its gradient to the window's first
    maximum in row-major order (np.argmax on the flattened window), as PyTorch does."""
    (kh, kw) = pair(kernel)
    (sh, sw) = pair(kernel if stride is None else stride)
    (ph, pw) = pair(padding)
    n, c, h, w = x.shape
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c, oh, ow))
    grad_xp = np.zeros_like(xp)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    window = xp[b, ch, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    g = grad_out[b, ch, i, j]
                    if mode == "max":
                        r, s = np.unravel_index(np.argmax(window), window.shape)
                        out[b, ch, i, j] = window[r, s]
                        grad_xp[b, ch, i * sh + r, j * sw + s] += g
                    else:
                        out[b, ch, i, j] = window.mean()
                        grad_xp[b, ch, i * sh:i * sh + kh, j * sw:j * sw + kw] += g / (kh * kw)
    return out, grad_xp[:, :, ph:ph + h, pw:pw + w]


# (x shape, kernel, stride, padding): the 2x2 fast path (even and odd sizes) and the general path
# with overlapping windows, non-square kernels and strides, padding.
CASES = [
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 2, 7, 9), 2, 2, 0),
    ((7, 2, 9, 9), 3, 1, 0),
    ((2, 2, 9, 8), 3, 2, 1),
    ((1, 3, 7, 7), (2, 3), (1, 2), (1, 1)),
    ((2, 1, 10, 11), 4, 3, 2),
    ((1, 2, 6, 6), 2, 1, 1),
    ((1, 1, 5, 5), 5, None, 0),
]


def run(op, x, grad_out, *args):
    leaf = Tensor(x, requires_grad=True, dtype=x.dtype)
    out = op(leaf, *args)
    out.backward(grad_out)
    return out.data, leaf.grad.data


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
@pytest.mark.parametrize("op, mode", [(ops.max_pool2d, "max"), (ops.avg_pool2d, "avg")])
def test_matches_loop_reference(op, mode, x_shape, kernel, stride, padding):
    x = uniform(*x_shape, seed=1)
    grad_out = uniform(*out_shape(x_shape, kernel, stride, padding), seed=2)
    expected, expected_grad = reference_pool(x, grad_out, kernel, stride, padding, mode)
    out, grad = run(op, x, grad_out, kernel, stride, padding)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_ties_send_the_gradient_to_the_first_maximum_only(x_shape, kernel, stride, padding):
    """Constant input and few distinct values (MNIST's flat background): one element per window."""
    rng = np.random.default_rng(3)
    for x in (np.full(x_shape, 0.5, dtype=np.float32),
              rng.integers(0, 3, x_shape).astype(np.float32)):
        shape = out_shape(x_shape, kernel, stride, padding)
        grad_out = rng.integers(1, 5, shape).astype(np.float32)  # exact sums in float32
        expected, expected_grad = reference_pool(x, grad_out, kernel, stride, padding)
        out, grad = run(ops.max_pool2d, x, grad_out, kernel, stride, padding)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(grad, expected_grad.astype(np.float32))
        assert grad.dtype == np.float32


def test_constant_input_2x2_grad_goes_to_top_left_of_each_window():
    out, grad = run(ops.max_pool2d, np.zeros((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), 2)
    expected = np.zeros((4, 4))
    expected[0::2, 0::2] = 1
    np.testing.assert_array_equal(grad[0, 0], expected)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", [
    ((1, 2, 6, 6), 2, None, 0), ((2, 1, 7, 5), 3, 2, 1), ((1, 2, 6, 7), (2, 3), (2, 1), (1, 0)),
])
def test_gradcheck_float64(x_shape, kernel, stride, padding):
    # a permutation of spread-out values: no ties, so max is differentiable at the sample
    x = np.random.default_rng(4).permutation(np.prod(x_shape)).reshape(x_shape) * 0.1
    assert gradcheck(lambda t: ops.max_pool2d(t, kernel, stride, padding), [x])
    assert gradcheck(lambda t: ops.avg_pool2d(t, kernel, stride, padding), [x])


def test_check_op_avg_pool_helper():
    check_op(lambda x: ops.avg_pool2d(x, 3, 2, 1),
             lambda x: reference_pool(x, np.zeros((2, 3, 4, 4)), 3, 2, 1, "avg")[0],
             [(2, 3, 7, 8)])


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1)])
def test_any_memory_layout_gives_the_same_values_and_gradients(kernel, stride):
    """A user's channels-last view pools like contiguous NCHW (forward and backward)."""
    x = uniform(2, 5, 8, 8, seed=6, dtype=np.float32)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    leaf_a, leaf_b = Tensor(x, requires_grad=True), Tensor(channels_last, requires_grad=True)
    out_a, out_b = ops.max_pool2d(leaf_a, kernel, stride), ops.max_pool2d(leaf_b, kernel, stride)
    np.testing.assert_array_equal(out_a.data, out_b.data)
    grad_out = uniform(*out_a.shape, seed=7, dtype=np.float32)
    out_a.backward(grad_out)
    out_b.backward(grad_out)
    np.testing.assert_array_equal(leaf_a.grad.data, leaf_b.grad.data)


def test_tensor_methods():
    x = Tensor(uniform(1, 2, 6, 6))
    np.testing.assert_array_equal(x.max_pool2d(2).data, ops.max_pool2d(x, 2, 2, 0).data)
    np.testing.assert_array_equal(x.avg_pool2d(3, 1, 1).data, ops.avg_pool2d(x, 3, 1, 1).data)


@pytest.mark.parametrize("op", [ops.max_pool2d, ops.avg_pool2d])
@pytest.mark.parametrize("shape, args, message", [
    ((3, 8, 8), (2,), r"input must be 4-D .* got shape \(3, 8, 8\)"),
    ((1, 1, 8, 8), (3, 1, 2), r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"),
    ((1, 1, 3, 3), (4,), r"kernel \(4, 4\) is larger than the padded input \(3, 3\)"),
    ((1, 1, 8, 8), (2, 0), r"pool2d: stride must be >= 1, got 0"),
    ((1, 1, 8, 8), ((2, 2, 2),), r"kernel_size must be an int or a pair"),
])
def test_bad_arguments_raise(op, shape, args, message):
    with pytest.raises(ValueError, match=message):
        op(Tensor(np.zeros(shape)), *args)


def _adaptive_avg_reference(a, out_h, out_w):
    """PyTorch's windows, one output at a time: rows floor(i H / OH) .. ceil((i+1) H / OH)."""
    n, c, h, w = a.shape
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * h // out_h, -(-(i + 1) * h // out_h))
            cols = slice(j * w // out_w, -(-(j + 1) * w // out_w))
            out[:, :, i, j] = a[:, :, rows, cols].mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("shape, size", [((2, 3, 5, 7), (2, 3)), ((1, 2, 6, 6), 3),
                                         ((2, 1, 4, 5), 1), ((1, 1, 3, 3), (5, 4)),
                                         ((2, 2, 7, 4), (None, 2))], ids=str)
def test_adaptive_avg_pool2d(shape, size):
    pair = size if isinstance(size, tuple) else (size, size)
    out_size = tuple(shape[2 + i] if s is None else s for i, s in enumerate(pair))
    check_op(lambda x: ops.adaptive_avg_pool2d(x, size),
             lambda a: _adaptive_avg_reference(a, *out_size), [shape])


def test_adaptive_avg_pool2d_gradient_is_pytorchs():
    # PyTorch 2.13: adaptive_avg_pool2d(arange(35).reshape(1, 1, 5, 7), (2, 3)), backward of
    # out * arange(6).reshape(2, 3): the overlapping windows add up
    x = Tensor(np.arange(35.0).reshape(1, 1, 5, 7), requires_grad=True)
    out = ops.adaptive_avg_pool2d(x, (2, 3))
    np.testing.assert_allclose(out.data[0, 0], [[8, 10, 12], [22, 24, 26]])
    (out * Tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    third, ninth = 1 / 3, 1 / 9
    np.testing.assert_allclose(x.grad.data[0, 0, 2], [third, third, 8 * ninth, 5 * ninth,
                                                      4 * third, 7 * ninth, 7 * ninth],
                               rtol=1e-6)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (1, 1, 1, 1)
