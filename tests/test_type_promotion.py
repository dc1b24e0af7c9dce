"""docs/type_promotion.md cell by cell: the dtypes PyTorch's promotion rule gives."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, ops
from tinygrad_cnn.ops.promotion import DtypeError


def t(dtype, shape=(2,)):
    return Tensor(np.ones(shape), dtype=dtype)


def zero_d(dtype):
    return Tensor(np.array(1.0), dtype=dtype)


CELLS = [
    ("f32 + float", lambda: t(np.float32) + 2.5, np.float32),
    ("f32 + int", lambda: t(np.float32) + 2, np.float32),
    ("f32 + int64 tensor", lambda: t(np.float32) + t(np.int64), np.float32),
    ("int64 tensor + f32", lambda: t(np.int64) + t(np.float32), np.float32),
    ("f32 + int64 array", lambda: t(np.float32) + np.ones(2, np.int64), np.float32),
    ("int64 array + f32", lambda: np.ones(2, np.int64) + t(np.float32), np.float32),
    ("f32 + f64 tensor", lambda: t(np.float32) + t(np.float64), np.float64),
    ("f32 + f64 0-d", lambda: t(np.float32) + zero_d(np.float64), np.float32),
    ("f32 0-d + f64 0-d", lambda: zero_d(np.float32) + zero_d(np.float64), np.float64),
    ("f32 + f64 array", lambda: t(np.float32) + np.ones(2), np.float32),
    ("int64 * 2.5", lambda: t(np.int64) * 2.5, np.float32),
    ("int32 + int", lambda: t(np.int32) + 3, np.int32),
    ("int8 + 1000 wraps", lambda: t(np.int8) + 1000, np.int8),
    ("int32 + int64 tensor", lambda: t(np.int32) + t(np.int64), np.int64),
    ("int32 + int64 0-d", lambda: t(np.int32) + zero_d(np.int64), np.int32),
    ("int32 + f64 0-d", lambda: t(np.int32) + zero_d(np.float64), np.float64),
    ("uint8 + int8", lambda: t(np.uint8) + t(np.int8), np.int16),
    ("bool + bool", lambda: t(np.bool_) + t(np.bool_), np.bool_),
    ("bool + int", lambda: t(np.bool_) + 1, np.int64),
    ("bool + float", lambda: t(np.bool_) + 1.5, np.float32),
    ("bool + int32 tensor", lambda: t(np.bool_) + t(np.int32), np.int32),
    ("int64 / int64", lambda: t(np.int64) / t(np.int64), np.float32),
    ("int32 / 2", lambda: t(np.int32) / 2, np.float32),
    ("2 / int32", lambda: 2 / t(np.int32), np.float32),
    ("f64 / int", lambda: t(np.float64) / 2, np.float64),
    ("int ** 2", lambda: t(np.int64) ** 2, np.int64),
    ("int ** 0.5", lambda: t(np.int64) ** 0.5, np.float32),
    ("int < 2.5", lambda: t(np.int64) < 2.5, np.bool_),
    ("maximum int32 f64", lambda: ops.maximum(t(np.int32), t(np.float64)), np.float64),
    ("minimum f32 int", lambda: ops.minimum(t(np.float32), 0), np.float32),
    ("clip int 0.5", lambda: t(np.int64).clip(0.5, 2), np.float32),
    ("clip f32 by f64 tensor", lambda: t(np.float32).clip(zero_d(np.float64)), np.float32),
    ("exp int", lambda: t(np.int64).exp(), np.float32),
    ("log int", lambda: t(np.int32).log(), np.float32),
    ("sqrt bool", lambda: t(np.bool_).sqrt(), np.float32),
    ("sum int32", lambda: t(np.int32).sum(), np.int64),
    ("sum bool", lambda: t(np.bool_).sum(), np.int64),
    ("sum f32", lambda: t(np.float32).sum(), np.float32),
    ("abs int", lambda: t(np.int32).abs(), np.int32),
    ("f32 matmul f64 array", lambda: t(np.float32, (2, 2)) @ np.ones((2, 2)), np.float32),
]


@pytest.mark.parametrize("expr, dtype", [(c[1], c[2]) for c in CELLS], ids=[c[0] for c in CELLS])
def test_promotion_cell(expr, dtype):
    assert expr().dtype == np.dtype(dtype)


def test_values_are_computed_in_the_result_dtype():
    np.testing.assert_array_equal((Tensor([1, 2], dtype=np.int64) * 2.5).data, [2.5, 5.0])
    np.testing.assert_array_equal((Tensor([1, 2], dtype=np.int32) / 2).data, [0.5, 1.0])
    np.testing.assert_array_equal((Tensor([127], dtype=np.int8) + 1).data, [-128])
    assert (Tensor([1, 3], dtype=np.int64) < 2.5).tolist() == [True, False]


def test_gradients_flow_back_in_each_inputs_dtype():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 2.0])


@pytest.mark.parametrize("expr, match", [
    (lambda: t(np.int64).mean(), r"mean\(\): could not infer output dtype.*int64"),
    (lambda: t(np.int32).var(), r"var.*floating point.*int32"),
    (lambda: t(np.int32).std(), r"var.*floating point.*int32"),
    (lambda: t(np.bool_) - t(np.bool_), r"sub.*bool"),
    (lambda: t(np.float32) - t(np.bool_), r"sub.*with a bool tensor"),  # PyTorch refuses any
    (lambda: t(np.bool_) - 2, r"sub.*with a bool tensor"),
    (lambda: t(np.int64) - True, r"sub.*with a bool tensor"),
    (lambda: -t(np.bool_), r"neg.*bool"),
    (lambda: t(np.int64) ** -1, r"Integers to negative integer powers"),
], ids=["int mean", "int var", "int std", "bool - bool", "float - bool", "bool - 2",
        "int - True", "-bool", "int ** -1"])
def test_promotion_refusals(expr, match):
    with pytest.raises(RuntimeError, match=match):
        expr()


@pytest.mark.parametrize("target, value, kept", [
    (np.float32, Tensor([1.0, 1.0], dtype=np.float64), np.float32),
    (np.int32, Tensor([1, 1], dtype=np.int64), np.int32),
    (np.float64, 1, np.float64),
])
def test_in_place_keeps_the_tensors_dtype(target, value, kept):
    x = t(target)
    x += value
    assert x.dtype == np.dtype(kept)
    np.testing.assert_array_equal(x.data, [2, 2])


@pytest.mark.parametrize("target, value, result", [
    (np.int64, 2.5, "float32"), (np.int32, t(np.float64), "float64"), (np.bool_, 1, "int64"),
])
def test_in_place_refuses_a_higher_category_naming_both_dtypes(target, value, result):
    x = t(target)
    with pytest.raises(RuntimeError, match=f"result type {result} can't be cast to the desired "
                       f"output type {np.dtype(target)}"):
        x += value
    np.testing.assert_array_equal(x.data, [1, 1])  # untouched


def test_copy_and_fill_cast_anything_as_pytorch():
    x = t(np.int64)
    x.copy_(Tensor([2.7, -1.5]))
    np.testing.assert_array_equal(x.data, [2, -1])
    x.fill_(3.9)
    np.testing.assert_array_equal(x.data, [3, 3])


def test_dtype_error_is_both_a_type_error_and_a_runtime_error():
    with pytest.raises(TypeError):
        t(np.int64).mean()
    assert issubclass(DtypeError, RuntimeError) and issubclass(DtypeError, TypeError)
