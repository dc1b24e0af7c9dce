"""conv2d(groups=g): every algorithm equals a naive per-pixel loop reference, forward and the three
gradients; float64 gradcheck; depthwise; tinygrad's grouped-conv op tests; PyTorch's checks."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, uniform

from tinygrad_cnn import Tensor, gradcheck, nn, ops

ALGORITHMS = ["naive", "im2col", "taps", "toeplitz"]

# (x shape, weight shape, groups, stride, padding, dilation): depthwise (groups == C_in, with and
# without a channel multiplier), two and three groups, strides, padding and dilation.
CASES = [
    ((2, 4, 7, 7), (6, 2, 3, 3), 2, 1, 1, 1),
    ((1, 6, 9, 8), (3, 2, 3, 2), 3, (2, 1), (1, 0), 1),
    ((3, 3, 8, 8), (3, 1, 3, 3), 3, 1, 1, 1),        # depthwise
    ((2, 4, 9, 9), (8, 1, 3, 3), 4, 2, 2, 2),        # depthwise, channel multiplier 2
    ((2, 6, 6, 7), (4, 3, 1, 1), 2, 1, 0, 1),        # grouped 1x1
    ((1, 8, 10, 10), (8, 2, 5, 5), 4, 1, 2, (2, 1)),
]


def reference_grouped_conv2d(x, weight, bias, groups, stride=1, padding=0, dilation=1):
    """Independent of the package: one dot product per output pixel and output channel, reading
    only the channels of that channel's group."""
    (sh, sw), (ph, pw), (dh, dw) = [(v, v) if isinstance(v, int) else v
                                    for v in (stride, padding, dilation)]
    n, _, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, c_out, oh, ow))
    for o in range(c_out):
        first = (o // (c_out // groups)) * c_group
        for i in range(oh):
            for j in range(ow):
                window = xp[:, first:first + c_group, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                            j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (window * weight[o]).sum(axis=(1, 2, 3))
    return out if bias is None else out + bias[:, None, None]


def run(x, weight, bias, groups, algorithm, **params):
    leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, weight, bias)]
    out = ops.conv2d(*leaves, groups=groups, algorithm=algorithm, **params)
    out.backward(uniform(*out.shape, seed=5))
    return out, [leaf.grad.data for leaf in leaves]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape, groups, stride, padding, dilation", CASES)
def test_forward_and_gradients_match_references(algorithm, x_shape, w_shape, groups, stride,
                                                padding, dilation):
    params = dict(stride=stride, padding=padding, dilation=dilation)
    x, weight, bias = uniform(*x_shape, seed=1), uniform(*w_shape, seed=2), uniform(w_shape[0])
    out, grads = run(x, weight, bias, groups, algorithm, **params)
    assert out.grad_fn.algorithm == algorithm and out.shape[1] == w_shape[0]
    np.testing.assert_allclose(out.data, reference_grouped_conv2d(x, weight, bias, groups,
                                                                  **params), rtol=1e-10, atol=1e-12)
    _, naive_grads = run(x, weight, bias, groups, "naive", **params)
    for grad, expected in zip(grads, naive_grads):
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[2], uniform(*out.shape, seed=5).sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape, groups, stride, padding, dilation",
                         [CASES[0], CASES[1], CASES[3]])
def test_check_op_and_gradcheck(algorithm, x_shape, w_shape, groups, stride, padding, dilation):
    params = dict(stride=stride, padding=padding, dilation=dilation)
    check_op(lambda x, w, b: ops.conv2d(x, w, b, groups=groups, algorithm=algorithm, **params),
             lambda x, w, b: reference_grouped_conv2d(x, w, b, groups, **params),
             [x_shape, w_shape, (w_shape[0],)])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_without_bias_and_with_an_input_that_needs_no_grad(algorithm):
    x, weight = uniform(2, 4, 6, 6, seed=3), uniform(4, 2, 3, 3, seed=4)
    assert gradcheck(lambda x, w: ops.conv2d(x, w, padding=1, groups=2, algorithm=algorithm),
                     [x, weight])
    w_leaf = Tensor(weight, requires_grad=True, dtype=np.float64)
    ops.conv2d(Tensor(x, dtype=np.float64), w_leaf, groups=2, algorithm=algorithm).sum().backward()
    assert w_leaf.grad.shape == (4, 2, 3, 3)


def test_groups_equal_separate_convolutions_concatenated():
    """The definition, as PyTorch documents it: groups=2 is two convs side by side."""
    x, weight, bias = uniform(2, 6, 8, 8, seed=6), uniform(4, 3, 3, 3, seed=7), uniform(4, seed=8)
    out = ops.conv2d(Tensor(x), Tensor(weight), Tensor(bias), groups=2, padding=1).data
    halves = [ops.conv2d(Tensor(x[:, 3 * k:3 * k + 3]), Tensor(weight[2 * k:2 * k + 2]),
                         Tensor(bias[2 * k:2 * k + 2]), padding=1).data for k in range(2)]
    np.testing.assert_allclose(out, np.concatenate(halves, axis=1), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("x_shape, w_shape, groups", [
    ((4, 2 * 3, 1, 1), (2 * 5, 3, 1, 1), 2),   # tinygrad's test_grouped_conv2d (1x1)
    ((2, 3, 11, 28), (3 * 1, 3 // 3, 3, 3), 3),  # tinygrad's test_fancy_conv2d (depthwise)
])
def test_tinygrad_grouped_conv_op_tests(x_shape, w_shape, groups):
    """Tensor.conv2d(x, w, groups=g).relu() against the reference, forward and gradients."""
    rng = np.random.default_rng(0)
    x, w = (rng.uniform(-2, 2, s).astype(np.float32) for s in (x_shape, w_shape))
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = Tensor.conv2d(xt, wt, groups=groups).relu()
    expected = np.maximum(reference_grouped_conv2d(x, w, None, groups), 0)
    np.testing.assert_allclose(out.data, expected, atol=1e-4, rtol=1e-5)
    assert gradcheck(lambda x, w: x.conv2d(w, groups=groups).relu(), [x, w])


def test_nn_conv2d_groups_weight_shape_init_and_repr():
    conv = nn.Conv2d(6, 4, 3, padding=1, groups=2)
    assert conv.weight.shape == (4, 3, 3, 3) and conv.bias.shape == (4,)
    assert np.abs(conv.weight.data).max() <= 1 / np.sqrt(3 * 9)  # fan_in = C_in / groups * K*K
    assert repr(conv) == ("Conv2d(6, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), "
                          "groups=2)")
    x = Tensor(uniform(2, 6, 5, 5, dtype=np.float32))
    assert conv(x).shape == conv.output_shape((2, 6, 5, 5)) == (2, 4, 5, 5)
    depthwise = nn.Conv2d(8, 8, 3, groups=8, bias=False)
    assert depthwise.weight.shape == (8, 1, 3, 3)
    assert nn.summary(depthwise, (1, 8, 5, 5)).total_mult_adds == 8 * 3 * 3 * 9


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Conv2d(5, 4, 3, groups=2), ValueError,
     r"Conv2d: in_channels=5 must be divisible by groups=2"),
    (lambda: nn.Conv2d(4, 5, 3, groups=2), ValueError,
     r"Conv2d: out_channels=5 must be divisible by groups=2"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, r"groups must be >= 1, got 0"),
    (lambda: nn.Conv2d(4, 4, 3, groups=2.0), TypeError, r"groups must be an int, got 2.0"),
])
def test_nn_conv2d_rejects_bad_groups(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("x_shape, w_shape, groups, message", [
    ((1, 6, 5, 5), (4, 2, 3, 3), 2,
     r"input has 6 channels \(shape \(1, 6, 5, 5\)\) but weight \(4, 2, 3, 3\) with groups=2 "
     r"expects 4"),
    ((1, 6, 5, 5), (3, 3, 3, 3), 2,
     r"weight \(3, 3, 3, 3\) has 3 output channels, which groups=2 does not divide"),
    ((1, 4, 2, 2), (4, 2, 3, 3), 2, r"larger than the padded input .* groups=2: input "
                                    r"\(1, 4, 2, 2\), weight \(4, 2, 3, 3\)"),
    ((1, 4, 5, 5), (4, 2, 3, 3), -1, r"groups must be >= 1, got -1"),
])
def test_functional_conv2d_checks_name_shapes_and_groups(x_shape, w_shape, groups, message):
    with pytest.raises(ValueError, match=message):
        ops.conv2d(Tensor(np.zeros(x_shape)), Tensor(np.zeros(w_shape)), groups=groups)
