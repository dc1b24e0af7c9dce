"""NumPy interop and construction as PyTorch: np.asarray gives the data, ufuncs never give
object arrays, and Tensor() refuses what is not numbers with a TypeError showing it."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor

GRAD = r"Can't call numpy\(\) on Tensor that requires grad. Use tensor.detach\(\).numpy\(\)"


def test_asarray_is_the_data():
    t = Tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t).dtype == np.float32 and np.array(t) is not t.data


@pytest.mark.parametrize("call", [np.asarray, np.array, lambda t: t.numpy(), np.exp, np.sum,
                                  lambda t: np.concatenate([t, t])],
                         ids=["asarray", "array", "numpy", "exp", "sum", "concatenate"])
def test_a_tensor_that_requires_grad_gives_pytorchs_error(call):
    with pytest.raises(RuntimeError, match=GRAD):
        call(Tensor([1.0], requires_grad=True))


def test_detach_numpy_works():
    w = Tensor([1.0, 2.0], requires_grad=True)
    assert np.asarray(w.detach()).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("call, expected", [
    (np.exp, np.exp([0.0, 1.0])), (np.sin, np.sin([0.0, 1.0])), (np.sum, 1.0),
    (np.mean, 0.5), (lambda t: np.clip(t, 0.5, 2), [0.5, 1.0]),
    (lambda t: np.where(t > 0.5, t, 9), [9.0, 1.0]), (lambda t: np.stack([t, t]), [[0, 1], [0, 1]]),
], ids=["exp", "sin", "sum", "mean", "clip", "where", "stack"])
def test_numpy_functions_give_arrays_of_the_data(call, expected):
    out = call(Tensor([0.0, 1.0]))
    assert isinstance(out, (np.ndarray, np.generic)) and np.asarray(out).dtype != object
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize("expr", [
    lambda t: np.ones(2) + t, lambda t: np.ones(2) * t, lambda t: np.float32(2) - t,
    lambda t: np.ones(2) / t, lambda t: np.ones((2, 2)) @ t, lambda t: np.add(np.ones(2), t),
], ids=["+", "*", "scalar -", "/", "@", "np.add"])
def test_ndarray_operators_with_a_tensor_stay_in_the_graph(expr):
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = expr(t)
    assert isinstance(out, Tensor) and out.dtype == np.float32 and out.requires_grad
    out.sum().backward()
    assert t.grad is not None


def test_ndarray_comparison_with_a_tensor_is_a_bool_tensor():
    out = np.array([1.0, 3.0]) < Tensor([2.0, 2.0])
    assert isinstance(out, Tensor) and out.tolist() == [True, False]


def test_clip_with_tensor_bounds_is_numeric():
    x = Tensor([1.0, 3.0, 5.0])
    out = x.clip(Tensor([2.0]), 4)
    assert out.dtype == np.float32 and out.tolist() == [2.0, 3.0, 4.0]
    low = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    x.clip(low, 4).sum().backward()  # a bound that requires grad gets one where it clips
    np.testing.assert_array_equal(low.grad.data, [1.0, 0.0, 0.0])


@pytest.mark.parametrize("data, shown", [
    (None, "None"), ([1, None, 3], r"\[1, None, 3\]"), ("abc", "'abc'"), ({"a": 1}, "{'a': 1}"),
    (np.array([1, "x"], dtype=object), "array"), ([[1, 2], [3]], r"\[\[1, 2\], \[3\]\]"),
    (["1", "2"], r"\['1', '2'\]"), (object(), "object"), (b"12", "b'12'"),
    (np.array(["a", "b"]), "array"), ([1, [2]], r"\[1, \[2\]\]"), ({1, 2}, r"\{1, 2\}"),
], ids=["None", "None inside", "str", "dict", "object array", "ragged", "strings", "object",
        "bytes", "str array", "mixed nesting", "set"])
def test_construction_refuses_non_numbers_showing_them(data, shown):
    with pytest.raises(TypeError, match=f"Tensor\\(\\) needs .*{shown}"):
        Tensor(data)


def test_a_tensor_from_a_tensor_is_a_copy_as_pytorch():
    a = Tensor([1.0, 2.0])
    b = Tensor(a)
    b += 1
    assert a.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", ["nonsense", np.complex64, object, str])
def test_construction_refuses_a_dtype_a_tensor_cannot_hold(dtype):
    with pytest.raises(TypeError, match="Tensor\\(\\)"):
        Tensor([1.0], dtype=dtype)
