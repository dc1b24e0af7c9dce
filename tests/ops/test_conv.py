"""conv2d: every algorithm equals an independent loop reference and the naive algorithm, forward and
all three gradients; float64 gradcheck; the one-hot-kernel shift law; layouts; shape errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, uniform
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn import Tensor, gradcheck, ops
from tinygrad_cnn.ops import compiled
from tinygrad_cnn.ops.conv import ALGORITHMS as CONV_ALGORITHMS
from tinygrad_cnn.ops.conv import choose_algorithm, conv_geometry

ALGORITHMS = ["naive", "im2col", "taps", "toeplitz", "hybrid"]

# (x shape, weight shape, stride, padding, dilation): strides 1-3, padding 0-2, dilation 1-2,
# kernels 1-5, odd and non-square images and kernels, batch 1 and 7, several channels.
CASES = [
    ((1, 1, 5, 5), (1, 1, 1, 1), 1, 0, 1),
    ((7, 3, 9, 9), (4, 3, 3, 3), 1, 1, 1),
    ((7, 2, 11, 7), (3, 2, 5, 5), 1, 2, 1),
    ((1, 2, 8, 10), (3, 2, 2, 4), 2, 0, 1),
    ((7, 3, 13, 13), (2, 3, 3, 3), 3, 1, 2),
    ((1, 1, 28, 28), (6, 1, 5, 5), 1, 0, 1),
    ((7, 6, 12, 12), (16, 6, 5, 5), 1, 0, 1),
    ((1, 4, 9, 7), (5, 4, 3, 2), (2, 1), (1, 0), (1, 2)),
    ((7, 2, 10, 9), (3, 2, 4, 1), (1, 3), (2, 1), (2, 1)),
    ((1, 3, 7, 7), (2, 3, 5, 5), 2, 2, 1),
    ((7, 1, 6, 6), (2, 1, 3, 3), 1, 0, 2),
    ((1, 5, 5, 5), (3, 5, 5, 5), 1, 0, 1),
]


def pair(v):
    return (v, v) if isinstance(v, int) else v


def reference_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """Independent of the package: a sum over kernel offsets of shifted slices times weights."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, _, h, w = x.shape
    c_out, _, kh_size, kw_size = weight.shape
    oh = (h + 2 * ph - dh * (kh_size - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw_size - 1) - 1) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, c_out, oh, ow))
    for kh in range(kh_size):
        for kw in range(kw_size):
            patch = xp[:, :, kh * dh:kh * dh + sh * (oh - 1) + 1:sh,
                       kw * dw:kw * dw + sw * (ow - 1) + 1:sw]
            out += np.einsum("nchw,oc->nohw", patch, weight[:, :, kh, kw])
    return out if bias is None else out + bias[:, None, None]


def run(x, weight, bias, algorithm, **params):
    """Forward and the three gradients (float64) for a fixed upstream gradient."""
    leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, weight, bias)]
    out = ops.conv2d(*leaves, algorithm=algorithm, **params)
    grad_out = uniform(*out.shape, seed=5)
    out.backward(grad_out)
    return out, [leaf.grad.data for leaf in leaves]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CASES)
def test_forward_and_gradients_match_references(algorithm, x_shape, w_shape, stride, padding,
                                                dilation):
    params = dict(stride=stride, padding=padding, dilation=dilation)
    x, weight, bias = uniform(*x_shape, seed=1), uniform(*w_shape, seed=2), uniform(w_shape[0])
    out, grads = run(x, weight, bias, algorithm, **params)
    assert out.grad_fn.algorithm == algorithm
    np.testing.assert_allclose(out.data, reference_conv2d(x, weight, bias, **params),
                               rtol=1e-10, atol=1e-12)
    _, naive_grads = run(x, weight, bias, "naive", **params)
    for grad, expected in zip(grads, naive_grads):
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)
    # the bias gradient is independent of the algorithm: the sum of the upstream gradient
    np.testing.assert_allclose(grads[2], uniform(*out.shape, seed=5).sum(axis=(0, 2, 3)))


GRADCHECK_CASES = [
    ((1, 2, 5, 5), (3, 2, 3, 3), 1, 1, 1),
    ((2, 1, 7, 6), (2, 1, 2, 3), (2, 1), (0, 2), (2, 1)),
    ((1, 2, 6, 7), (2, 2, 3, 2), 3, 2, 2),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", GRADCHECK_CASES)
def test_check_op_and_gradcheck(algorithm, x_shape, w_shape, stride, padding, dilation):
    params = dict(stride=stride, padding=padding, dilation=dilation)
    check_op(lambda x, w, b: ops.conv2d(x, w, b, algorithm=algorithm, **params),
             lambda x, w, b: reference_conv2d(x, w, b, **params),
             [x_shape, w_shape, (w_shape[0],)])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_without_bias_and_with_constant_input(algorithm):
    x, weight = uniform(2, 3, 6, 6, seed=3), uniform(4, 3, 3, 3, seed=4)
    assert gradcheck(lambda x, w: ops.conv2d(x, w, padding=1, algorithm=algorithm), [x, weight])
    w_leaf = Tensor(weight, requires_grad=True, dtype=np.float64)
    out = ops.conv2d(Tensor(x, dtype=np.float64), w_leaf, algorithm=algorithm)  # x needs no grad
    out.sum().backward()
    np.testing.assert_allclose(w_leaf.grad.data, _window_sums(x, 3, c_out=4), rtol=1e-10)


def _window_sums(x, k, c_out):
    """d (sum of a valid k x k conv) / d weight[o, c, kh, kw] = sum of x's shifted slice."""
    oh, ow = x.shape[2] - k + 1, x.shape[3] - k + 1
    sums = np.array([[[x[:, c, kh:kh + oh, kw:kw + ow].sum() for kw in range(k)]
                      for kh in range(k)] for c in range(x.shape[1])])
    return np.broadcast_to(sums, (c_out, *sums.shape))


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 5), i=st.integers(0, 4), j=st.integers(0, 4), pad=st.integers(0, 2),
       size=st.integers(5, 9), algorithm=st.sampled_from(ALGORITHMS))
def test_one_hot_kernel_is_a_shift(k, i, j, pad, size, algorithm):
    i, j = i % k, j % k
    x = uniform(2, 1, size, size + 1, seed=size)
    weight = np.zeros((1, 1, k, k))
    weight[0, 0, i, j] = 1.0
    out = ops.conv2d(Tensor(x, dtype=np.float64), Tensor(weight, dtype=np.float64),
                     padding=pad, algorithm=algorithm).data
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = out.shape[2:]
    np.testing.assert_array_equal(out, xp[:, :, i:i + oh, j:j + ow])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_in_float32_out_and_any_memory_layout(algorithm):
    x = uniform(3, 4, 8, 9, seed=7, dtype=np.float32)
    weight = uniform(5, 4, 3, 3, seed=8, dtype=np.float32)
    expected = reference_conv2d(x.astype(np.float64), weight.astype(np.float64), padding=1)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    rows_layout = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    for data in (x, channels_last, rows_layout, x[:, :, :, ::-1][:, :, :, ::-1]):
        out = ops.conv2d(Tensor(data), Tensor(weight), padding=1, algorithm=algorithm)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)


# the memory each algorithm returns out and grad_x in (ops/conv/__init__.py's contract)
MEMORY_ORDER = {"naive": (0, 1, 2, 3), "toeplitz": (0, 2, 1, 3), "taps": (1, 0, 2, 3),
                "im2col": (0, 2, 3, 1), "hybrid": (0, 2, 3, 1)}
GRAD_X_ORDER = {**MEMORY_ORDER, "hybrid": MEMORY_ORDER["toeplitz"]}  # hybrid: Toeplitz's grad_x


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("padding", [0, 1])
def test_the_layout_contract(algorithm, padding):
    """Whatever memory x is in, out and grad_x have NCHW shape and the algorithm's stated memory."""
    x, weight, bias = uniform(2, 3, 9, 9, seed=3), uniform(4, 3, 3, 3), uniform(4)
    rows_layout = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    geom = conv_geometry(x.shape, weight.shape, 1, padding, 1)
    forward, backward = CONV_ALGORITHMS[algorithm]
    order = MEMORY_ORDER[algorithm]
    for data in (x, rows_layout, x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)):
        out, saved = forward(data, weight, bias, geom, need_w=True)
        assert out.shape == (2, 4, geom.OH, geom.OW) and out.transpose(order).flags.c_contiguous
        grad_x, grad_w, grad_b = backward(np.ones(out.shape), weight, saved, geom,
                                          (True, True, True))
        assert grad_x.shape == x.shape and grad_w.shape == weight.shape
        if padding == 0:  # else a view into the padded buffer
            assert grad_x.transpose(GRAD_X_ORDER[algorithm]).flags.c_contiguous


def test_chained_convs_through_relu_and_pool_match_naive():
    """Each algorithm's layout flows through relu, pooling and a second conv (LeNet's pattern)
    and gives the naive reference's numbers."""
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s) for s in [(3, 1, 16, 16), (4, 1, 5, 5), (4,), (6, 4, 3, 3)]]
    results = {}
    for algorithm in ALGORITHMS:
        x, w1, b1, w2 = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
        h = ops.max_pool2d(ops.relu(ops.conv2d(x, w1, b1, algorithm=algorithm)), 2)
        out = ops.conv2d(h, w2, algorithm=algorithm)
        (out * out).sum().backward()
        results[algorithm] = [out.data] + [t.grad.data for t in (x, w1, b1, w2)]
    for algorithm in ("im2col", "taps", "toeplitz", "hybrid"):
        for got, expected in zip(results[algorithm], results["naive"]):
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_auto_picks_toeplitz_for_lenet_and_taps_for_small_or_wide_problems():
    lenet1 = conv_geometry((128, 1, 28, 28), (6, 1, 5, 5), 1, 0, 1)
    lenet2 = conv_geometry((128, 6, 12, 12), (16, 6, 5, 5), 1, 0, 1)
    seed = conv_geometry((32, 1, 28, 28), (3, 1, 3, 3), 1, 0, 1)
    wide = conv_geometry((8, 64, 224, 224), (64, 64, 3, 3), 1, 1, 1)
    many_channels = conv_geometry((16, 16, 32, 32), (32, 16, 3, 3), 1, 1, 1)
    assert {choose_algorithm(g) for g in (lenet1, lenet2)} == {"toeplitz"}
    assert choose_algorithm(seed) == choose_algorithm(wide) == choose_algorithm(many_channels)
    assert choose_algorithm(seed) == "taps"
    # small problems: Toeplitz only when its band wastes little (waste <= 4, waste * C_out <= 64)
    small = {((16, 8, 12, 12), (16, 8, 5, 5)): "toeplitz",  # waste 2.4, x C_out 38
             ((4, 6, 12, 12), (16, 6, 5, 5)): "toeplitz",
             ((16, 1, 28, 28), (8, 1, 5, 5)): "taps",  # waste 5.6
             ((8, 16, 14, 14), (32, 16, 5, 5)): "taps",  # waste x C_out 90
             ((32, 1, 28, 28), (3, 1, 3, 3)): "taps"}  # the seed model's conv
    for (x_shape, w_shape), algorithm in small.items():
        assert choose_algorithm(conv_geometry(x_shape, w_shape, 1, 0, 1)) == algorithm, x_shape
    # not small, Toeplitz's band narrow and a window of C_in*KH*KW >= 200 values: `hybrid`
    # (the `best` model's conv2 at 64 images a slice; LeNet's conv2 has windows of 150)
    best2 = conv_geometry((64, 16, 14, 14), (32, 16, 5, 5), 1, 0, 1)
    fast2 = conv_geometry((128, 8, 12, 12), (16, 8, 5, 5), 1, 0, 1)
    narrow_short = conv_geometry((128, 4, 28, 28), (8, 4, 5, 5), 1, 0, 1)
    with compiled.use(False):  # with the compiled col2im: im2col (tests/test_compiled_conv.py)
        assert choose_algorithm(best2) == choose_algorithm(fast2) == "hybrid"
    assert choose_algorithm(narrow_short) == "toeplitz"
    out = ops.conv2d(Tensor(uniform(2, 1, 28, 28)), Tensor(uniform(6, 1, 5, 5)))
    assert out.grad_fn is None  # nothing needs grad: no graph, but the result is the same
    w = Tensor(uniform(6, 1, 5, 5), requires_grad=True)
    out = ops.conv2d(Tensor(uniform(2, 1, 28, 28)), w)
    assert out.grad_fn.algorithm == "taps" and out.grad_fn.name == "Conv2d[taps]"  # small batch


def test_tensor_method_and_int_or_pair_parameters():
    x, w = Tensor(uniform(1, 2, 7, 7)), Tensor(uniform(3, 2, 3, 3))
    a = x.conv2d(w, stride=2, padding=1)
    b = ops.conv2d(x, w, stride=(2, 2), padding=[1, 1], dilation=(1, 1))
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("x_shape, w_shape, params, message", [
    ((2, 3, 8, 8), (5, 4, 3, 3), {}, r"input has 3 channels \(shape \(2, 3, 8, 8\)\) but weight "
                                     r"\(5, 4, 3, 3\) expects 4"),
    ((3, 8, 8), (5, 3, 3, 3), {}, r"input must be 4-D .* got shape \(3, 8, 8\)"),
    ((1, 3, 8, 8), (3, 3, 3), {}, r"weight must be 4-D"),
    ((1, 3, 4, 4), (2, 3, 5, 5), {}, r"kernel \(5, 5\) .* larger than the padded input \(4, 4\)"),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"dilation": 3}, r"larger than the padded input"),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"stride": 0}, r"conv2d: stride must be >= 1, got 0"),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": (1, 2, 3)}, r"padding must be an int or a pair"),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"algorithm": "fft"}, r"unknown algorithm 'fft'"),
])
def test_bad_shapes_and_parameters_raise(x_shape, w_shape, params, message):
    with pytest.raises(ValueError, match=message):
        ops.conv2d(Tensor(np.zeros(x_shape)), Tensor(np.zeros(w_shape)), **params)


def test_bad_bias_shape_raises():
    with pytest.raises(ValueError, match=r"bias has shape \(3,\), expected \(2,\)"):
        ops.conv2d(Tensor(np.zeros((1, 3, 6, 6))), Tensor(np.zeros((2, 3, 3, 3))),
                   Tensor(np.zeros(3)))
