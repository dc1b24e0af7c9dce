"""nn.Sequential's batch split across threads (nn/parallel.py, threads.py): the split step
against the serial one at tg.set_num_threads(1) (same initial weights), NumPy and float64
finite differences; batch norm's shared statistics; double backward, retain_graph, hooks, the
graph the viewer walks; the cases that must run serially; tg.set_num_threads itself."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import autograd, nn, threads
from tinygrad_cnn.nn import slice_workers
from tinygrad_cnn.nn.functional import cross_entropy
from tinygrad_cnn.profile import Profiler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


@pytest.fixture(autouse=True, params=["processes", "threads"])
def keep_num_threads(request, monkeypatch):
    """Every test twice: slices after the first in worker processes (Linux's default for a
    training batch) and on threads (elsewhere, and whenever x requires grad or under no_grad)."""
    monkeypatch.setenv("TINYGRAD_CNN_SLICES", request.param)
    before = tg.get_num_threads()
    yield
    tg.set_num_threads(before)


@pytest.fixture
def splits(monkeypatch) -> list[int]:
    """The slice counts of every threads.run_slices call (forward and backward) in the test."""
    calls: list[int] = []
    run_slices = threads.run_slices

    def counted(work, n, group=None):
        calls.append(n)
        return run_slices(work, n, group)

    monkeypatch.setattr(threads, "run_slices", counted)
    run_forward = slice_workers.run_forward

    def counted_forward(model, x, n, spans, members, early=None):  # in worker processes
        calls.append(n)
        return run_forward(model, x, n, spans, members, early)

    monkeypatch.setattr(slice_workers, "run_forward", counted_forward)
    run_branches = slice_workers.Split.run_branches

    def counted_branches(split, walk, retain_graph):  # slices in worker processes: backward
        calls.append(split.pool.n)
        return run_branches(split, walk, retain_graph)

    monkeypatch.setattr(slice_workers.Split, "run_branches", counted_branches)
    return calls


# ----- helpers ----------------------------------------------------------------------------------
def images(n: int, size: int = 28, seed: int = 0, dtype: str = "float32"
           ) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, size, size)).astype(dtype)
    return tg.Tensor(x, dtype=None), tg.Tensor(rng.integers(0, 10, n), dtype=None)


def small_bn() -> nn.Module:
    """A quick model with both batch norms, for 8 x 8 images."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 6 * 6, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 10),
    )


def twins(builder, seed: int = 0, dtype: str = "float32") -> tuple[nn.Module, nn.Module]:
    """The same initial weights twice: one model for the split step, one for the serial."""
    tg.manual_seed(seed)
    model = builder().to(getattr(tg, dtype))
    return model, copy.deepcopy(model)


def step(model: nn.Module, x: tg.Tensor, y: tg.Tensor, n: int) -> tuple[tg.Tensor, tg.Tensor]:
    """One forward and backward at n threads: (output, loss)."""
    tg.set_num_threads(n)
    out = model(x)
    loss = cross_entropy(out, y)
    loss.backward()
    return out, loss


def joined(out: tg.Tensor) -> bool:
    return type(out._ctx).__name__ == "JoinSlices"


def assert_close(actual, expected, rtol: float = 1e-5, what: str = "") -> None:
    """Equal up to float summation order: |actual - expected| <= rtol * max |expected|."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-12)
    error = float(np.abs(actual - expected).max(initial=0.0))
    assert error <= rtol * scale, f"{what}: max error {error:.3g}, scale {scale:.3g}"


def assert_same_state(split: nn.Module, serial: nn.Module, rtol: float = 1e-5) -> None:
    """Every parameter's .grad (relative to the largest |grad|: a bias before batch norm has a
    gradient of zero up to rounding) and every buffer (running statistics, counters) agree."""
    pairs = list(zip(split.named_parameters(), serial.named_parameters()))
    assert all(p.grad is not None and q.grad is not None for (_, p), (_, q) in pairs)
    scale = max(float(np.abs(q.grad.data).max()) for _, (_, q) in pairs)
    for (name, p), (_, q) in pairs:
        error = float(np.abs(p.grad.data - q.grad.data).max())
        assert error <= rtol * scale, f"{name}.grad: max error {error:.3g}, scale {scale:.3g}"
    for (name, b), (_, c) in zip(split.named_buffers(), serial.named_buffers()):
        if name.endswith("num_batches_tracked"):
            assert int(b.data) == int(c.data), name
        else:
            assert_close(b.data, c.data, rtol, name)


def numeric_grad(loss_of, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of loss_of() w.r.t. array, perturbed in place (float64)."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        keep = array[i]
        array[i] = keep + eps
        up = loss_of()
        array[i] = keep - eps
        down = loss_of()
        array[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


# ----- 1. the MNIST models: split step == serial step --------------------------------------------
# `best` in float64: in float32 its batch norm's sums, added in another order, move values by
# rounding, and a value at ReLU's kink or a near-tie in max pooling may then switch its gradient
# (up to 1e-2 of the largest |grad| over 20 random initialisations; 6e-15 in float64).
@pytest.mark.parametrize("builder, batch, n, dtype", [
    (mnist.lenet, 128, 2, "float32"), (mnist.lenet, 129, 2, "float32"),
    (mnist.lenet, 200, 3, "float32"), (mnist.best_model, 128, 2, "float64"),
    (mnist.best_model, 129, 2, "float64"), (mnist.best_model, 200, 3, "float64"),
])
def test_split_step_equals_serial_step(builder, batch, n, dtype):
    split, serial = twins(builder, dtype=dtype)
    x, y = images(batch, dtype=dtype)
    out, loss = step(split, x, y, n)
    ref_out, ref_loss = step(serial, x, y, 1)
    assert joined(out) and len(out._ctx.parents) == n
    assert not joined(ref_out)
    assert [p.shape[0] for p in out._ctx.parents] == [b - a for a, b in threads.bounds(batch, n)]
    assert out.dtype == getattr(tg, dtype)
    assert_close(out.data, ref_out.data, 1e-5, "output")
    assert abs(float(loss.data) - float(ref_loss.data)) <= 1e-5 * abs(float(ref_loss.data))
    assert_same_state(split, serial)


def test_sgd_momentum_steps_stay_equal():
    split, serial = twins(mnist.best_model, seed=1, dtype="float64")
    x, y = images(128, seed=1, dtype="float64")
    opts = [tg.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (split, serial)]
    for _ in range(3):
        for model, opt, n in zip((split, serial), opts, (2, 1)):
            opt.zero_grad()
            step(model, x, y, n)
            opt.step()
    for (name, p), (_, q) in zip(split.named_parameters(), serial.named_parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=0, atol=1e-10, err_msg=name)
    for (name, b), (_, c) in zip(split.named_buffers(), serial.named_buffers()):
        np.testing.assert_allclose(b.data, c.data, rtol=1e-6, atol=1e-7, err_msg=name)
    assert int(split[1].num_batches_tracked.data) == 3


def test_batch_statistics_are_the_whole_batch_against_numpy():
    """Batch norm in the split normalises with the whole batch's mean and (biased) variance."""
    tg.set_num_threads(2)
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(bn)
    x = np.random.default_rng(2).standard_normal((128, 3)).astype(np.float32) * 3 + 1
    x[64:] += 5  # the two slices' own statistics differ from the batch's
    out = model(tg.Tensor(x))
    assert joined(out)
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.eps)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)


# ----- 2. batch norm: cumulative average, eval mode -----------------------------------------------
def test_batch_norm_cumulative_average_under_split():
    def builder():
        return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8, momentum=None), nn.ReLU(),
                             nn.Linear(8, 3))

    split, serial = twins(builder, dtype="float64")
    rng = np.random.default_rng(3)
    for batch in (128, 150, 200):
        x = tg.Tensor(rng.standard_normal((batch, 6)), dtype=None)
        y = tg.Tensor(rng.integers(0, 3, batch), dtype=None)
        out, _ = step(split, x, y, 2)
        step(serial, x, y, 1)
        assert joined(out)
    assert int(split[1].num_batches_tracked.data) == 3
    assert_same_state(split, serial)


def test_eval_mode_split_equals_serial(splits):
    split, serial = twins(small_bn, dtype="float64")
    x, y = images(128, size=8, dtype="float64")
    step(split, x, y, 2)  # running statistics that are not the initial ones
    step(serial, x, y, 1)
    split.eval(), serial.eval()
    for m in (split, serial):
        m.zero_grad()
    x, y = images(130, size=8, seed=4, dtype="float64")
    splits.clear()
    out, _ = step(split, x, y, 2)
    ref_out, _ = step(serial, x, y, 1)
    assert joined(out) and splits == [2, 2]  # forward and backward
    assert_close(out.data, ref_out.data, 1e-5, "output")
    assert_same_state(split, serial)


# ----- 3. an input that requires grad ----------------------------------------------------------
def test_input_grad_equals_serial():
    split, serial = twins(small_bn, dtype="float64")
    data, y = images(160, size=8, dtype="float64")
    x1, x2 = (tg.Tensor(data.data.copy(), requires_grad=True, dtype=None) for _ in range(2))
    out, _ = step(split, x1, y, 2)
    step(serial, x2, y, 1)
    assert joined(out)
    assert_close(x1.grad.data, x2.grad.data, 1e-10, "x.grad")
    assert_same_state(split, serial, 1e-10)


# ----- 4. float64 finite differences on the split path ------------------------------------------
def mlp64(batch_norm: bool = False) -> nn.Module:
    tg.manual_seed(5)
    layers = [nn.Linear(3, 4)] + ([nn.BatchNorm1d(4)] if batch_norm else []) + [
        nn.Tanh(), nn.Linear(4, 2)]
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("batch_norm", [False, True], ids=["mlp", "batch_norm"])
def test_gradcheck_through_the_split(batch_norm):
    tg.set_num_threads(2)
    model = mlp64(batch_norm)
    seen = []

    def fn(x):
        out = model(x)
        seen.append(joined(out))
        return out

    x = np.random.default_rng(6).standard_normal((128, 3))
    assert tg.gradcheck(fn, [tg.Tensor(x, requires_grad=True, dtype=None)])
    assert seen and all(seen)
    with tg.no_grad():  # and the function checked is the serial one
        split = model(tg.Tensor(x, dtype=None)).data
        tg.set_num_threads(1)
        np.testing.assert_allclose(split, model(tg.Tensor(x, dtype=None)).data, rtol=1e-12)


def test_parameter_grads_against_finite_differences():
    tg.set_num_threads(2)
    model = mlp64(batch_norm=True)
    rng = np.random.default_rng(7)
    x = tg.Tensor(rng.standard_normal((128, 3)), dtype=None)
    probe = rng.standard_normal((128, 2))

    def loss_of() -> float:
        with tg.no_grad():
            return float((model(x).data * probe).sum())

    out = model(x)
    assert joined(out) and out.dtype == tg.float64
    (out * tg.Tensor(probe, dtype=None)).sum().backward()
    for name, p in model.named_parameters():
        expected = numeric_grad(loss_of, p.data)
        np.testing.assert_allclose(p.grad.data, expected, rtol=1e-6, atol=1e-8, err_msg=name)


# ----- 5. create_graph ----------------------------------------------------------------------------
def gradient_penalty(model: nn.Module, data: np.ndarray, n: int) -> tuple[tg.Tensor, tg.Tensor]:
    """d/dparams of sum((d sum(model(x)) / dx) ** 2), at n threads: (output, grad_x)."""
    tg.set_num_threads(n)
    x = tg.Tensor(data, requires_grad=True, dtype=None)
    out = model(x)
    (grad_x,) = tg.autograd.grad(out.sum(), [x], create_graph=True)
    (grad_x * grad_x).sum().backward()
    return out, grad_x


def test_double_backward_equals_serial():
    split = mlp64()
    serial = copy.deepcopy(split)
    data = np.random.default_rng(8).standard_normal((140, 3))
    out, grad_x = gradient_penalty(split, data, 2)
    ref_out, ref_grad_x = gradient_penalty(serial, data, 1)
    assert joined(out) and not joined(ref_out)
    np.testing.assert_allclose(grad_x.data, ref_grad_x.data, rtol=1e-12, atol=1e-14)
    for (name, p), (_, q) in zip(split.named_parameters(), serial.named_parameters()):
        if q.grad is None:  # the last bias: grad_x does not depend on it
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-10, atol=1e-12, err_msg=name)
    assert split[0].weight.grad is not None


def test_double_backward_through_split_batch_norm_raises():
    tg.set_num_threads(2)
    model = small_bn()
    x = tg.Tensor(images(128, size=8)[0].data, requires_grad=True)
    out = model(x)
    assert joined(out)
    with pytest.raises(RuntimeError, match=r"set_num_threads\(1\)"):
        tg.autograd.grad(out.sum(), [x], create_graph=True)


def test_double_backward_through_batch_norm_at_one_thread_works():
    tg.set_num_threads(1)
    model = small_bn()
    x = tg.Tensor(images(128, size=8)[0].data, requires_grad=True)
    (grad_x,) = tg.autograd.grad(model(x).sum(), [x], create_graph=True)
    (grad_x * grad_x).sum().backward()
    assert model[0].weight.grad is not None


# ----- 6. retain_graph ----------------------------------------------------------------------------
def test_retain_graph_second_backward_doubles_grads():
    tg.set_num_threads(2)
    model = small_bn()
    x, y = images(128, size=8)
    out = model(x)
    loss = cross_entropy(out, y)
    assert joined(out)
    loss.backward(retain_graph=True)
    first = [p.grad.data.copy() for p in model.parameters()]
    loss.backward()
    for g, p in zip(first, model.parameters()):
        np.testing.assert_allclose(p.grad.data, 2 * g, rtol=1e-6, atol=1e-9)


def test_second_backward_without_retain_graph_raises():
    tg.set_num_threads(2)
    model = small_bn()
    x, y = images(128, size=8)
    loss = cross_entropy(model(x), y)
    loss.backward()
    with pytest.raises(RuntimeError, match="a second time"):
        loss.backward()


# ----- 7. inference -------------------------------------------------------------------------------
@pytest.mark.parametrize("builder", [mnist.lenet, mnist.best_model])
def test_no_grad_split_equals_serial(builder, splits):
    model = builder()
    x, _ = images(150)
    tg.set_num_threads(1)
    with tg.no_grad():
        expected = model(x).data
    tg.set_num_threads(2)
    with tg.no_grad():
        out = model(x)
    assert splits == [2] and out._ctx is None
    assert_close(out.data, expected, 1e-5, "output")


def test_eval_model_with_grad_split_equals_serial():
    model = mnist.best_model().eval()
    x, _ = images(128)
    tg.set_num_threads(1)
    expected = model(x)
    tg.set_num_threads(2)
    out = model(x)
    assert joined(out) and not joined(expected)
    assert_close(out.data, expected.data, 1e-5, "output")


# ----- 8. what runs serially ----------------------------------------------------------------------
class Doubled(nn.Module):
    def forward(self, x):
        return x * 2


class Observer:
    def __init__(self):
        self.ops = 0

    def on_forward(self, ctx, out, seconds):
        self.ops += 1

    def on_backward(self, ctx, grads, seconds):
        pass


def plain() -> nn.Module:
    tg.manual_seed(9)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def unsplit_case(case: str):
    """(model, x, n threads, context) for a forward that must run serially."""
    model, n = plain(), 2
    x = tg.Tensor(np.random.default_rng(10).standard_normal((128, 4)).astype(np.float32))
    context = None
    if case == "small batch":
        x = x[:127].detach()
    elif case == "one thread":
        n = 1
    elif case == "forward hook":
        model[1].register_forward_hook(lambda module, args, out: None)
    elif case == "dropout":
        model = nn.Sequential(model[0], nn.Dropout(0.5), model[1], model[2])
    elif case == "custom module":
        model = nn.Sequential(model[0], Doubled(), model[1], model[2])
    elif case == "observer":
        context = Observer()
    elif case == "profiler":
        context = Profiler(model)
    elif case == "input with history":
        a = tg.Tensor(x.data / 2, requires_grad=True)
        x = a * 2
    return model, x, n, context


CASES = ["small batch", "one thread", "forward hook", "dropout", "custom module", "observer",
         "profiler", "input with history"]


@pytest.mark.parametrize("case", CASES)
def test_runs_serially(case, splits):
    model, x, n, observer = unsplit_case(case)
    tg.set_num_threads(n)
    if isinstance(observer, Profiler):
        with observer:
            out = model(x)
            out.sum().backward()
        assert "Linear" in observer.table()
    elif observer is not None:
        with autograd.observe(observer):
            out = model(x)
            out.sum().backward()
        assert observer.ops > 0
    else:
        out = model(x)
        out.sum().backward()
    assert splits == [] and not joined(out)
    if case != "dropout":  # random masks: no second run to compare with
        with tg.no_grad():
            tg.set_num_threads(1)
            np.testing.assert_array_equal(out.data, model(x).data)


def test_dropout_splits_when_it_does_nothing(splits):
    tg.set_num_threads(2)
    x = tg.Tensor(np.ones((128, 4), np.float32))
    assert joined(nn.Sequential(nn.Dropout(0.0), nn.Linear(4, 2))(x))
    assert joined(nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 2)).eval()(x))
    assert splits == [2, 2]


def test_nested_sequential_splits_once():
    tg.set_num_threads(2)
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 2))
    out = model(tg.Tensor(np.ones((128, 4), np.float32)))
    joins = [n for n in autograd.toposort(out) if joined(n)]
    assert len(joins) == 1


# ----- 9. an exception in a slice -----------------------------------------------------------------
def test_error_in_slices_raises_and_next_step_works():
    tg.set_num_threads(2)
    x, y = images(128, size=8)
    broken = nn.Sequential(nn.Flatten(), nn.Linear(63, 10))
    with pytest.raises(ValueError, match="in_features=63"):
        broken(x)
    split, serial = twins(small_bn, dtype="float64")
    x = tg.Tensor(x.data, dtype=tg.float64)
    out, _ = step(split, x, y, 2)
    step(serial, x, y, 1)
    assert joined(out)
    assert_same_state(split, serial, 1e-10)


def test_error_in_slices_has_the_serial_message():
    x = images(128, size=8)[0]
    broken = nn.Sequential(nn.Flatten(), nn.Linear(63, 10))
    messages = []
    for n in (1, 2):
        tg.set_num_threads(n)
        with pytest.raises(ValueError) as error:
            broken(x)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def embedding_bn() -> nn.Module:
    return nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.BatchNorm1d(4), nn.Linear(4, 2))


def within(seconds: float, fn):
    """fn() on a daemon thread; fails instead of hanging when it is not done in time."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as error:  # noqa: BLE001 (re-raised on the test's thread)
            result["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s (a slice never released?)"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_error_in_one_slice_releases_the_others():
    """Slice 1 fails before batch norm; slice 0 waits in all_sum until the failure frees it."""
    model = embedding_bn()
    bad = tg.Tensor(np.zeros((128, 1), np.int64), dtype=None)
    bad.data[100] = 99  # out of range, in slice 1 only
    messages = []
    for n in (1, 2, 2):
        tg.set_num_threads(n)
        with pytest.raises(IndexError, match="index 99 is out of range") as error:
            within(30, lambda: model(bad))
        messages.append(str(error.value))
    assert len(set(messages)) == 1
    good = tg.Tensor(np.arange(128).reshape(128, 1) % 10, dtype=None)
    out = within(30, lambda: model(good))
    out.sum().backward()
    assert joined(out) and model[0].weight.grad is not None


def test_failed_split_step_leaves_batch_norm_as_serial():
    bad = np.zeros((128, 1), np.int64)
    bad[100] = 99
    split, serial = twins(embedding_bn)
    for model, n in ((split, 2), (serial, 1)):
        tg.set_num_threads(n)
        with pytest.raises(IndexError):
            model(tg.Tensor(bad, dtype=None))
    assert int(split[2].num_batches_tracked.data) == int(serial[2].num_batches_tracked.data)


# ----- 10. set_num_threads / get_num_threads --------------------------------------------------
@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_rejects(n):
    before = tg.get_num_threads()
    with pytest.raises(ValueError, match="positive integer"):
        tg.set_num_threads(n)
    assert tg.get_num_threads() == before


def test_set_num_threads_sets():
    tg.set_num_threads(3)
    assert tg.get_num_threads() == 3


@pytest.mark.parametrize("value", ["3", "abc", "0", ""])
def test_num_threads_from_omp_num_threads(value):
    code = ("import os, tinygrad_cnn as tg; "
            "print(tg.get_num_threads(), len(os.sched_getaffinity(0)))")
    env = dict(os.environ, OMP_NUM_THREADS=value)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, timeout=60)
    got, cpus = (int(word) for word in result.stdout.split())
    assert got == (3 if value == "3" else cpus)


# ----- 11. determinism --------------------------------------------------------------------------
def test_two_split_runs_are_bitwise_equal():
    a, b = twins(mnist.best_model, seed=11)
    x, y = images(200, seed=11)
    (out_a, loss_a), (_, loss_b) = step(a, x, y, 3), step(b, x, y, 3)
    assert joined(out_a)
    assert float(loss_a.data) == float(loss_b.data)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.grad.data, q.grad.data)
    for p, q in zip(a.buffers(), b.buffers()):
        np.testing.assert_array_equal(p.data, q.data)


# ----- 12. parameter hooks ------------------------------------------------------------------------
def test_parameter_hook_runs_once_with_the_whole_gradient():
    split, serial = twins(mnist.lenet)
    x, y = images(128)
    seen: dict[str, list] = {"weight": [], "bias": []}
    split[0].weight.register_hook(lambda g: seen["weight"].append(g.data.copy()))
    split[-1].bias.register_hook(lambda g: seen["bias"].append(g.data.copy()))
    out, _ = step(split, x, y, 2)
    step(serial, x, y, 1)
    assert joined(out) and [len(g) for g in seen.values()] == [1, 1]
    assert_close(seen["weight"][0], serial[0].weight.grad.data, 1e-5, "conv weight")
    assert_close(seen["bias"][0], serial[-1].bias.grad.data, 1e-5, "last bias")
    step(split, x, y, 2)
    assert [len(g) for g in seen.values()] == [2, 2]


def test_tensor_hook_doubling_the_gradient_applies_once():
    split, serial = twins(small_bn, dtype="float64")
    x, y = images(128, size=8, dtype="float64")
    split[0].weight.register_hook(lambda g: g * 2)
    step(split, x, y, 2)
    step(serial, x, y, 1)
    assert_close(split[0].weight.grad.data, 2 * serial[0].weight.grad.data, 1e-10, "weight")


# ----- 13. the graph the viewer walks -------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
def test_toposort_sees_each_slices_ops(n):
    model = mnist.lenet()
    x, y = images(200)
    tg.set_num_threads(n)
    loss = cross_entropy(model(x), y)
    kinds = [type(node._ctx).__name__ for node in autograd.toposort(loss) if node._ctx]
    remote = kinds.count("RemoteSlice")  # a slice in a worker process: one node here
    assert remote == (n - 1 if slice_workers.enabled() else 0)
    assert kinds.count("Conv2d") == 2 * (n - remote)
    assert kinds.count("Linear") == 3 * (n - remote)
    assert kinds.count("JoinSlices") == (n > 1)
