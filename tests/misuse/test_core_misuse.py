"""Misuse corpus, the core's silent differences from PyTorch (issue 20): gradients that came out
wrong after an in-place update through a detached alias, `.grad` of another dtype, and the dtype
rules of tensor creation, each now PyTorch's behaviour (its error words, or its dtype)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn

VERSION_ERROR = ("one of the variables needed for gradient computation has been modified by an "
                 "inplace operation")


# ----------------------------------------------------------------------------- version counter

def test_detach_shares_the_version_counter() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match=VERSION_ERROR + r": \[float32 \[2\]\], which is output "
                                           r"0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


def test_an_update_under_no_grad_is_seen_by_backward() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with tg.no_grad():
        y.zero_()
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.sum().backward()


def test_setitem_through_a_detached_alias_is_seen_by_backward() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.detach()[0] = 5
    with pytest.raises(RuntimeError, match=VERSION_ERROR + r".*output 0 of Tanh"):
        y.sum().backward()


def test_an_untouched_output_still_backwards() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    _ = y.detach() + 1  # reading an alias changes nothing
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]), rtol=1e-6)


# ----------------------------------------------------------------------------- .grad assignment

def test_grad_of_another_shape_or_dtype_is_refused() -> None:
    p = nn.Parameter(np.ones((2, 2), np.float32))
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        p.grad = tg.tensor(np.ones(3, np.float32))
    with pytest.raises(RuntimeError, match="assigned grad has data of a different type"):
        p.grad = tg.tensor(np.ones((2, 2), np.float64))
    assert p.grad is None


# ----------------------------------------------------------------------------- creation dtypes

def test_numpy_float64_scalars_stay_float64() -> None:
    assert tg.tensor(np.float64(1.5)).dtype == np.float64  # torch.tensor(np.float64(1.5)): float64
    assert tg.tensor(1.5).dtype == np.float32  # a Python float: the default dtype


@pytest.mark.parametrize("values, dtype", [([300], tg.int8), ([float("nan")], tg.int64),
                                           ([-1], tg.uint8), ([float("inf")], tg.int32)])
def test_python_numbers_out_of_an_integer_range_raise(values, dtype) -> None:
    with pytest.raises(RuntimeError, match=f"value cannot be converted to type {np.dtype(dtype)} "
                                           "without overflow"):
        tg.tensor(values, dtype=dtype)
    assert tg.tensor([127], dtype=tg.int8).item() == 127


def test_arange_with_a_step_the_wrong_way_raises() -> None:
    with pytest.raises(RuntimeError, match="upper bound and larger bound inconsistent with step "
                                           "sign"):
        tg.arange(0, 10, -1)
    assert tg.arange(10, 0, -3).tolist() == [10, 7, 4, 1]


@pytest.mark.parametrize("factory", ["randn", "rand"])
def test_random_floats_refuse_an_integer_dtype(factory) -> None:
    with pytest.raises(RuntimeError, match=f"{factory}: not implemented for int64"):
        getattr(tg, factory)(2, dtype=tg.int64)


def test_cat_promotes_as_pytorch() -> None:
    out = tg.cat([tg.tensor([1]), tg.tensor([1.5])])
    assert out.dtype == np.float32 and out.tolist() == [1.0, 1.5]  # PyTorch: float32


def test_softmax_of_integers_is_refused_as_pytorch() -> None:
    with pytest.raises(tg.ops.promotion.DtypeError, match="softmax: not implemented for int64"):
        tg.tensor([1, 2]).softmax(0)


def test_iterating_a_0d_tensor_raises() -> None:
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(tg.Tensor(5.0))
    assert [t.item() for t in tg.tensor([1.0, 2.0])] == [1.0, 2.0]


@pytest.mark.parametrize("make", [lambda: tg.zeros(2, dtype="float32"),
                                  lambda: tg.tensor([1], dtype="int64")])
def test_string_dtypes_are_refused(make) -> None:
    with pytest.raises(TypeError, match="argument 'dtype' must be a dtype .* not str"):
        make()


def test_full_with_a_value_its_dtype_cannot_hold_raises() -> None:
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8 without "
                                           "overflow"):
        tg.full((2,), 300, dtype=tg.int8)
    assert tg.full((2,), -128, dtype=tg.int8).tolist() == [-128, -128]


def test_randint_with_low_not_below_high_uses_pytorchs_words() -> None:
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got "
                                           "from=5 >= to=2"):
        tg.randint(5, 2, (3,))


def test_detach_in_place_makes_a_leaf_as_pytorch() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach_()
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        (x * 2)[0:1].detach_()
