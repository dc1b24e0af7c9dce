"""The compiled tier (ops/compiled.py): its kernels give the NumPy path's bits (2x2 max pooling in
every memory layout, float32 and float64, ties, NaN and infinities, odd sizes, empty batches), it
is switched on and off as documented, and tinygrad_cnn imports and works without numba."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinygrad_cnn import Tensor, autograd, gradcheck, gradgradcheck, ops
from tinygrad_cnn.ops import compiled

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")

NCHW, TOEPLITZ, TAPS, CHANNELS_LAST = (0, 1, 2, 3), (0, 2, 1, 3), (1, 0, 2, 3), (0, 2, 3, 1)
ORDERS = [NCHW, TOEPLITZ, TAPS, CHANNELS_LAST, (3, 2, 1, 0)]  # memory order of the NCHW axes
SHAPES = [(2, 3, 8, 6), (1, 2, 7, 9), (3, 1, 5, 4), (1, 1, 2, 2), (0, 2, 4, 4)]


def in_order(memory: np.ndarray, order: tuple) -> np.ndarray:
    """The NCHW view of `memory`, whose axes are the NCHW axes in `order`."""
    return memory.transpose(np.argsort(order))


def awkward_values(rng: np.random.Generator, shape: tuple, dtype: type) -> np.ndarray:
    """Few distinct values (many ties), signed zeros, both infinities and NaNs."""
    values = np.array([-1.0, 0.0, -0.0, 2.0, 2.0, np.inf, -np.inf, np.nan], dtype)
    return values[rng.choice(len(values), size=shape, p=[.2, .2, .2, .2, .1, .04, .03, .03])]


def pool_both_ways(x: np.ndarray, grad_out: np.ndarray, on: bool) -> tuple:
    with compiled.use(on):
        leaf = Tensor(x, requires_grad=True, dtype=x.dtype)
        out = ops.max_pool2d(leaf, 2)
        out.backward(grad_out)
    return out, leaf.grad.data


def assert_same_pooling(x: np.ndarray, grad_out: np.ndarray) -> None:
    """The kernel's out equals the NumPy path's bit for bit, in the same memory order; the
    gradients are equal (the NumPy path writes -0.0 beside some winners, the kernel 0.0)."""
    expected, expected_grad = pool_both_ways(x, grad_out, on=False)
    out, grad = pool_both_ways(x, grad_out, on=True)
    assert out._ctx.compiled and not expected._ctx.compiled
    assert out.data.tobytes() == expected.data.tobytes()  # NaNs and signed zeros included
    assert out.dtype == expected.dtype
    assert [s for s, n in zip(out.data.strides, out.shape) if n > 1] == \
        [s for s, n in zip(expected.data.strides, expected.shape) if n > 1]
    np.testing.assert_array_equal(grad, expected_grad)
    assert grad.dtype == expected_grad.dtype and grad.shape == x.shape


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ORDERS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_the_kernel_equals_the_numpy_path(shape, order, dtype):
    rng = np.random.default_rng(sum(shape) + 10 * order[1])
    x = in_order(awkward_values(rng, [shape[axis] for axis in order], dtype), order)
    out_shape = (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    assert_same_pooling(x, rng.standard_normal(out_shape).astype(dtype))
    assert_same_pooling(rng.standard_normal(shape).astype(dtype)[:, :, ::-1],  # negative strides
                        rng.standard_normal(out_shape).astype(dtype))


@needs_numba
def test_random_shapes_and_layouts():
    rng = np.random.default_rng(5)
    for _ in range(20):
        shape = tuple(int(s) for s in rng.integers(1, 7, 2)) + tuple(
            int(s) for s in rng.integers(2, 13, 2))
        order = tuple(int(a) for a in rng.permutation(4))
        memory = rng.integers(-3, 4, [shape[axis] for axis in order]).astype(np.float32)
        grad_out = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
        assert_same_pooling(in_order(memory, order), grad_out.astype(np.float32))


@needs_numba
def test_nan_wins_the_window_and_the_gradient_goes_where_the_numpy_path_sends_it():
    x = np.array([[[[np.nan, 5.0], [1.0, 2.0]]]], np.float32)
    out, grad = pool_both_ways(x, np.ones((1, 1, 1, 1), np.float32), on=True)
    assert np.isnan(out.data).all()  # as PyTorch: max pooling propagates NaN
    # "top >= bottom" is false with a NaN on top: the bottom row's maximum gets the gradient
    np.testing.assert_array_equal(grad[0, 0], [[0, 0], [0, 1]])


@needs_numba
def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 2:, 2:] = [[1, 3], [3, 3]]
    _, grad = pool_both_ways(x, np.ones((1, 1, 2, 2), np.float32), on=True)
    expected = np.zeros((4, 4))
    expected[[0, 0, 2, 3], [0, 2, 0, 3]] = 1
    expected[3, 3], expected[2, 3] = 0, 1
    np.testing.assert_array_equal(grad[0, 0], expected)


@needs_numba
def test_a_broadcast_read_only_gradient_and_input_are_read_in_place():
    x = np.broadcast_to(np.arange(8.0).reshape(1, 1, 2, 4), (3, 2, 2, 4))  # read-only, stride 0
    leaf = Tensor(x, requires_grad=True)
    out = ops.max_pool2d(leaf, 2)
    out.sum().backward()  # sum's gradient is a read-only broadcast of ones
    assert out._ctx.compiled
    np.testing.assert_array_equal(out.data[:, :, 0], np.broadcast_to([5.0, 7.0], (3, 2, 2)))
    np.testing.assert_array_equal(leaf.grad.data[0, 0], [[0, 0, 0, 0], [0, 1, 0, 1]])


@needs_numba
def test_other_dtypes_take_the_numpy_path():
    x = Tensor(np.arange(32).reshape(1, 2, 4, 4), requires_grad=True, dtype=np.float16)
    out = ops.max_pool2d(x, 2)
    assert not out._ctx.compiled and out.dtype == np.float16
    # integers: the kernels, compiled for floats only, would raise a TypeError
    out = ops.max_pool2d(Tensor(np.arange(32).reshape(1, 2, 4, 4)), 2)
    np.testing.assert_array_equal(out.data[0, 0], [[5, 7], [13, 15]])


@needs_numba
@pytest.mark.parametrize("shape", [(1, 2, 6, 6), (2, 1, 5, 7)])
def test_gradcheck_with_the_kernels(shape):
    x = np.random.default_rng(4).permutation(np.prod(shape)).reshape(shape) * 0.1  # no ties
    with compiled.use(True):
        assert gradcheck(lambda t: ops.max_pool2d(t, 2), [x])
        assert gradgradcheck(lambda t: ops.max_pool2d(t * t, 2) ** 2, [x])


def pooled_by_kernel() -> bool:
    return ops.max_pool2d(Tensor(np.ones((1, 1, 2, 2)), requires_grad=True), 2)._ctx.compiled


@needs_numba
def test_switching_the_tier():
    previous = compiled.set_enabled(False)
    try:
        assert not compiled.enabled()
        with compiled.use(True):
            assert compiled.enabled()
            assert pooled_by_kernel()
        assert not compiled.enabled()
        assert not pooled_by_kernel()
    finally:
        compiled.set_enabled(previous)


@needs_numba
def test_warm_up_reports_each_familys_first_call_seconds():
    seconds = compiled.warm_up()
    assert set(seconds) == {"pool", "norm", "optim", "conv", "data"}
    assert seconds == compiled.compile_seconds()
    assert all(s > 0 for s in seconds.values())


def run_python(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**_environ(), **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _environ() -> dict:
    return {k: v for k, v in os.environ.items() if k != "TINYGRAD_CNN_COMPILED"}


POOL_ONCE = """
    import numpy as np
    import tinygrad_cnn as tg
    x = tg.Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out = tg.ops.max_pool2d(x, 2)
    out.sum().backward()
    assert out.data.ravel().tolist() == [5, 7, 13, 15], out.data
    assert x.grad.data.sum() == 4
    print(out._ctx.compiled, tg.ops.compiled.enabled())
"""


def test_importing_tinygrad_cnn_does_not_import_numba():
    assert run_python("""
        import sys
        import tinygrad_cnn
        from tinygrad_cnn.ops import compiled
        print('numba' in sys.modules)
    """) == "False"


def test_the_environment_variable_switches_the_tier_off():
    assert run_python(POOL_ONCE, TINYGRAD_CNN_COMPILED="0") == "False False"


@needs_numba
def test_the_tier_is_on_by_default_with_numba():
    assert run_python(POOL_ONCE) == "True True"


def test_without_numba_the_numpy_path_runs():
    hide_numba = """
        import sys
        sys.modules["numba"] = None  # as if numba were not installed: its import fails
    """
    check = """
        from tinygrad_cnn.ops import compiled
        assert not compiled.available()
        try:
            compiled.warm_up()
        except RuntimeError as error:
            print("pip install" in str(error))
    """
    code = "".join(textwrap.dedent(part) for part in (hide_numba, POOL_ONCE, check))
    assert run_python(code) == "False False\nTrue"


# ---------------------------------------------------------------- the fused ReLU + 2x2 max pool

def relu_pool_both_ways(x: np.ndarray, grad_out: np.ndarray, fused: bool, on: bool) -> tuple:
    with compiled.use(on):
        leaf = Tensor(x, requires_grad=True, dtype=x.dtype)
        out = ops.relu_max_pool2d(leaf) if fused else ops.max_pool2d(ops.relu(leaf), 2)
        out.backward(grad_out)
    return out.data, leaf.grad.data


@pytest.mark.parametrize("on", [False, pytest.param(True, marks=needs_numba)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ORDERS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_relu_pool_equals_relu_then_pool(shape, order, dtype, on):
    rng = np.random.default_rng(sum(shape) + 10 * order[1])
    x = in_order(awkward_values(rng, [shape[axis] for axis in order], dtype), order)
    grad_out = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
    expected, expected_grad = relu_pool_both_ways(x, grad_out.astype(dtype), False, on=False)
    out, grad = relu_pool_both_ways(x, grad_out.astype(dtype), True, on=on)
    assert out.tobytes() == expected.tobytes() and out.dtype == expected.dtype
    np.testing.assert_array_equal(grad, expected_grad)
    assert grad.dtype == expected_grad.dtype


@pytest.mark.parametrize("on", [False, pytest.param(True, marks=needs_numba)])
def test_fused_relu_pool_gradients(on):
    shape = (2, 2, 6, 5)
    x = np.random.default_rng(4).permutation(np.prod(shape)).reshape(shape) * 0.1 - 2.95
    with compiled.use(on):
        assert gradcheck(ops.relu_max_pool2d, [x])
        assert gradgradcheck(lambda t: ops.relu_max_pool2d(t * t - 3) ** 2, [x])
        leaf = Tensor(x, requires_grad=True)
        fused, = autograd.grad((ops.relu_max_pool2d(leaf) ** 2).sum(), leaf, create_graph=True)
        composed, = autograd.grad((ops.max_pool2d(ops.relu(leaf), 2) ** 2).sum(), leaf,
                                  create_graph=True)
    np.testing.assert_array_equal(fused.data, composed.data)
    assert fused.requires_grad
