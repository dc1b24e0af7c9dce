"""Batch norm on the compiled tier (ops/compiled.py's "norm" family, ops/norm.py's _Planes):
the kernels against the NumPy path in the conv layouts (tiled short rows and long planes),
training and eval, with and without affine or running statistics, float32 and float64, odd
sizes; gradcheck with the kernels; and the batch split in two (a worker process, or threads)
against the serial step with both paths."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, gradcheck, nn, ops, threads
from tinygrad_cnn.nn.functional import cross_entropy
from tinygrad_cnn.ops import compiled

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")

NCHW, TOEPLITZ, TAPS, CHANNELS_LAST = (0, 1, 2, 3), (0, 2, 1, 3), (1, 0, 2, 3), (0, 2, 3, 1)
# (shape, memory order of its axes): what _Planes makes of each is in the id
CASES = [
    ((16, 6, 12, 12), TOEPLITZ, "tiled"), ((5, 3, 7, 9), TOEPLITZ, "tiled"),
    ((4, 5, 9, 11), TAPS, "planes"), ((3, 2, 20, 17), NCHW, "planes"),
    ((6, 3, 5, 3), NCHW, "tiled"), ((7, 3, 5, 6), CHANNELS_LAST, "tiled"),
    ((2, 3, 2, 300), TOEPLITZ, "planes"), ((1, 4, 5, 7), NCHW, "planes"),
    ((9, 5), (0, 1), "tiled"), ((7, 3, 5), (0, 1, 2), "tiled"), ((3, 2, 400), (0, 1, 2), "planes"),
    ((9, 5), (1, 0), "planes"),
]
IDS = [f"{shape}-{order}-{kind}" for shape, order, kind in CASES]


@pytest.fixture(autouse=True)
def keep_num_threads():
    before = tg.get_num_threads()
    yield
    tg.set_num_threads(before)


def in_order(rng: np.random.Generator, shape: tuple, order: tuple, dtype: type) -> np.ndarray:
    """Values with a per-channel offset and spread, stored contiguously with the axes in
    `order` and seen as `shape`: a conv's output in its layout."""
    per_channel = (1, -1) + (1,) * (len(shape) - 2)
    channel = np.arange(shape[1]).reshape(per_channel)
    values = rng.standard_normal(shape) * (1 + channel) + channel
    memory = np.ascontiguousarray(values.astype(dtype).transpose(order))
    return memory.transpose(np.argsort(order))


def batch_norm_both_ways(x, grad_out, on, training=True, affine=True, running=True,
                         params_dtype=None):
    """(out, x.grad, weight.grad, bias.grad, running_mean, running_var, ctx) on one path."""
    rng = np.random.default_rng(1)
    channels = x.shape[1]
    dtype = params_dtype or x.dtype
    stats = [rng.uniform(-0.5, 0.5, channels).astype(dtype),
             rng.uniform(0.5, 2.0, channels).astype(dtype)] if running else [None, None]
    weight = bias = None
    if affine:
        weight = Tensor(rng.uniform(0.5, 1.5, channels), requires_grad=True, dtype=dtype)
        bias = Tensor(rng.uniform(-1, 1, channels), requires_grad=True, dtype=dtype)
    with compiled.use(on):
        leaf = Tensor(x, requires_grad=True, dtype=x.dtype)
        out = ops.batch_norm(leaf, *stats, weight, bias, training=training or not running)
        out.backward(grad_out.astype(out.dtype))
    grads = [None if p is None else p.grad.data for p in (weight, bias)]
    return out.data, leaf.grad.data, *grads, *stats, out._ctx


def assert_paths_agree(x, grad_out, rtol, **options) -> tuple:
    expected = batch_norm_both_ways(x, grad_out, False, **options)
    got = batch_norm_both_ways(x, grad_out, True, **options)
    assert got[-1].planes.compiled and not expected[-1].planes.compiled
    names = ("out", "x.grad", "weight.grad", "bias.grad", "running_mean", "running_var")
    for name, a, e in zip(names, got, expected):
        if e is None:
            assert a is None, name
            continue
        assert a.dtype == e.dtype and a.shape == e.shape, name
        scale = max(float(np.abs(e).max(initial=0)), 1.0)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale, err_msg=name)
    out, expected_out = got[0], expected[0]
    assert out.strides == expected_out.strides  # in x's memory order, as the NumPy path
    return got, expected


@needs_numba
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape, order, kind", CASES, ids=IDS)
def test_training_kernels_equal_the_numpy_path(shape, order, kind, dtype, rtol):
    rng = np.random.default_rng(sum(shape))
    x = in_order(rng, shape, order, dtype)
    got, _ = assert_paths_agree(x, rng.standard_normal(shape), rtol)
    assert got[-1].planes.tiled == (kind == "tiled")


@needs_numba
@pytest.mark.parametrize("shape, order, kind", CASES, ids=IDS)
def test_eval_kernels_give_the_numpy_paths_bits(shape, order, kind):
    """Eval mode's out and x.grad are one multiply-add per element from the same (C,) vectors:
    the same bits; the parameters' gradients are sums (float64 in the kernels)."""
    rng = np.random.default_rng(sum(shape) + 1)
    x = in_order(rng, shape, order, np.float32)
    got, expected = assert_paths_agree(x, rng.standard_normal(shape), 2e-5, training=False)
    assert got[0].tobytes() == expected[0].tobytes()
    np.testing.assert_array_equal(got[1], expected[1])


@needs_numba
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_options_affine_and_running_statistics(training, affine):
    rng = np.random.default_rng(3)
    for shape, order, _ in (CASES[0], CASES[2], CASES[8]):
        x = in_order(rng, shape, order, np.float32)
        assert_paths_agree(x, rng.standard_normal(shape), 2e-5, training=training,
                           affine=affine)
        if training:  # track_running_stats=False: batch statistics, nothing updated
            assert_paths_agree(x, rng.standard_normal(shape), 2e-5, affine=affine,
                               running=False)


@needs_numba
def test_batch_of_one_in_eval_mode():
    rng = np.random.default_rng(4)
    for shape in ((1, 6), (1, 6, 1), (1, 3, 1, 1), (1, 3, 5, 5)):
        x = rng.standard_normal(shape).astype(np.float32)
        got, expected = assert_paths_agree(x, rng.standard_normal(shape), 2e-5, training=False)
        assert got[0].tobytes() == expected[0].tobytes()


@needs_numba
def test_float32_input_with_float64_parameters_keeps_numpys_promotion():
    """NumPy's out is float64 here; the kernels, one dtype each, leave those passes to NumPy."""
    rng = np.random.default_rng(5)
    x = in_order(rng, (6, 3, 5, 7), TOEPLITZ, np.float32)
    for training in (True, False):
        got, _ = assert_paths_agree(x, rng.standard_normal(x.shape), 2e-5, training=training,
                                    params_dtype=np.float64)
        assert got[0].dtype == np.float64


@needs_numba
def test_other_dtypes_and_a_broadcast_gradient():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True, dtype=np.float16)
    with compiled.use(True):
        out = ops.batch_norm(x, None, None, training=True)
    assert not out._ctx.planes.compiled and out.dtype == np.float16
    rng = np.random.default_rng(6)
    for on in (False, True):  # sum's gradient is a read-only broadcast of ones, read in place
        with compiled.use(on):
            leaf = Tensor(in_order(rng, (4, 3, 6, 5), TAPS, np.float32), requires_grad=True)
            weight = Tensor(np.full(3, 2.0), requires_grad=True)
            ops.batch_norm(leaf, None, None, weight, None, training=True).sum().backward()
        np.testing.assert_allclose(leaf.grad.data, 0, atol=1e-5)  # sum of xhat * w is constant
        np.testing.assert_allclose(weight.grad.data, 0, atol=1e-3)


@needs_numba
@pytest.mark.parametrize("shape, order", [((4, 3, 5, 3), TOEPLITZ), ((3, 2, 4, 5), TAPS),
                                          ((2, 2, 300), (0, 1, 2)), ((5, 4), (0, 1))])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_with_the_kernels(shape, order, training):
    rng = np.random.default_rng(7)
    x = in_order(rng, shape, order, np.float64)
    weight, bias = rng.uniform(0.5, 1.5, shape[1]), rng.uniform(-1, 1, shape[1])
    stats = np.stack([rng.uniform(-0.5, 0.5, shape[1]), rng.uniform(0.5, 2.0, shape[1])])
    seen = []

    def fn(t, w, b):
        out = ops.batch_norm(t, *stats.copy(), w, b, training=training)
        if out._ctx is not None:  # the finite differences run without a graph
            seen.append(out._ctx.planes.compiled)
        return out

    with compiled.use(True):
        assert gradcheck(fn, [Tensor(x, requires_grad=True, dtype=None), weight, bias])
    assert seen and all(seen)


# ----- the batch split: two slices meet in threads.all_sum between the kernels
def conv_bn_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(),
                         nn.Linear(16, 10))


def split_step(model: nn.Module, x: np.ndarray, y: np.ndarray, n: int, on: bool) -> tuple:
    tg.set_num_threads(n)
    with compiled.use(on):
        out = model(Tensor(x, dtype=None))
        cross_entropy(out, Tensor(y, dtype=None)).backward()
    return out


@pytest.fixture
def norm_kernel_slices(monkeypatch) -> list[int]:
    """The batch slices (threads.slice_of's index) that asked for the norm kernels."""
    seen: list[int] = []
    kernels = compiled.kernels

    def recorded(family: str):
        if family == "norm":
            seen.append(threads.slice_of()[1])
        return kernels(family)

    monkeypatch.setattr(compiled, "kernels", recorded)
    return seen


@needs_numba
@pytest.mark.parametrize("slices", ["processes", "threads"])
@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-4), ("float64", 1e-10)])
def test_split_in_two_equals_the_serial_step_on_both_paths(dtype, rtol, slices, monkeypatch,
                                                          norm_kernel_slices):
    """Slices after the first in a forked worker (Linux's default) or on a thread: each slice's
    kernels compute its partial sums, threads.all_sum adds them, the apply kernels follow."""
    monkeypatch.setenv("TINYGRAD_CNN_SLICES", slices)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((128, 1, 8, 8)).astype(dtype) * 2 + 1
    x[64:] -= 3  # each slice's own statistics differ from the batch's
    y = rng.integers(0, 10, 128)
    tg.manual_seed(0)
    base = conv_bn_model().to(getattr(tg, dtype))
    models = {(on, n): copy.deepcopy(base) for on in (False, True) for n in (1, 2)}
    outs = {}
    for (on, n), model in models.items():
        norm_kernel_slices.clear()
        outs[on, n] = split_step(model, x, y, n, on)
        if slices == "threads":  # each slice ran the kernels (a worker's calls are not seen)
            assert set(norm_kernel_slices) == (set(range(n)) if on else set())
    for on in (False, True):
        assert type(outs[on, 2]._ctx).__name__ == "JoinSlices"
    reference = models[False, 1]
    # relative to the largest |grad|: the conv's bias before batch norm has a zero gradient up
    # to rounding
    grad_scale = max(np.abs(q.grad.data).max() for q in reference.parameters())
    for key, model in models.items():
        scale = np.abs(outs[False, 1].data).max()
        np.testing.assert_allclose(outs[key].data, outs[False, 1].data, rtol=rtol,
                                   atol=rtol * scale, err_msg=str(key))
        for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
            np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=rtol,
                                       atol=rtol * grad_scale,
                                       err_msg=f"{key} {name}")
        for (name, b), (_, c) in zip(model.named_buffers(), reference.named_buffers()):
            np.testing.assert_allclose(b.data, c.data, rtol=rtol, atol=rtol, err_msg=name)
        assert int(model[1].num_batches_tracked.data) == 1
