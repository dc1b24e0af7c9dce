"""The Tensor: construction, attributes, factories and their seed, repr, dtype preservation."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor


@pytest.mark.parametrize("data, shape", [(3, ()), (2.5, ()), ([1, 2], (2,)),
                                         ([[1.0, 2.0], [3.0, 4.0]], (2, 2)),
                                         (np.arange(6).reshape(2, 3), (2, 3))])
def test_construction_defaults_to_float32(data, shape):
    t = Tensor(data)
    assert t.shape == shape and t.dtype == np.float32 and t.ndim == len(shape)
    assert t.size == int(np.prod(shape)) and isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=np.float32))
    assert t.grad is None and not t.requires_grad and t.is_leaf


def test_ndarray_of_the_right_dtype_is_not_copied():
    a = np.ones(3, dtype=np.float32)
    assert Tensor(a).data is a
    assert Tensor(a, dtype=np.float64).dtype == np.float64


def test_item_and_numpy():
    assert Tensor([[2.5]]).item() == 2.5
    assert isinstance(Tensor(3.0).item(), float)
    with pytest.raises(ValueError, match=r"one-element.*\(2,\)"):
        Tensor([1.0, 2.0]).item()
    assert Tensor([1.0, 2.0]).numpy().dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match="floating point"):
        Tensor([1, 2], requires_grad=True, dtype=dtype)
    t = Tensor([1, 2], dtype=dtype)
    with pytest.raises(TypeError, match=str(np.dtype(dtype))):
        t.requires_grad = True
    with pytest.raises(TypeError):
        t.requires_grad_()


def test_requires_grad_off_on_non_leaf():
    y = Tensor([1.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_repr_shows_values_shape_dtype_and_op():
    text = repr(Tensor([1.0, 2.0], requires_grad=True) * 2.0)
    assert "shape=(2,)" in text and "dtype=float32" in text and "op=Mul" in text
    assert "2." in text and "4." in text
    leaf = repr(Tensor(np.zeros((2, 3)), requires_grad=True, name="w"))
    assert "name='w'" in leaf and "requires_grad=True" in leaf and "shape=(2, 3)" in leaf
    assert "op=" not in repr(Tensor([1.0]))


def test_float32_in_float32_out_for_values_and_grads():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    y = ((x @ w).sigmoid() * 3 + 1 - 2.0 / (x + 5) + x**2).log_softmax().sum() / 2
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_float64_stays_float64():
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = (x * 2 + 1.5).exp().mean()
    y.backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64


@pytest.mark.parametrize("op", [lambda x: 2 * x, lambda x: x * 2, lambda x: 1.5 - x,
                                lambda x: x / 3, lambda x: 3 / x, lambda x: 2**x,
                                lambda x: x**2, lambda x: x + np.float64(1.5),
                                lambda x: x @ np.ones((2, 2)), lambda x: np.float64(2.0) * x])
def test_python_and_numpy_scalars_on_either_side_keep_float32(op):
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = op(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


FACTORIES = [
    ("zeros", lambda: Tensor.zeros(2, 3), np.zeros((2, 3))),
    ("ones", lambda: Tensor.ones((2, 3)), np.ones((2, 3))),
    ("full", lambda: Tensor.full((2, 3), 7.5), np.full((2, 3), 7.5)),
    ("eye", lambda: Tensor.eye(3), np.eye(3)),
    ("eye_rect", lambda: Tensor.eye(2, 3), np.eye(2, 3)),
    ("arange_step", lambda: Tensor.arange(1, 2, 0.25), np.arange(1, 2, 0.25)),
]


@pytest.mark.parametrize("name, make, expected", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_deterministic_factories(name, make, expected):
    t = make()
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, expected)


def test_arange_has_one_dtype_rule_pytorchs():
    import tinygrad_cnn as tg

    for make in (Tensor.arange, tg.arange):
        assert make(5).dtype == np.int64 and make(5).tolist() == [0, 1, 2, 3, 4]
        assert make(0, 1, 0.5).dtype == np.float32  # torch.arange(0, 1, 0.5): float32
        assert make(5, dtype=np.float32).dtype == np.float32


def test_factories_take_requires_grad_and_dtype():
    t = Tensor.zeros(2, requires_grad=True, dtype=np.float64)
    assert t.requires_grad and t.dtype == np.float64
    assert Tensor.randn(3, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("make", [lambda: Tensor.randn(50, 4), lambda: Tensor.rand(50, 4),
                                  lambda: Tensor.uniform(50, 4, low=-3.0, high=-1.0)])
def test_random_factories_follow_manual_seed(make):
    tg.manual_seed(123)
    first = make()
    tg.manual_seed(123)
    again = make()
    tg.manual_seed(124)
    other = make()
    assert first.dtype == np.float32 and first.shape == (50, 4)
    np.testing.assert_array_equal(first.data, again.data)
    assert not np.array_equal(first.data, other.data)


def test_random_factories_ranges():
    tg.manual_seed(0)
    r = Tensor.rand(1000).data
    u = Tensor.uniform(1000, low=-3.0, high=-1.0).data
    n = Tensor.randn(10_000).data
    assert 0 <= r.min() and r.max() < 1
    assert -3 <= u.min() and u.max() < -1
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05


def test_len_bool_and_hash():
    t = Tensor(np.zeros((4, 2)))
    assert len(t) == 4 and hash(t) == id(t)
    assert bool(Tensor([1.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_ndarray_on_the_left_defers_to_tensor():
    out = np.ones(2) * Tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(out, Tensor) and out.requires_grad


def test_size_is_numpys_count_and_pytorchs_shape_call():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.size == 24 == x.numel() and x.size * 2 == 48  # NumPy's size: an int
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4  # PyTorch's size()
    assert x.view(x.size(0), -1).shape == (2, 12)
    assert Tensor(5.0).size() == () and Tensor(5.0).size == 1
