"""A 3-layer MLP built from our ops gets the gradients of a hand-derived NumPy backprop."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor

N, D, H1, H2, K = 8, 5, 7, 6, 4


def numpy_backprop(x, labels, w1, b1, w2, b2, w3, b3):
    """Loss and gradients written out by hand with the chain rule."""
    z1 = x @ w1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ w2 + b2
    a2 = 1 / (1 + np.exp(-z2))
    z3 = a2 @ w3 + b3
    shifted = z3 - z3.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), labels]).mean()

    dz3 = probs.copy()
    dz3[np.arange(N), labels] -= 1
    dz3 /= N
    dw3, db3 = a2.T @ dz3, dz3.sum(axis=0)
    dz2 = (dz3 @ w3.T) * a2 * (1 - a2)
    dw2, db2 = a1.T @ dz2, dz2.sum(axis=0)
    dz1 = (dz2 @ w2.T) * (z1 > 0)
    dw1, db1 = x.T @ dz1, dz1.sum(axis=0)
    return loss, [dw1, db1, dw2, db2, dw3, db3]


def our_loss(x, labels, params):
    w1, b1, w2, b2, w3, b3 = params
    h = (x @ w1 + b1).relu()
    h = (h @ w2 + b2).sigmoid()
    logp = (h @ w3 + b3).log_softmax(axis=1)
    return -logp[np.arange(N), labels].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_gradients_match_hand_derived_backprop(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D))
    labels = rng.integers(0, K, N)
    labels[:2] = labels[2]  # a repeated class: the indexing gradient must scatter-add
    arrays = [rng.normal(size=s) * 0.7 for s in [(D, H1), (H1,), (H1, H2), (H2,), (H2, K), (K,)]]
    params = [Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]

    loss = our_loss(Tensor(x, dtype=np.float64), labels, params)
    loss.backward()

    expected_loss, expected_grads = numpy_backprop(x, labels, *arrays)
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    for p, g in zip(params, expected_grads):
        assert p.grad.shape == p.shape
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-10, atol=1e-13)


def test_mlp_in_float32_stays_close_and_float32():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, D))
    labels = rng.integers(0, K, N)
    arrays = [rng.normal(size=s) * 0.7 for s in [(D, H1), (H1,), (H1, H2), (H2,), (H2, K), (K,)]]
    params = [Tensor(a, requires_grad=True) for a in arrays]
    our_loss(Tensor(x), labels, params).backward()
    _, expected_grads = numpy_backprop(x, labels, *arrays)
    for p, g in zip(params, expected_grads):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-4, atol=1e-6)
