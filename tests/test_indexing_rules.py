"""Indices that mix integers with index arrays follow PyTorch, not NumPy: x[1, :, [0, 3]] on a
(2, 3, 4) tensor is (3, 2) (NumPy: (2, 3)); reading, writing and gradients agree."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor

A = np.arange(24.0).reshape(2, 3, 4)


def _pytorch(a, index):
    """PyTorch's reading, spelled out: the integers first (basic indexing), then the rest."""
    ints = tuple(i if isinstance(i, int) else slice(None) for i in index)
    rest = tuple(i for i in index if not isinstance(i, int))
    return a[ints][rest]


@pytest.mark.parametrize("index, shape", [
    ((1, slice(None), [0, 3]), (3, 2)),
    (([0, 1], 1, [1, 2]), (2,)),
    ((0, [0, 2], slice(1, 3)), (2, 2)),
    (([1], slice(None), 2), (1, 3)),
], ids=["int-slice-list", "list-int-list", "int-list-slice", "list-slice-int"])
def test_reading_and_its_gradient(index, shape):
    x = Tensor(A, dtype=np.float64, requires_grad=True)
    out = x[index]
    expected = _pytorch(A, index)
    assert out.shape == shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    weights = np.arange(out.data.size, dtype=np.float64).reshape(shape) + 1
    (out * Tensor(weights, dtype=np.float64)).sum().backward()
    reference = np.zeros_like(A)
    np.add.at(reference[tuple(i if isinstance(i, int) else slice(None) for i in index)],
              tuple(i for i in index if not isinstance(i, int)), weights)
    np.testing.assert_array_equal(x.grad.data, reference)


def test_ellipsis_none_and_a_mask_next_to_an_integer():
    x = Tensor(A)
    assert x[..., 2, [1, 1]].shape == (2, 2)  # PyTorch: (2, 2); NumPy: (2, 2) as well
    assert x[None, 1, :, [0, 3]].shape == (1, 3, 2)  # PyTorch; NumPy gives (2, 1, 3)
    mask = A[0] > 5
    np.testing.assert_array_equal(x[1, mask].data, A[1][mask])


def test_writing_uses_the_same_reading():
    x = Tensor(A.copy())
    x[1, :, [0, 3]] = Tensor(np.full((3, 2), -1.0))
    expected = A.copy()
    expected[1][:, [0, 3]] = -1.0
    np.testing.assert_array_equal(x.data, expected)
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    y = Tensor(A.copy())
    y[1, :, [0, 3]] = w * 2  # recorded: the gradient reaches w through the same positions
    (y * Tensor(A)).sum().backward()
    np.testing.assert_array_equal(w.grad.data, 2 * A[1][:, [0, 3]])
