"""The compiled tier's conv kernel (ops/compiled.py's "conv" family): im2col's col2im as one loop
gives the NumPy path's strided adds bit for bit, for strides, dilations, padding and both float
dtypes; other dtypes and layouts take the NumPy path; `auto` picks im2col where the kernel makes
its grad_x the fastest, hybrid (Toeplitz's grad_x) without it."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, gradcheck, ops
from tinygrad_cnn.ops import compiled
from tinygrad_cnn.ops.conv import choose_algorithm, conv_geometry, im2col

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")

# (x shape, weight shape, stride, padding, dilation)
CASES = [
    ((2, 3, 9, 9), (4, 3, 3, 3), 1, 0, 1),
    ((3, 16, 14, 14), (32, 16, 5, 5), 1, 0, 1),  # the `best` model's conv2
    ((2, 2, 11, 7), (3, 2, 5, 3), (2, 1), (2, 1), 1),
    ((1, 4, 13, 12), (5, 4, 3, 2), (1, 3), (0, 2), (2, 1)),
    ((2, 1, 6, 6), (2, 1, 3, 3), 3, 1, 2),
    ((1, 2, 5, 5), (1, 2, 5, 5), 1, 0, 1),  # one output pixel
]


def grads(x, weight, grad_out, stride, padding, dilation, on):
    geom = conv_geometry(x.shape, weight.shape, stride, padding, dilation)
    _, saved = im2col.im2col_forward(x, weight, None, geom, need_w=True)
    with compiled.use(on):
        return im2col.im2col_backward(grad_out, weight, saved, geom, (True, True))[:2]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_col2im_kernel_equals_the_numpy_path_bit_for_bit(case, dtype):
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    weight = rng.standard_normal(w_shape).astype(dtype)
    geom = conv_geometry(x_shape, w_shape, stride, padding, dilation)
    grad_out = rng.standard_normal((geom.N, geom.C_out, geom.OH, geom.OW)).astype(dtype)
    fast = grads(x, weight, grad_out, stride, padding, dilation, on=True)
    reference = grads(x, weight, grad_out, stride, padding, dilation, on=False)
    for got, expected in zip(fast, reference):
        assert got.dtype == expected.dtype == dtype
        np.testing.assert_array_equal(got, expected)


@needs_numba
def test_col2im_kernel_matches_a_naive_loop_and_gradcheck():
    """Against a loop written here (every window's gradient added where it came from), and
    float64 finite differences through the op with the kernel on."""
    rng = np.random.default_rng(1)
    x, weight = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 2))
    geom = conv_geometry(x.shape, weight.shape, (2, 1), (1, 0), (1, 2))
    grad_out = rng.standard_normal((2, 4, geom.OH, geom.OW))
    expected = np.zeros((2, 3, 8 + 2, 7))
    for n in range(2):
        for o in range(4):
            for i in range(geom.OH):
                for j in range(geom.OW):
                    for kh in range(3):
                        for kw in range(2):
                            expected[n, :, i * 2 + kh, j + 2 * kw] += (
                                grad_out[n, o, i, j] * weight[o, :, kh, kw])
    got = grads(x, weight, grad_out, (2, 1), (1, 0), (1, 2), on=True)[0]
    np.testing.assert_allclose(got, expected[:, :, 1:9], rtol=1e-12, atol=1e-12)
    with compiled.use(True):
        x_t, w_t = Tensor(x, requires_grad=True), Tensor(weight, requires_grad=True)
        assert gradcheck(lambda a, b: ops.conv2d(a, b, stride=(2, 1), padding=(1, 0),
                                                 dilation=(1, 2), algorithm="im2col"),
                         (x_t, w_t))


def test_other_dtypes_and_layouts_take_the_numpy_path(monkeypatch):
    calls = []
    monkeypatch.setattr(compiled, "kernels", lambda family: calls.append(family))
    rng = np.random.default_rng(2)
    x16 = rng.standard_normal((2, 2, 6, 6)).astype(np.float16)
    w16 = rng.standard_normal((3, 2, 3, 3)).astype(np.float16)
    geom = conv_geometry(x16.shape, w16.shape, 1, 0, 1)
    grad_out = rng.standard_normal((2, 3, 4, 4)).astype(np.float16)
    with compiled.use(True):
        gx = grads(x16, w16, grad_out, 1, 0, 1, on=True)[0]
    assert calls == [] and gx.dtype == np.float16
    grad_cols = np.ones((2, 4, 4, 3, 3, 2), np.float32)[:, :, :, ::-1]  # not C-contiguous
    grad_xp = np.zeros((2, 6, 6, 2), np.float32)
    with compiled.use(True):
        im2col._col2im(grad_cols, grad_xp, geom)
    assert calls == [] and grad_xp[:, 2, 2].tolist() == [[9.0, 9.0]] * 2


def test_auto_picks_im2col_with_the_kernel_and_hybrid_without():
    best2 = conv_geometry((64, 16, 14, 14), (32, 16, 5, 5), 1, 0, 1)
    lenet2 = conv_geometry((64, 6, 12, 12), (16, 6, 5, 5), 1, 0, 1)  # windows of 150
    with compiled.use(False):
        assert choose_algorithm(best2) == "hybrid"
        assert choose_algorithm(lenet2) == "toeplitz"
    if compiled.available():
        with compiled.use(True):
            assert choose_algorithm(best2) == "im2col"
            assert choose_algorithm(lenet2) == "toeplitz"
