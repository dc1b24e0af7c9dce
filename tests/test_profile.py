"""Profiler: calls and FLOPs per op and per module on known graphs; rows add up to the wall time."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Profiler, Tensor, engine, nn, profile
from tinygrad_cnn.engine import _state
from tinygrad_cnn.profile import NO_MODULE, UNTRACKED


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_counts_calls_per_op_forward_and_backward():
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    w = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    prof = Profiler()
    for _ in range(2):
        with prof:
            loss = (x * w).relu().sum()
            loss.backward()
    rows = by_name(prof.rows("op"))
    assert set(rows) == {"Mul", "ReLU", "Sum", UNTRACKED}
    for name in ("Mul", "ReLU", "Sum"):
        assert rows[name]["calls"] == 2 and rows[name]["backward_calls"] == 2
        assert rows[name]["forward_ms"] > 0 and rows[name]["backward_ms"] > 0
    assert rows["Mul"]["forward_flops"] == 2 * 6  # one per element, two calls
    assert rows["Mul"]["backward_flops"] == 2 * 2 * 6  # both inputs need their gradient
    assert prof.steps == 2 and not _state.observers


def test_backward_flops_come_only_from_a_forward_the_profiler_saw_on_that_ctx():
    a = Tensor(np.ones((16, 16), dtype=np.float32), requires_grad=True)
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    prof = Profiler()
    for _ in range(20):  # a freed ctx's id is often reused by the next op's ctx
        with prof:
            a @ a  # recorded, never backpropagated, freed at once
        loss = x.exp().sum()  # forward outside the profiler
        with prof:
            loss.backward()
    rows = by_name(prof.rows("op"))
    assert rows["MatMul"]["forward_flops"] == 20 * 2 * 16**3
    assert rows["Exp"]["backward_calls"] == rows["Sum"]["backward_calls"] == 20
    assert rows["Exp"]["backward_flops"] == rows["Sum"]["backward_flops"] == 0


def test_matmul_linear_and_conv_flops_from_shapes():
    tg.manual_seed(0)
    a = Tensor(np.ones((4, 5), dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones((5, 3), dtype=np.float32), requires_grad=True)
    linear = nn.Linear(5, 7)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    images = Tensor(np.ones((2, 2, 6, 6), dtype=np.float32))
    with Profiler() as prof:
        (a @ b).sum().backward()
        linear(a).sum().backward()
        conv(images).sum().backward()
    rows = by_name(prof.rows("op"))
    assert rows["MatMul"]["forward_flops"] == 2 * 4 * 3 * 5
    assert rows["MatMul"]["backward_flops"] == 2 * 2 * 4 * 3 * 5
    assert rows["Linear"]["forward_flops"] == 2 * 4 * 7 * 5 + 4 * 7
    conv_rows = [r for name, r in rows.items() if name.startswith("Conv2d[")]
    assert len(conv_rows) == 1  # named with the algorithm that ran, e.g. Conv2d[im2col]
    conv_row = conv_rows[0]
    out_size = 2 * 3 * 6 * 6
    assert conv_row["forward_flops"] == 2 * out_size * 2 * 3 * 3 + out_size
    # the input needs no gradient, so backward is one product (the weight's) and a bias sum
    assert conv_row["backward_flops"] == conv_row["forward_flops"]
    assert conv_row["calls"] == conv_row["backward_calls"] == 1
    assert conv_row["forward_ms"] > 0 and conv_row["backward_ms"] > 0
    assert rows["Sum"]["forward_flops"] == 4 * 3 + 4 * 7 + out_size


def test_module_rows_use_dotted_names_and_work_under_no_grad():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = Tensor(np.ones((5, 3), dtype=np.float32))
    prof = Profiler(model)
    with prof:
        tg.ops.cross_entropy(model(x), np.zeros(5, dtype=np.int64)).backward()
    with prof, tg.no_grad():
        model(x)
    rows = by_name(prof.rows("module"))
    assert set(rows) == {"0 (Linear)", "1 (ReLU)", "2 (Linear)", NO_MODULE, UNTRACKED}
    assert rows["0 (Linear)"]["calls"] == 2  # the no_grad forward is attributed too
    assert rows["0 (Linear)"]["backward_calls"] == 1
    assert rows[NO_MODULE]["calls"] == 1  # the loss


class TickClock:
    """A deterministic perf_counter: every reading advances time by exactly one tick (a power of
    two, so the float sums below are exact)."""

    def __init__(self, tick: float = 2.0**-10) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_rows_add_up_to_the_wall_time_of_a_real_step(monkeypatch):
    # the acceptance bar: the profiler's total agrees with the measured wall time of the step
    # within 10%; with an injected clock it is checked exactly, never against a busy machine
    clock = TickClock()
    monkeypatch.setattr(profile, "perf_counter", clock)  # the profiler's wall time
    monkeypatch.setattr(engine, "perf_counter", clock)  # the engine's per-op timings
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 13 * 13, 10))
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((16, 1, 28, 28)).astype(np.float32))
    y = rng.integers(0, 10, 16)
    prof = Profiler(model, batch_size=16)
    outer = 0.0
    for _ in range(3):
        start = clock()
        with prof:
            loss = tg.ops.cross_entropy(model(x), y)
            model.zero_grad()
            loss.backward()
            clock()  # an SGD step that takes one tick: untracked time
            for p in params:
                p.data -= 0.01 * p.grad.data
        outer += clock() - start
    data = prof.to_dict()
    assert data["images"] == 48 and data["steps"] == 3
    # each timed forward or backward reads the clock twice, so it lasts exactly one tick
    ops = [r for r in data["ops"] if r["name"] != UNTRACKED]
    timed = sum(r["calls"] + r["backward_calls"] for r in ops)
    assert data["tracked_ms"] == 1e3 * clock.tick * timed
    # per step the wall time is: enter -> (2 readings per timed op) + 1 SGD reading -> exit
    assert data["wall_ms"] == 1e3 * clock.tick * (2 * timed + 3 * 2)
    assert data["untracked_ms"] == data["wall_ms"] - data["tracked_ms"] > 0
    for view in ("modules", "ops"):  # tracked rows + untracked row = the wall time
        total = sum(r["total_ms"] for r in data[view])
        assert total == pytest.approx(data["wall_ms"], rel=1e-12)
        assert sum(r["share"] for r in data[view]) == pytest.approx(1.0)
    # measured outside the `with`: the same time plus the readings at either end of each step
    assert 1e3 * outer == data["wall_ms"] + 1e3 * clock.tick * 3 * 2
    assert data["wall_ms"] == pytest.approx(1e3 * outer, rel=0.10)
    rows = by_name(data["modules"])
    conv = rows["0 (Conv2d)"]
    assert conv["forward_ms"] == 3 * 1e3 * clock.tick and conv["backward_ms"] > 0
    assert conv["forward_ms_per_image"] == pytest.approx(conv["forward_ms"] / 48)
    assert conv["ms_per_image"] == pytest.approx(conv["total_ms"] / 48)


def test_count_images_table_and_json(tmp_path):
    x = Tensor(np.ones((8, 3), dtype=np.float32), requires_grad=True)
    prof = Profiler(batch_size=100)
    with prof:
        x.exp().sum().backward()
    prof.count_images(8)
    assert prof.images == 8  # an explicit count wins over batch_size x steps
    table = prof.table()
    assert "layer" in table and "Exp" in table and UNTRACKED in table and "total" in table
    assert "8 images" in table.splitlines()[0]
    path = prof.to_json(tmp_path / "profile.json")
    data = json.loads(path.read_text())
    assert by_name(data["ops"])["Exp"]["calls"] == 1
    assert by_name(data["ops"])["Exp"]["forward_flops"] == 24


def test_cannot_enter_twice_and_rows_checks_its_argument():
    prof = Profiler()
    with prof:
        with pytest.raises(RuntimeError, match="already active"):
            prof.__enter__()
    with pytest.raises(ValueError, match="'op' or 'module'"):
        prof.rows("layer")
    assert not _state.observers
