"""Speed paths give the plain path's numbers: Normalize's arithmetic, the loader's batches, the
`fast` recipe, and inference under no_grad."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.data import DataLoader, Normalize
from tinygrad_cnn.ops import compiled

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


def reference_normalize(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The formula in float64, rounded once to float32."""
    return ((x.astype(np.float64) / 255.0 - mean) / std).astype(np.float32)


@pytest.mark.parametrize("compiled_tier", [False, pytest.param(True, marks=pytest.mark.skipif(
    not compiled.available(), reason="numba is not installed"))], ids=["numpy", "compiled"])
@pytest.mark.parametrize("mean, std", [(0.1307, 0.3081), (0.2860, 0.3530), (0.5, 0.5), (0, 1),
                                       (0.9, 0.07)])
def test_normalize_equals_the_float64_formula_for_every_pixel_value(mean, std, compiled_tier):
    """Both paths: NumPy's float64 passes and the compiled tier's one loop (ops/compiled.py's
    "data" family), on a C-contiguous batch and on a strided view of one."""
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)
    with compiled.use(compiled_tier):
        out = Normalize(mean, std)(pixels)
        strided = Normalize(mean, std)(pixels.transpose(0, 1, 3, 2)[::2])
    assert out.dtype == np.float32 and out.shape == pixels.shape
    np.testing.assert_array_equal(out, reference_normalize(pixels, mean, std))
    expected = reference_normalize(pixels.transpose(0, 1, 3, 2)[::2], mean, std)
    assert strided.shape == expected.shape
    np.testing.assert_array_equal(strided, expected)
    with compiled.use(compiled_tier):  # one pixel, as a NumPy scalar and a 0-d array
        for pixel in (np.uint8(200), np.array(200, np.uint8)):
            one = Normalize(mean, std)(pixel)
            assert isinstance(one, np.ndarray) and one.shape == () and one.dtype == np.float32
            assert one == reference_normalize(np.array(200, np.uint8), mean, std)


def test_loader_batches_equal_gathering_by_hand():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 70)
    loader = DataLoader(images, labels, 16, shuffle=True, seed=3, transform=Normalize())
    order = loader.order(loader.epoch)  # the epoch the loop below runs
    batches = list(loader)  # held all at once: none may be overwritten by a later one
    for index, (x, y) in enumerate(batches):
        rows = order[index * 16:(index + 1) * 16]
        np.testing.assert_array_equal(x.data, reference_normalize(images[rows, None],
                                                                  0.1307, 0.3081))
        np.testing.assert_array_equal(y.data, labels[rows])


def test_fast_recipe_is_one_epoch_and_reproducible():
    assert mnist.RECIPES["fast"]["epochs"] == 1
    assert mnist.TARGETS["mnist"]["fast"] == 0.99
    outputs = []
    for _ in range(2):
        tg.manual_seed(5)
        model = mnist.MODELS["fast"]()
        opt = tg.optim.Adam(model.parameters(), lr=1e-2)
        x = tg.Tensor(np.random.default_rng(1).standard_normal((8, 1, 28, 28), np.float32))
        y = tg.Tensor(np.arange(8) % 10, dtype=None)
        mnist.train_step(model, opt, None, x, y)
        outputs.append(model(x).data)
    assert outputs[0].shape == (8, 10)
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("name", ["seed", "lenet", "best", "fast"])
def test_inference_under_no_grad_equals_the_recorded_forward(name):
    tg.manual_seed(0)
    model = mnist.MODELS[name]()
    model.eval()
    x = tg.Tensor(np.random.default_rng(2).standard_normal((6, 1, 28, 28), np.float32))
    recorded = model(x)
    with tg.no_grad():
        plain = model(x)
    assert recorded._ctx is not None and plain._ctx is None  # nothing recorded
    np.testing.assert_array_equal(plain.data, recorded.data)


def first_max_pool_2x2(x: np.ndarray, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Naive 2x2 max-pool and its gradient: g goes to the window's first maximum (row-major)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h // 2, w // 2), x.dtype)
    grad_x = np.zeros_like(x)
    for i, j, a, b in np.ndindex(out.shape):
        window = x[i, j, 2 * a:2 * a + 2, 2 * b:2 * b + 2].ravel()
        k = int(np.argmax(window))
        out[i, j, a, b] = window[k]
        grad_x[i, j, 2 * a + k // 2, 2 * b + k % 2] += grad_out[i, j, a, b]
    return out, grad_x


@pytest.mark.parametrize("shape", [(3, 4, 6, 8), (2, 1, 5, 7), (4, 2, 2, 2)])
def test_max_pool_2x2_in_every_memory_order_equals_the_naive_loop(shape):
    """The memory-order fast path (W innermost) and the fallback, with many ties (rounded
    values), as after ReLU."""
    rng = np.random.default_rng(sum(shape))
    base = np.round(rng.standard_normal(shape)).astype(np.float32)
    grad_out = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
    grad_out = grad_out.astype(np.float32)
    want_out, want_grad = first_max_pool_2x2(base, grad_out)
    for perm in itertools.permutations(range(4)):
        x = np.ascontiguousarray(base.transpose(perm)).transpose(np.argsort(perm))
        leaf = tg.Tensor(x, requires_grad=True)
        out = tg.ops.max_pool2d(leaf, 2)
        out.backward(grad_out)
        np.testing.assert_array_equal(out.data, want_out, err_msg=f"memory order {perm}")
        np.testing.assert_array_equal(leaf.grad.data, want_grad, err_msg=f"memory order {perm}")


def test_the_user_loop_benchmark_times_the_programs_models(monkeypatch):
    """benchmarks/user_loop.py writes its models out as a user would; they must stay the models
    models/mnist.py trains, layer for layer and parameter shape for parameter shape."""
    import importlib

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")  # the script sets them at import; restored afterwards
    monkeypatch.setattr(sys, "argv", ["user_loop.py", "--case", "lenet_step"])
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    user_loop = importlib.import_module("user_loop")
    for name, (build, _) in user_loop.MODELS.items():
        ours, program = build(), mnist.MODELS[name]()
        assert [type(m).__name__ for m in ours.modules()] == \
            [type(m).__name__ for m in program.modules()], name
        assert {k: v.shape for k, v in ours.state_dict().items()} == \
            {k: v.shape for k, v in program.state_dict().items()}, name
