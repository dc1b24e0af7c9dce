"""The compiled tier's optimizer kernels (ops/compiled.py's "optim" family): SGD, Adam and AdamW
give the NumPy path's parameters and state bit for bit over several steps, in float32 and
float64; other dtypes and layouts take the NumPy path; the two paths share their state."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, nn, optim
from tinygrad_cnn.ops import compiled

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")

SHAPES = [(3, 4), (6, 1, 5, 5), (7,), (), (0, 3)]
SGD_CASES = [
    dict(lr=0.1),
    dict(lr=1, momentum=1, weight_decay=0),  # integers, as a user may write them
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=1e-2),
    dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=True),
]
ADAM_CASES = [
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.02, weight_decay=0.05, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, dict(lr=1, weight_decay=0)),  # integers
    (optim.AdamW, dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
]


def run_steps(make, p0: np.ndarray, grads: list, on: bool) -> tuple:
    """The parameter and its state after one step per gradient, with the tier on or off, and
    how many of those steps ran the kernel."""
    with compiled.use(on):
        p = nn.Parameter(copy_like(p0))
        opt = make([p])
        calls = []
        kernel_update = opt._compiled_update
        opt._compiled_update = lambda *args: calls.append(1) or kernel_update(*args)
        for g in grads:
            p.grad = Tensor(g, dtype=None)
            opt.step()
    return p.data, opt.state[id(p)], len(calls)


def copy_like(a: np.ndarray) -> np.ndarray:
    """A copy in a's layout: C or Fortran order, else every other element of its last axis."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return a.copy(order="K")
    return np.repeat(a, 2, axis=-1)[..., ::2]


def assert_same_steps(make, p0: np.ndarray, grads: list, kernel_steps: int) -> None:
    expected, expected_state, numpy_calls = run_steps(make, p0, grads, on=False)
    got, state, calls = run_steps(make, p0, grads, on=True)
    assert (numpy_calls, calls) == (0, kernel_steps)
    np.testing.assert_array_equal(got, expected, strict=True)  # the same bits, NaNs included
    assert set(state) == set(expected_state)
    for name, value in expected_state.items():
        np.testing.assert_array_equal(state[name], value, strict=True, err_msg=name)


def random_steps(shape: tuple, dtype: type, steps: int = 4, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed + len(shape))
    p0 = rng.standard_normal(shape).astype(dtype)
    return p0, [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_kernel_equals_the_numpy_path(kwargs, shape, dtype):
    p0, grads = random_steps(shape, dtype)
    plain = not kwargs.get("momentum") and not kwargs.get("weight_decay")  # NumPy's: faster
    assert_same_steps(lambda params: optim.SGD(params, **kwargs), p0, grads,
                      0 if plain else len(grads))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cls, kwargs", ADAM_CASES, ids=str)
def test_adam_kernel_equals_the_numpy_path(cls, kwargs, shape, dtype):
    p0, grads = random_steps(shape, dtype, steps=5)
    assert_same_steps(lambda params: cls(params, **kwargs), p0, grads, len(grads))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zeros_infinities_and_nans_as_numpy(dtype):
    """eps=0 with zero gradients divides 0 by 0 (NaN, no ZeroDivisionError); inf and NaN
    gradients spread as in NumPy; amsgrad's maximum keeps a NaN."""
    p0 = np.array([1.0, -2.0, 0.0, 3.0, -0.0, 5.0], dtype)
    grads = [np.array([0.0, np.inf, -np.inf, np.nan, 0.0, 1.0], dtype),
             np.array([0.0, 1.0, 2.0, 0.5, -0.0, np.nan], dtype)]
    with np.errstate(invalid="ignore"):  # the NumPy path warns of its NaNs
        assert_same_steps(lambda ps: optim.Adam(ps, eps=0.0, amsgrad=True), p0, grads, 2)
        assert_same_steps(lambda ps: optim.AdamW(ps, eps=0.0, weight_decay=0.1), p0, grads, 2)
        assert_same_steps(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1,
                                               nesterov=True), p0, grads, 2)


@needs_numba
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01, amsgrad=True),
], ids=["sgd", "adamw"])
@pytest.mark.parametrize("case", ["float16", "fortran", "strided", "fortran-grad"])
def test_other_dtypes_and_layouts_take_the_numpy_path(make, case):
    p0, grads = random_steps((4, 6), np.float16 if case == "float16" else np.float32)
    if case == "fortran":
        p0 = np.asfortranarray(p0)
    elif case == "strided":
        p0 = np.repeat(p0, 2, axis=1)[:, ::2]
    elif case == "fortran-grad":
        grads = [np.asfortranarray(g) for g in grads]
    assert copy_like(p0).flags.c_contiguous == (case in ("float16", "fortran-grad"))
    assert_same_steps(make, p0, grads, kernel_steps=0)


@needs_numba
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
], ids=["sgd", "adam"])
def test_the_two_paths_share_their_state(make):
    """Steps alternating between the kernel and NumPy (and a state dict saved and loaded
    between them) give the NumPy path's bits."""
    p0, grads = random_steps((5, 3), np.float32, steps=6)
    expected, expected_state, _ = run_steps(make, p0, grads, on=False)
    p = nn.Parameter(p0.copy())
    opt = make([p])
    for i, g in enumerate(grads):
        with compiled.use(i % 2 == 0):
            p.grad = Tensor(g, dtype=None)
            opt.step()
        if i == 2:
            saved = opt.state_dict()
            opt = make([p])
            opt.load_state_dict(saved)
    np.testing.assert_array_equal(p.data, expected, strict=True)
    for name, value in expected_state.items():
        np.testing.assert_array_equal(opt.state[id(p)][name], value, strict=True)


@needs_numba
def test_the_kernels_take_only_flat_contiguous_float_arrays():
    kernels = compiled.kernels("optim")
    p = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError):  # 2-D: the optimizer flattens first
        kernels.sgd(p, p, p, 0.1, 0.0, 0.0, 1.0, False, False, False, False)
    with pytest.raises(TypeError):
        kernels.sgd(*(np.ones(3, np.float16),) * 3, 0.1, 0.0, 0.0, 1.0, False, False, False,
                    False)


def test_adam_steps_a_single_number_parameter_on_the_numpy_path():
    # PyTorch: torch.optim.Adam([p], lr=0.1) with p = 1.0, grad 0.5: one step gives 0.9
    p = nn.Parameter(np.array(1.0, dtype=np.float32))
    p.grad = Tensor(np.array(0.5, dtype=np.float32))
    with compiled.use(False):
        optim.Adam([p], lr=0.1).step()
    assert p.data.shape == () and p.data == pytest.approx(0.9, abs=1e-6)
