"""Memory of backward: what recorded ops keep for backward, counted per op and per layer with
views once, checked against an independent count of the graph's arrays (LeNet at batch 128, in
the tool, the profiler and nn.summary), and the peak during backward against tracemalloc."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.array_utils import byte_bounds
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, autograd, engine, nn
from tinygrad_cnn.engine import Function
from tinygrad_cnn.nn.saved_bytes import count_bytes, owner, saved_arrays, saved_bytes
from tinygrad_cnn.ops import compiled
from tinygrad_cnn.profile import NO_MODULE, Profiler
from tinygrad_cnn.saved_memory import BackwardPeak, backward_memory, saved_for_backward

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


# ----- an independent count: byte ranges of the arrays each ctx holds, merged -------------------
def held_by(ctx: Function) -> list[np.ndarray]:
    """The arrays in ctx._saved and the ndarray attributes of ctx, read directly."""
    saved = [a for a in (ctx._saved or ()) if isinstance(a, np.ndarray)]
    return saved + [v for v in vars(ctx).values() if isinstance(v, np.ndarray)]


def union_bytes(arrays: list[np.ndarray]) -> int:
    """Bytes of memory the arrays span together: their byte ranges merged, so a view inside
    another array adds nothing."""
    spans = sorted(byte_bounds(a) for a in arrays if a.nbytes)
    total, end = 0, 0
    for low, high in spans:
        if high > end:
            total += high - max(low, end)
            end = high
    return total


def independent_count(loss: Tensor, model: nn.Module) -> tuple[dict[str, int], int]:
    """Per layer ('0 (Conv2d)', ...) and in total, walking the graph with engine.toposort."""
    titles = {id(m): f"{name} ({type(m).__name__})" for name, m in model.named_modules() if name}
    layers: dict[str, list[np.ndarray]] = {}
    for node in engine.toposort(loss):
        if node._ctx is not None:
            title = titles.get(id(node._ctx.module), NO_MODULE)
            layers.setdefault(title, []).extend(held_by(node._ctx))
    everything = [a for arrays in layers.values() for a in arrays]
    return {t: union_bytes(arrays) for t, arrays in layers.items()}, union_bytes(everything)


def lenet_step(batch: int = 128) -> tuple[nn.Module, Tensor, Tensor]:
    tg.manual_seed(0)
    model = mnist.lenet()
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    y = Tensor(rng.integers(0, 10, batch), dtype=None)
    return model, x, y


# ----- acceptance: LeNet at batch 128 ------------------------------------------------------------
def test_lenet_batch_128_saved_bytes_agree_in_the_tool_the_profiler_and_summary():
    model, x, y = lenet_step(128)
    with Profiler(model, batch_size=128) as prof:
        loss = tg.ops.cross_entropy(model(x), y)
        expected, expected_total = independent_count(loss, model)
        memory = backward_memory(loss, model)
    assert dict(memory.layers) == expected
    assert memory.total_bytes == expected_total
    # ReLU keeps its output, which the max-pool after it keeps too: once in the total
    assert expected["1 (ReLU)"] == 128 * 6 * 24 * 24 * 4
    assert expected_total < sum(expected.values())
    assert sum(op.saved_bytes for op in memory.ops) == sum(expected.values())  # one op a layer

    rows = {r["name"]: r for r in prof.rows("module")}
    assert {name: rows[name]["saved_bytes"] for name in expected} == expected
    table = prof.table("module").splitlines()
    for name, nbytes in expected.items():
        line = next(line for line in table if line.startswith(name + " "))
        assert line.endswith(f"{nbytes / 1e6:.3f}")

    result = nn.summary(model, (1, 1, 28, 28), batch_size=128, verbose=False)
    from_summary = {f"{r.name} ({r.type})": r.saved_bytes for r in result.rows}
    assert from_summary == {k: v for k, v in expected.items() if k != NO_MODULE}
    assert result.saved_bytes == expected_total - expected[NO_MODULE]  # no loss in summary
    printed = str(result)
    assert "Saved for bwd (batch 128)" in printed and f"{expected['0 (Conv2d)']:,}" in printed


def test_summary_grad_pass_restores_modes_buffers_and_the_random_generator():
    tg.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.Flatten(),
                        nn.Linear(2 * 4 * 4, 3))
    net.eval()
    before = [b.data.copy() for b in net.buffers()]
    state = tg.rng.get_rng_state()
    result = nn.summary(net, (1, 1, 6, 6), batch_size=8, verbose=False)
    assert [m.training for m in net.modules()] == [False] * 6
    for buffer, old in zip(net.buffers(), before):
        np.testing.assert_array_equal(buffer.data, old)
    np.testing.assert_array_equal(tg.rng.get_rng_state(), state)
    dropout = next(r for r in result.rows if r.type == "Dropout")
    assert dropout.saved_bytes == 8 * 2 * 4 * 4 * 4  # trained mode: the mask is kept
    assert nn.summary(net, (1, 1, 6, 6), verbose=False).batch_size is None  # opt-in column


# ----- views counted once ----------------------------------------------------------------------
class SavesViews(Function):
    """out = 2 x; keeps x and four views of it, one as an attribute."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, x.T, x.reshape(-1), x[:, 1:])
        ctx.windows = sliding_window_view(x, (2, 2))
        return 2 * x

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return 2 * grad_out


def test_an_op_that_saves_views_of_its_input_counts_it_once():
    x = Tensor(np.ones((4, 5), dtype=np.float32), requires_grad=True)
    loss = SavesViews.apply(x).sum()
    ctx = loss._ctx.parents[0]._ctx
    assert len(saved_arrays(ctx)) == 5 and saved_bytes(ctx) == x.data.nbytes == 80
    assert sum(a.nbytes for a in saved_arrays(ctx)) > 80  # what a naive sum would say
    memory = saved_for_backward(loss)
    assert [(op.name, op.saved_bytes) for op in memory.ops] == [("SavesViews", 80), ("Sum", 0)]


def test_a_view_kept_by_the_next_layer_counts_once_in_the_total():
    x = Tensor(np.ones((2, 3, 8, 8), dtype=np.float32), requires_grad=True)
    relu, pool = nn.ReLU(), nn.MaxPool2d(2)
    model = nn.Sequential(relu, pool)
    with compiled.use(False):  # the NumPy pool keeps a view of its input
        loss = model(x).sum()
    layers = dict(saved_for_backward(loss, model).layers)
    out_bytes, width_max = 2 * 3 * 8 * 8 * 4, 2 * 3 * 4 * 2 * 4 * 4
    assert layers["0 (ReLU)"] == out_bytes  # ReLU keeps its output
    assert layers["1 (MaxPool2d)"] == out_bytes + width_max  # a view of that output, and maxima
    assert saved_for_backward(loss, model).total_bytes == out_bytes + width_max


def test_the_compiled_pool_keeps_one_byte_per_window():
    pytest.importorskip("numba")
    x = Tensor(np.ones((2, 3, 8, 8), dtype=np.float32), requires_grad=True)
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    with compiled.use(True):
        loss = model(x).sum()
    layers = dict(saved_for_backward(loss, model).layers)
    assert layers["1 (MaxPool2d)"] == 2 * 3 * 4 * 4  # the uint8 index of each window's winner


def test_owner_walks_every_kind_of_view_to_the_buffer():
    x = np.arange(24, dtype=np.float64).reshape(4, 6)  # itself a view of arange's buffer
    base = x.base
    views = [x, x.T, x[1:, ::2], x.reshape(-1), as_strided(x, (2, 2), (8, 8)),
             sliding_window_view(x, (2, 3)), x.view(np.int64)]
    assert all(owner(v) is base for v in views)
    assert count_bytes(views) == base.nbytes == 192
    assert count_bytes([x, x.copy()]) == 2 * 192


class KeepsAttributes(Function):
    """out = x; keeps arrays as attributes, in containers, and a None among its saved."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(None, x > 0)
        ctx.index = (slice(None), np.arange(3))
        ctx.table = {"scale": np.float32(2.0), "weights": np.ones(5, np.float32)}
        return x.copy()

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


def test_attributes_and_containers_count_and_parents_do_not():
    x = Tensor(np.ones((10, 3), dtype=np.float32), requires_grad=True)
    y = KeepsAttributes.apply(x)
    # the mask (30 bools), the index (3 int64), the weights (5 float32); not x, a parent
    assert saved_bytes(y._ctx) == 30 + 3 * 8 + 5 * 4


# ----- the peak during backward ----------------------------------------------------------------
class KeepsACopy(Function):
    """out = x + 1; keeps an array of x's size that nothing else holds."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(np.full_like(x, 3.0))
        return x + 1

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.copy()


class Square(Function):
    """out = x^2; keeps x (a value of the graph)."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return 2 * x * grad_out


class SumAll(Function):
    """out = sum x; keeps nothing."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.shape = x.shape
        return np.asarray(x.sum())

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return np.full(ctx.shape, grad_out)


def test_peak_during_backward_counted_by_hand():
    # values x, a, b (4000 bytes each) and the loss (4); KeepsACopy's array (4000); the seed (4)
    x = Tensor(np.ones(1000, dtype=np.float32), requires_grad=True)
    loss = SumAll.apply(Square.apply(KeepsACopy.apply(x)))
    memory = backward_memory(loss)
    assert memory.total_bytes == 4000 + 4000 and memory.graph_bytes == 4 * 4000 + 4
    # at Square: values + the copy + seed + d/db (running) + d/da (returned)
    assert memory.peak_bytes == 12_004 + 4000 + 4 + 4000 + 4000 and memory.peak_at.startswith(
        "Square")
    assert memory.end_bytes == 12_004 + 4000  # the values and x.grad; the copy was freed
    loss = SumAll.apply(Square.apply(KeepsACopy.apply(x)))
    again = backward_memory(loss)  # x.grad from before is alive, then replaced by the sum
    assert again.peak_bytes == memory.peak_bytes + 4000 and again.end_bytes == memory.end_bytes
    x.grad = None
    loss = SumAll.apply(Square.apply(KeepsACopy.apply(x)))
    assert backward_memory(loss, retain_graph=True).end_bytes == 12_004 + 4000 + 4000


def test_peak_follows_the_memory_numpy_really_holds():
    # tracemalloc sees every NumPy buffer: the change in bytes alive from the start of backward
    # to each op's backward agrees with the model, up to Python's own small objects. The model
    # is the serial walk's order: one thread (a batch split walks its slices at once)
    model, x, y = lenet_step(128)
    threads = tg.get_num_threads()
    tg.set_num_threads(1)
    tracemalloc.start()
    try:
        loss = tg.ops.cross_entropy(model(x), y)
        saved = saved_for_backward(loss, model)
        peak = BackwardPeak(loss, model)
        real: list[int] = []

        class Real:
            def on_forward(self, *args: object) -> None:
                pass

            def on_backward(self, *args: object) -> None:
                real.append(tracemalloc.get_traced_memory()[0])

        start = tracemalloc.get_traced_memory()[0]
        with peak, autograd.observe(Real()):
            loss.backward()
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        tg.set_num_threads(threads)
    modelled = [(at, live) for at, live in peak.timeline if " in " in at]  # "ReLU in 1 (ReLU)"
    assert len(modelled) == len(real) == 13
    for (at, live), really in zip(modelled, real):
        assert abs((live - peak.start_bytes) - (really - start)) < 32 * 1024, at
    assert abs((peak.live - peak.start_bytes) - (end - start)) < 32 * 1024
    assert peak.start_bytes == saved.graph_bytes + 4  # and the seed
    assert peak.peak_bytes > peak.start_bytes


def test_wrong_inputs_are_named():
    import numpy as np
    import pytest

    import tinygrad_cnn as tg
    from tinygrad_cnn.saved_memory import saved_for_backward

    with pytest.raises(TypeError, match="saved_for_backward: loss must be a Tensor.*ndarray"):
        saved_for_backward(np.ones(3))
    model = tg.nn.Sequential(tg.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="summary: batch_size must be >= 1"):
        tg.nn.summary(model, (1, 4), verbose=False, batch_size=0)
    with pytest.raises(TypeError, match="summary: batch_size must be an int, got 'a'"):
        tg.nn.summary(model, (1, 4), verbose=False, batch_size="a")
