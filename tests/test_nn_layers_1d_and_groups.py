"""Conv1d, MaxPool1d, AvgPool1d, GroupNorm, Embedding, ReLU6, Hardtanh, Dropout2d and
Unflatten: forward against NumPy loops and formulas, gradients by float64 gradcheck, edge cases
as PyTorch 2.13 gives them."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, gradcheck, nn


def _conv1d(x, w, b, stride, padding, dilation):
    n, c, length = x.shape
    o, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out_len = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, o, out_len))
    for i in range(out_len):
        window = xp[:, :, i * stride:i * stride + dilation * (k - 1) + 1:dilation]
        out[:, :, i] = np.einsum("nck,ock->no", window, w)
    return out + (0 if b is None else b[None, :, None])


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv1d_matches_a_loop_and_gradchecks(stride, padding, dilation):
    tg.manual_seed(0)
    layer = nn.Conv1d(3, 4, 3, stride=stride, padding=padding, dilation=dilation).double()
    x = np.random.default_rng(0).standard_normal((2, 3, 9))
    out = layer(Tensor(x, dtype=np.float64))
    np.testing.assert_allclose(out.data, _conv1d(x, layer.weight.data, layer.bias.data, stride,
                                                 padding, dilation), rtol=1e-10)
    assert layer.weight.shape == (4, 3, 3)  # PyTorch's layout
    assert gradcheck(lambda t: layer(t), [Tensor(x, dtype=np.float64, requires_grad=True)])
    assert layer(Tensor(x[0], dtype=np.float64)).shape == out.shape[1:]  # unbatched (C, L)


def test_pool1d_matches_windows():
    x = np.random.default_rng(1).standard_normal((2, 3, 8))
    out = nn.MaxPool1d(3, 2, 1)(Tensor(x, dtype=np.float64)).data
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1)), constant_values=-np.inf)
    np.testing.assert_array_equal(out, np.stack([padded[:, :, i:i + 3].max(-1)
                                                 for i in range(0, 8, 2)], -1))
    avg = nn.AvgPool1d(2)(Tensor(x, dtype=np.float64)).data
    np.testing.assert_allclose(avg, x.reshape(2, 3, 4, 2).mean(-1))


def test_group_norm_is_the_formula_and_gradchecks():
    x = np.random.default_rng(2).standard_normal((2, 4, 3, 3))
    layer = nn.GroupNorm(2, 4).double()
    layer.weight.data[:] = [1.0, 2.0, 3.0, 4.0]
    groups = x.reshape(2, 2, -1)
    expected = ((groups - groups.mean(-1, keepdims=True)) /
                np.sqrt(groups.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    expected = expected * np.array([1.0, 2.0, 3.0, 4.0])[None, :, None, None]
    np.testing.assert_allclose(layer(Tensor(x, dtype=np.float64)).data, expected, rtol=1e-10)
    assert gradcheck(lambda t: layer(t), [Tensor(x, dtype=np.float64, requires_grad=True)])
    with pytest.raises(ValueError, match="divisible by num_groups=3"):
        nn.GroupNorm(3, 4)


def test_embedding_padding_row_gets_no_gradient():
    tg.manual_seed(0)
    table = nn.Embedding(5, 3, padding_idx=1)
    assert table.weight.data[1].tolist() == [0.0, 0.0, 0.0]
    out = table(tg.tensor([[1, 2, 2], [0, 1, 4]]))
    assert out.shape == (2, 3, 3)
    out.sum().backward()  # PyTorch: rows 0, 2, 4 get 1, 2, 1 per element; row 1 (padding) 0
    np.testing.assert_array_equal(table.weight.grad.data[:, 0], [1, 0, 2, 0, 1])
    with pytest.raises(IndexError, match="index 5 is out of range for 5 embeddings"):
        table(tg.tensor([5]))


def test_relu6_and_hardtanh_have_zero_gradient_at_the_bounds():
    x = tg.tensor([-1.0, 0.0, 3.0, 6.0, 7.0], requires_grad=True)
    out = nn.ReLU6()(x)
    out.sum().backward()
    assert out.tolist() == [0, 0, 3, 6, 6] and x.grad.tolist() == [0, 0, 1, 0, 0]  # PyTorch
    x.grad = None
    nn.Hardtanh(-2.0, 2.0)(x).sum().backward()
    assert x.grad.tolist() == [1, 1, 0, 0, 0]


def test_dropout2d_drops_whole_channels_and_unflatten_reshapes():
    tg.manual_seed(0)
    drop = nn.Dropout2d(0.5)
    out = drop(tg.ones(8, 16, 2, 2)).data
    assert np.all(out.std(axis=(2, 3)) == 0) and set(np.unique(out)) == {0.0, 2.0}
    assert drop.eval()(tg.ones(1, 2, 2, 2)).tolist() == tg.ones(1, 2, 2, 2).tolist()
    assert nn.Unflatten(1, (2, 3))(tg.zeros(4, 6, 5)).shape == (4, 2, 3, 5)
