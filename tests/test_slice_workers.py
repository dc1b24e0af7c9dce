"""Batch slices in worker processes (tinygrad_cnn/nn/slice_workers.py): the workers' lifetime and
when a model's worker is forked again. What they compute is checked against the serial step in
tests/test_parallel.py, which runs every test with workers and with threads."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.nn import slice_workers
from tinygrad_cnn.nn.functional import cross_entropy

pytestmark = pytest.mark.skipif(not slice_workers.enabled(),
                                reason="worker processes need fork (Linux)")


@pytest.fixture(autouse=True)
def two_threads(monkeypatch):
    monkeypatch.setenv("TINYGRAD_CNN_SLICES", "processes")
    before = tg.get_num_threads()
    tg.set_num_threads(2)
    yield
    tg.set_num_threads(before)


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def bn_mlp() -> nn.Module:
    tg.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 5),
                         nn.BatchNorm1d(5), nn.Linear(5, 3))


def serial_grads(model: nn.Module, x: tg.Tensor | None = None,
                 y: tg.Tensor | None = None) -> list:
    """The parameters' gradients of one serial step on (x, y) (default: batch())."""
    if x is None:
        x, y = batch()
    before = tg.get_num_threads()
    tg.set_num_threads(1)
    try:
        model.zero_grad()
        cross_entropy(model(x), y).backward()
        return [p.grad.data.copy() for p in model.parameters()]
    finally:
        tg.set_num_threads(before)


def assert_serial_step_equals(model: nn.Module, x: tg.Tensor | None = None,
                              y: tg.Tensor | None = None, atol: float = 1e-6) -> None:
    """The gradients the split step left in .grad equal a serial step's on the same batch."""
    split = [p.grad.data.copy() for p in model.parameters()]
    for a, b in zip(split, serial_grads(model, x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol)


def batch(n: int = 128) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(0)
    return (tg.Tensor(rng.standard_normal((n, 6), dtype=np.float32)),
            tg.Tensor(rng.integers(0, 3, n), dtype=None))


def step(model: nn.Module) -> tg.Tensor:
    x, y = batch()
    loss = cross_entropy(model(x), y)
    loss.backward()
    return loss


def workers_of(model: nn.Module) -> list:
    entry = slice_workers._pools.get(id(model))
    return [] if entry is None else entry[1].workers


def test_a_worker_is_kept_between_steps_and_sees_the_new_weights():
    model = mlp()
    step(model)
    (first,) = workers_of(model)
    model[0].weight.data[...] = 0.0  # an optimizer step changes the values in place
    model[2].weight.data = np.full_like(model[2].weight.data, 0.5)  # or replaces the array
    model.zero_grad()
    step(model)
    assert workers_of(model) == [first]
    assert_serial_step_equals(model, atol=1e-7)


@pytest.mark.parametrize("change", ["eval", "frozen", "new layer", "dtype"])
def test_a_changed_model_gets_a_new_worker(change):
    model = mlp()
    step(model)
    (first,) = workers_of(model)
    if change == "eval":
        model.eval()
    elif change == "frozen":
        model[0].weight.requires_grad = False
    elif change == "new layer":
        model[1] = nn.Sigmoid()
    else:
        for p in model.parameters():
            p.data = p.data.astype(np.float64)
    model.zero_grad()
    x, y = batch()
    if change == "dtype":
        x = tg.Tensor(x.data.astype(np.float64), dtype=None)
    out = model(x)
    cross_entropy(out, y).backward()
    (second,) = workers_of(model)
    assert second is not first
    first.process.join(timeout=5)
    assert not first.process.is_alive()
    expected = [p.grad for p in model.parameters()]
    tg.set_num_threads(1)
    model.zero_grad()
    cross_entropy(model(x), y).backward()
    for a, b in zip(expected, model.parameters()):
        if b.grad is None:
            assert a is None
        else:
            np.testing.assert_allclose(a.data, b.grad.data, rtol=1e-5, atol=1e-7)


def test_the_next_step_s_rows_go_before_the_member_walk(monkeypatch):
    """From the second split on, the workers get their rows before the step walks the model
    (start_early), and the step equals the serial one."""
    started = []
    start_early = slice_workers.start_early

    def spy(model, x, n):
        early = start_early(model, x, n)
        started.append(early is not None)
        return early
    monkeypatch.setattr(slice_workers, "start_early", spy)
    model = bn_mlp()
    for _ in range(3):
        model.zero_grad()
        step(model)
    assert started == [False, True, True]
    split = [p.grad.data.copy() for p in model.parameters()]
    for a, b in zip(split, serial_grads(model)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model_of", [mlp, bn_mlp], ids=["mlp", "batch_norm"])
def test_rows_sent_ahead_are_dropped_when_the_step_does_not_split(model_of):
    """A forward hook appears after a split: the step runs serially, the rows already sent are
    answered and dropped (a batch-norm worker waiting at its first meeting is told to stop),
    and once the hook is gone the same worker splits again, equal to the serial step."""
    model = model_of()
    step(model)
    (worker,) = workers_of(model)
    handle = model[0].register_forward_hook(lambda module, args, out: None)
    model.zero_grad()
    step(model)
    handle.remove()
    for _ in range(2):
        model.zero_grad()
        step(model)
    assert workers_of(model) == [worker] and worker.graphs_held <= 1
    split = [p.grad.data.copy() for p in model.parameters()]
    for a, b in zip(split, serial_grads(model)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_rows_sent_ahead_to_three_slices_when_one_worker_died():
    """Three slices: the second worker died between steps, so sending the rows ahead fails
    after the first worker got its rows; that worker's answer is read and dropped, and the
    step forks new workers and equals the serial one."""
    tg.set_num_threads(3)
    model = mlp()
    x, y = batch(192)
    cross_entropy(model(x), y).backward()
    first, second = workers_of(model)
    second.process.kill()
    second.process.join(5)
    model.zero_grad()
    cross_entropy(model(x), y).backward()
    assert len(workers_of(model)) == 2 and second not in workers_of(model)
    assert_serial_step_equals(model, x, y)


def test_a_batch_the_model_rejects_is_reported_after_rows_went_ahead():
    model = mlp()
    step(model)
    (worker,) = workers_of(model)
    wrong = tg.Tensor(np.zeros((128, 7), np.float32))
    with pytest.raises(ValueError, match="7"):
        model(wrong)
    model.zero_grad()
    step(model)
    assert workers_of(model) == [worker]


def test_two_models_taking_turns_keep_their_workers():
    generator, critic = mlp(), mlp()
    step(generator)
    step(critic)
    kept = workers_of(generator) + workers_of(critic)
    for _ in range(3):
        step(generator)
        step(critic)
    assert workers_of(generator) + workers_of(critic) == kept


def test_a_dropped_model_ends_its_worker():
    model = mlp()
    step(model)
    (worker,) = workers_of(model)
    del model
    gc.collect()
    worker.process.join(timeout=5)
    assert not worker.process.is_alive()


def test_ctrl_c_is_the_training_process_s_to_handle():
    model = mlp()
    step(model)
    (worker,) = workers_of(model)
    os.kill(worker.process.pid, signal.SIGINT)
    time.sleep(0.2)
    assert worker.process.is_alive()
    model.zero_grad()
    step(model)  # and it still answers


def test_workers_end_when_the_training_process_dies(tmp_path):
    script = textwrap.dedent("""
        import os, numpy as np, tinygrad_cnn as tg
        from tinygrad_cnn import nn
        from tinygrad_cnn.nn import slice_workers
        tg.set_num_threads(2)
        model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
        model(tg.Tensor(np.zeros((128, 6), np.float32))).sum().backward()
        print(*[w.process.pid for w in slice_workers._workers], flush=True)
        os._exit(0)  # no clean-up at all, as a kill would leave it
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=os.environ | {"TINYGRAD_CNN_SLICES": "processes"})
    pids = [int(p) for p in done.stdout.split()]
    assert pids, done.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pids)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_that_dies_is_reported_not_waited_for():
    model = mlp()
    step(model)
    (worker,) = workers_of(model)
    x, y = batch()
    loss = cross_entropy(model(x), y)
    worker.process.kill()
    worker.process.join(5)
    with pytest.raises(slice_workers.SliceFailed, match="ended"):
        loss.backward()
    model.zero_grad()
    step(model)  # the next forward forks a new worker
    assert workers_of(model)[0] is not worker


def test_double_backward_through_worker_slices_names_the_way_out():
    model = mlp()
    x, y = batch()
    loss = cross_entropy(model(x), y)
    (grad,) = tg.autograd.grad(loss, [model[0].weight], create_graph=True)  # first order: fine
    tg.set_num_threads(1)
    (serial,) = tg.autograd.grad(cross_entropy(model(x), y), [model[0].weight])
    np.testing.assert_allclose(grad.data, serial.data, rtol=1e-5, atol=1e-7)
    with pytest.raises(RuntimeError, match="set_num_threads\\(1\\)"):
        (grad * grad).sum().backward()


def test_a_failed_split_leaves_no_graph_in_the_worker():
    model = mlp()
    step(model)
    (worker,) = workers_of(model)

    def broken(x):
        raise RuntimeError("slice 0 broke")
    model[2].forward = broken  # here only: the worker was forked with the working layer
    with pytest.raises(RuntimeError, match="slice 0 broke"):
        step(model)  # the worker answered its slice; the serial rerun raises
    del model[2].forward
    for _ in range(2):
        model.zero_grad()
        step(model)
    assert workers_of(model) == [worker]
    assert worker.graphs_held <= 1  # not the failed call's graph as well


@pytest.mark.parametrize("broken_at", [0, 2, 5], ids=["before-bn", "between-bns", "after-bns"])
def test_batch_norm_meetings_survive_a_failed_slice(broken_at):
    """Slice 0 fails before batch norm's first meeting (the worker waits there and is told to
    stop), between two meetings, or after both: the call fails with slice 0's error, nothing
    is left over in the sums channel, and the next steps equal the serial step."""
    model = bn_mlp()
    step(model)
    (worker,) = workers_of(model)

    def broken(x):
        raise RuntimeError("slice 0 broke")
    model[broken_at].forward = broken  # here only: the worker was forked with the working layer
    with pytest.raises(RuntimeError, match="slice 0 broke"):
        step(model)
    del model[broken_at].forward
    for _ in range(2):
        model.zero_grad()
        step(model)
        split = [p.grad.data.copy() for p in model.parameters()]
        state = [b.data.copy() for b in model.buffers()]
        for a, b in zip(split, serial_grads(model)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        for buffer, before in zip(model.buffers(), state):
            buffer.data[...] = before  # the serial step moved the running statistics
    assert workers_of(model) == [worker]


def test_a_worker_that_dies_between_batch_norm_steps_is_replaced():
    model = bn_mlp()
    step(model)
    (worker,) = workers_of(model)
    worker.process.kill()
    worker.process.join(5)
    model.zero_grad()
    step(model)  # a new worker, forked for this forward
    assert workers_of(model)[0] is not worker
    split = [p.grad.data.copy() for p in model.parameters()]
    for a, b in zip(split, serial_grads(model)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_gradients_kept_from_a_step_are_not_overwritten_by_the_next():
    """A worker's gradients come through shared memory it rewrites every backward: what a user
    keeps (.grad, what a hook saw, autograd.grad's result) must be arrays of their own."""
    model = mlp()
    seen = []
    model[0].weight.register_hook(lambda g: seen.append(g))
    step(model)
    (worker,) = workers_of(model)
    kept = [p.grad.data for p in model.parameters()]
    copies = [k.copy() for k in kept]
    x, y = batch()
    grads = tg.autograd.grad(cross_entropy(model(x), y), list(model.parameters()))
    grad_copies = [g.data.copy() for g in grads]
    rng = np.random.default_rng(5)
    for _ in range(2):  # other batches: the worker writes other gradients
        model.zero_grad()
        xb = tg.Tensor(rng.standard_normal((128, 6), dtype=np.float32))
        cross_entropy(model(xb), tg.Tensor(rng.integers(0, 3, 128), dtype=None)).backward()
    for k, c in zip(kept, copies):
        np.testing.assert_array_equal(k, c)
    for g, c in zip(grads, grad_copies):
        np.testing.assert_array_equal(g.data, c)
    np.testing.assert_array_equal(seen[0].data, copies[0])
    views = worker.grads.views
    for p in model.parameters():
        assert not any(np.shares_memory(p.grad.data, v) for v in views)


def test_a_worker_keeps_no_graph_after_a_plain_backward():
    model = mlp()
    for _ in range(5):
        model.zero_grad()
        step(model)
    (worker,) = workers_of(model)
    assert worker.graphs_held <= 1  # counted as it answered, before it freed the last one
    x, y = batch()
    model.zero_grad()
    loss = cross_entropy(model(x), y)
    loss.backward(retain_graph=True)  # kept for the second backward
    first = [p.grad.data.copy() for p in model.parameters()]
    loss.backward()
    for a, p in zip(first, model.parameters()):
        np.testing.assert_allclose(p.grad.data, 2 * a, rtol=1e-5, atol=1e-6)
    del loss
    model.zero_grad()
    step(model)
    assert worker.graphs_held <= 2


@pytest.mark.parametrize("box_bytes", [slice_workers.BOX_BYTES, 1024])
def test_rows_that_do_not_fit_the_shared_box_go_after_the_header(monkeypatch, box_bytes):
    """1024 bytes: a slice's 64-150 rows of 6 float32 (1.5-3.6 KB) go through the socket after
    the message's header; the outputs' (64 x 3, 0.8 KB) through shared memory; a later,
    larger batch too."""
    monkeypatch.setattr(slice_workers, "BOX_BYTES", box_bytes)
    model = mlp()
    step(model)
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((300, 6), dtype=np.float32))
    y = tg.Tensor(rng.integers(0, 3, 300), dtype=None)
    model.zero_grad()
    cross_entropy(model(x), y).backward()
    assert_serial_step_equals(model, x, y)


def channel_pair(box_bytes: int = 64) -> tuple:
    import mmap
    import multiprocessing
    one, other = multiprocessing.Pipe()
    forth, back = mmap.mmap(-1, box_bytes), mmap.mmap(-1, box_bytes)
    return (slice_workers._Channel(one, send_box=forth, recv_box=back),
            slice_workers._Channel(other, send_box=back, recv_box=forth))


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],  # a strided view: 24 bytes, in the box
    np.arange(40, dtype=np.float64).reshape(2, 4, 5),  # 320 bytes: after the header
    np.arange(5, dtype=">i4"),  # big-endian: arrives in native order, same values
    np.array(2.5),  # 0-d
    np.zeros((0, 3), dtype=np.float16),  # no rows
], ids=["view-in-box", "after-header", "big-endian", "0-d", "empty"])
def test_the_control_channel_carries_an_array_exactly(array):
    sender, receiver = channel_pair()
    sender.send(slice_workers.FORWARD, 7, 3, 1, array, items=[4, 9])
    kind, call, a, b, got, items, text = receiver.recv()
    assert (kind, call, a, b, items, text) == (slice_workers.FORWARD, 7, 3, 1, [4, 9], "")
    assert got.shape == array.shape and got.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(got, array)
    sender.send_box[:] = b"\xff" * len(sender.send_box)  # the next message's array
    np.testing.assert_array_equal(got, array)  # was copied out, not a view of the box
    assert got.flags.writeable


def test_the_control_channel_carries_an_error_s_text_and_reports_a_closed_end():
    sender, receiver = channel_pair()
    sender.send(slice_workers.ERROR, 3, text="ValueError\nshape (2, 3) ≠ (2, 4)")
    kind, call, *_, got, items, text = receiver.recv()
    assert (kind, call, got, items) == (slice_workers.ERROR, 3, None, [])
    assert text == "ValueError\nshape (2, 3) ≠ (2, 4)"
    sender.close()
    assert receiver.ready(1.0)  # a closed end wakes the reader ...
    with pytest.raises(EOFError, match="closed"):
        receiver.recv()  # ... which is told so


def test_the_control_channel_refuses_arrays_it_cannot_describe():
    sender, _ = channel_pair()
    with pytest.raises(ValueError, match="17 dimensions"):
        sender.send(slice_workers.OK, 1, array=np.zeros((1,) * 17))
    with pytest.raises(TypeError, match="plain numbers"):
        sender.send(slice_workers.OK, 1, array=np.zeros(2, dtype=[("a", "f4"), ("b", "i2")]))


@pytest.mark.parametrize("partial", [
    (np.array([1.5, -2.0], dtype=np.float32), 64),  # BatchNorm's (sums, count)
    np.arange(3, dtype=np.float64),  # its sums of squares: one array, not a tuple
    (np.float32(2.5), 7.25, np.arange(4, dtype=">f8").reshape(2, 2)),  # scalar, float, BE
    (np.zeros((0,), dtype=np.float16), 2 ** 62),  # empty; a count past 2**31
], ids=["sums-count", "array", "scalar-float-big-endian", "empty-large-int"])
def test_batch_norm_sums_cross_the_channel_with_their_types(partial):
    """A batch-norm partial keeps each part's type across the channel: an int stays an int and
    a NumPy scalar a NumPy scalar (NumPy 2's promotion of float32 / count depends on it)."""
    sender, receiver = channel_pair(box_bytes=16)  # 16 bytes: most go after the header
    items, data = slice_workers._pack(partial)
    sender.send(slice_workers.PARTIAL, 5, array=data, items=items)
    kind, call, _, _, got_data, got_items, _ = receiver.recv()
    got = slice_workers._unpack(got_items, got_data)
    assert (kind, call) == (slice_workers.PARTIAL, 5)
    parts, got_parts = ((partial, got) if isinstance(partial, tuple)
                        else ((partial,), (got,)))
    assert type(got) is type(partial) and len(got_parts) == len(parts)
    for want, have in zip(parts, got_parts):
        assert type(have) is type(want)
        if isinstance(want, (np.ndarray, np.generic)):
            assert have.dtype == want.dtype.newbyteorder("=") and have.shape == want.shape
            np.testing.assert_array_equal(have, want)
        else:
            assert have == want


def test_a_channel_with_halves_keeps_two_unread_arrays_apart():
    """Each side of a batch-norm exchange sends before it reads, so its next array may be
    written before the other side read the last: with halves they go to alternate halves of the
    box (a 64-byte box: 32 bytes each; a larger array goes after the header)."""
    import mmap
    import multiprocessing
    one, other = multiprocessing.Pipe()
    forth, back = mmap.mmap(-1, 64), mmap.mmap(-1, 64)
    sender = slice_workers._Channel(one, send_box=forth, recv_box=back, halves=True)
    receiver = slice_workers._Channel(other, send_box=back, recv_box=forth, halves=True)
    for arrays in ([np.full(8, 1.0, np.float32), np.full(8, 2.0, np.float32)],
                   [np.arange(9.0), np.full(3, 4.0, np.float32)],  # after the header; a half
                   [np.full(2, 5.0), np.full(4, 6.0, np.float32)]):
        for call, array in enumerate(arrays):  # two sent before either is read
            sender.send(slice_workers.PARTIAL, call, array=array)
        for call, array in enumerate(arrays):
            got = receiver.recv()
            assert got[1] == call
            np.testing.assert_array_equal(got[4], array)


def test_batch_norm_sums_refuse_what_they_cannot_carry():
    with pytest.raises(TypeError, match="numbers or arrays, got str"):
        slice_workers._pack((np.zeros(2), "64"))


@pytest.mark.parametrize("box_bytes,threads", [(slice_workers.SUMS_BOX_BYTES, 2), (1024, 2),
                                               (slice_workers.SUMS_BOX_BYTES, 3)])
def test_batch_norm_sums_equal_the_serial_step(monkeypatch, box_bytes, threads):
    """5000 features, each partial 20 KB of float32 sums. Two slices and the 64 KB box: the two
    processes exchange partials through its halves and each adds them; a 1 KB box: the partials
    go after the header, to the main process, and the total comes back; three slices: the main
    process adds them all. Every way the split step equals the serial one (running statistics
    too)."""
    monkeypatch.setattr(slice_workers, "SUMS_BOX_BYTES", box_bytes)

    def build():
        tg.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 5000), nn.BatchNorm1d(5000), nn.ReLU(),
                             nn.Linear(5000, 3))
    results = []
    x, y = batch(64 * threads)  # 64 rows a slice at least
    for n in (threads, 1):
        tg.set_num_threads(n)
        model = build()
        cross_entropy(model(x), y).backward()
        assert len(workers_of(model)) == n - 1
        results.append([p.grad.data.copy() for p in model.parameters()]
                       + [b.data.copy() for b in model.buffers()])
    for split, serial in zip(*results):
        np.testing.assert_allclose(split, serial, rtol=1e-4, atol=1e-6)


def test_a_split_while_another_thread_talks_to_the_workers_uses_threads():
    model = mlp()
    step(model)
    entry = slice_workers._pools[id(model)][1]
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread in the middle of an exchange with the workers
        with entry.busy:
            held.set()
            release.wait(10)
    other = threading.Thread(target=hold)
    other.start()
    held.wait(10)
    try:
        x, y = batch()
        out = model(x)
        kinds = {type(node._ctx).__name__ for node in tg.autograd.toposort(out) if node._ctx}
        assert "JoinSlices" in kinds and "RemoteSlice" not in kinds  # slices on threads
        model.zero_grad()
        cross_entropy(out, y).backward()
    finally:
        release.set()
        other.join()
    assert_serial_step_equals(model, x, y)


def test_a_misspelt_slices_setting_is_named(monkeypatch):
    monkeypatch.setenv("TINYGRAD_CNN_SLICES", "thread")
    model = mlp()
    with pytest.raises(ValueError, match="TINYGRAD_CNN_SLICES must be 'processes' or "
                                         "'threads', got 'thread'"):
        step(model)
