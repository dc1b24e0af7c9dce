"""Batch slices in worker processes: the split of nn/parallel.py without Python's GIL.

Threads share one interpreter, and between NumPy calls only one of them runs Python at a time;
in a LeNet-5 step that waiting took about as long as the second core saved (docs/benchmarks.md,
issue 19). So on Linux a training split runs slice 0 on the calling thread and every other
slice in a worker process forked from this one, which holds its own copy of the model:

- forward: the parameters' and buffers' current values go into memory the processes share
  (`_Shared`), and each worker gets its rows; it runs the model's forward on them, keeps its
  graph and sends its output back, which enters this process's graph as a `RemoteSlice` op
  whose inputs are the parameters;
- backward: `RemoteSlice.backward` sends the worker its rows of the gradient; the worker runs
  its graph's backward and writes each parameter's gradient into shared memory, and they come
  back as RemoteSlice's input gradients, added to the local slice's in slice order as in the
  thread split;
- batch norm's sums meet through a second pipe per worker (`_MainGroup`, `_WorkerGroup`: the
  same `threads.all_sum` calls as between threads), so statistics are the whole batch's.

A worker is forked for a model on its first split and kept while the model's structure (its
modules, training flags, parameter shapes and dtypes) stays the same; a change forks a new one.
Where fork is missing (macOS, Windows) or `TINYGRAD_CNN_SLICES=threads`, slices run on threads.
"""

from __future__ import annotations

import builtins
import itertools
import mmap
import multiprocessing
import os
import signal
import sys
import threading
import weakref
from typing import Any

import numpy as np

from .. import threads
from ..engine import FirstOrderOnly, Function, Node, _state, backward
from ..ops import compiled
from ..tensor import Tensor
from .module import Module

POLL_S = 0.05  # how often a wait checks that the other side is still alive
MAX_POOLS = 4  # models with workers at once (a GAN's two models alternate every step)
_calls = itertools.count(1)  # one id per forward or backward call, tagging every message


def enabled() -> bool:
    """Whether slices after the first run in worker processes (else on threads)."""
    if os.environ.get("TINYGRAD_CNN_SLICES", "processes").strip().lower() == "threads":
        return False
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class SliceFailed(RuntimeError):
    """A worker's slice failed or its process ended."""


# ----- memory both processes see ---------------------------------------------------------------
class _Shared:
    """Arrays shaped like `like`, end to end in one anonymous shared mapping (a forked child
    sees the same pages)."""

    def __init__(self, like: list[np.ndarray]) -> None:
        offsets, total = [], 0
        for array in like:
            total = -(-total // 64) * 64
            offsets.append(total)
            total += array.nbytes
        self.memory = mmap.mmap(-1, max(total, 1))
        self.views = [np.frombuffer(self.memory, a.dtype, a.size, at).reshape(a.shape)
                      for a, at in zip(like, offsets)]


def _fingerprint(members: Any) -> tuple:
    """What a worker's copy of the model must share with the model to compute the same thing
    (`members`: nn/parallel.py's Members of the model)."""
    return (tuple([(id(m), type(m), m.training) for m in members.modules]),
            tuple([(id(p), p.data.shape, p.data.dtype, p.requires_grad)
                   for p in members.params]),
            tuple([(id(b), b.data.shape, b.data.dtype) for b in members.buffers]),
            compiled.enabled())


# ----- this process's side ---------------------------------------------------------------------
class _Worker:
    """One forked process running slice `index` of the model's batches."""

    def __init__(self, model: Module, members: Any, values: _Shared, index: int) -> None:
        self.grads = _Shared([p.data for p in members.params])
        context = multiprocessing.get_context("fork")
        self.ctl, child_ctl = context.Pipe()
        self.sums, child_sums = context.Pipe()
        _workers.add(self)  # a child forked from now on closes its copy of these ends
        self.process = context.Process(
            target=_serve, args=(model, members, child_ctl, child_sums, values, self.grads,
                                 index),
            daemon=True, name=f"tinygrad_cnn slice {index}")
        self.process.start()
        child_ctl.close()
        child_sums.close()
        self.send_lock = threading.Lock()  # a graph's drop may come from another thread
        self.failed: set[int] = set()  # calls that failed: a wait in all_sum stops at once

    def send(self, message: tuple) -> None:
        try:
            with self.send_lock:
                self.ctl.send(message)
        except (OSError, ValueError) as error:
            raise SliceFailed(f"a batch-slice worker process ended ({error})") from None

    def alive(self, call: int) -> bool:
        return call not in self.failed and self.process.is_alive()

    def result(self, call: int) -> Any:
        """The worker's answer to `call`, or its error raised here. One thread at a time waits
        for a given worker: the forward's caller, then the backward's RemoteSlice."""
        while True:
            try:
                ready = self.ctl.poll(POLL_S)
            except (EOFError, OSError):
                ready = False
            if not ready:
                if not self.process.is_alive():
                    self.failed.add(call)
                    raise SliceFailed("a batch-slice worker process ended")
                continue
            try:
                message = self.ctl.recv()
            except (EOFError, OSError):
                self.failed.add(call)
                raise SliceFailed("a batch-slice worker process ended") from None
            if message[0] != call:
                continue  # the answer to a call its caller gave up on
            if message[1] == "error":
                self.failed.add(call)
                raise _rebuilt(message[2], message[3])
            return message[2]

    def close(self) -> None:
        try:
            self.send(("stop",))
        except SliceFailed:
            pass
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.kill()


def _rebuilt(kind: str, text: str) -> BaseException:
    """The worker's exception as one of the same built-in type where there is one."""
    error = getattr(builtins, kind, None)
    if isinstance(error, type) and issubclass(error, Exception):
        try:
            return error(text)
        except Exception:  # noqa: BLE001 (a type whose constructor wants more)
            pass
    return SliceFailed(f"{kind}: {text}")


class _Pool:
    """The workers of one model: slices 1..n-1."""

    def __init__(self, model: Module, n: int, members: Any) -> None:
        self.n, self.fingerprint = n, _fingerprint(members)
        self.values = _Shared([t.data for t in [*members.params, *members.buffers]])
        self.workers = [_Worker(model, members, self.values, i) for i in range(1, n)]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


_pools: dict[int, tuple[weakref.ref, _Pool]] = {}


def _pool_for(model: Module, n: int, members: Any) -> _Pool:
    entry = _pools.pop(id(model), None)
    if entry is not None:
        ref, pool = entry
        if (ref() is model and pool.n == n and pool.fingerprint == _fingerprint(members)
                and all(worker.process.is_alive() for worker in pool.workers)):
            _pools[id(model)] = entry  # most recently used last
            return pool
        pool.close()
    while len(_pools) >= MAX_POOLS:  # the least recently used model's workers go
        _drop_pool(next(iter(_pools)))
    pool = _Pool(model, n, members)
    key = id(model)
    _pools[key] = (weakref.ref(model, lambda _: _drop_pool(key)), pool)
    return pool


def _drop_pool(key: int) -> None:
    entry = _pools.pop(key, None)
    if entry is not None:
        entry[1].close()


_workers: weakref.WeakSet = weakref.WeakSet()  # every _Worker of this process


def _forget_after_fork() -> None:
    """In a forked child: none of the parent's workers are its own, and it must not hold their
    pipes' ends open (a worker learns that the training process ended from its pipe's end)."""
    _pools.clear()
    for worker in list(_workers):
        for end in (worker.ctl, worker.sums):
            try:
                end.close()
            except OSError:
                pass
    _workers.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


class _MainGroup:
    """threads.all_sum for slice 0 here, the other slices in workers: their partial sums come
    through each worker's `sums` pipe, the total goes back (added in slice order)."""

    def __init__(self, workers: list[_Worker], call: int, reads_results: bool) -> None:
        # reads_results: in a forward this thread is the one reading each worker's answers, so
        # an answer arriving while it waits for a sum is read here (it is an error)
        self.workers, self.call, self.reads_results = workers, call, reads_results
        self.met = False  # whether the slices met at all (batch norm in training)

    def all_sum(self, index: int, partial: Any) -> Any:
        self.met = True
        parts = [partial]
        for worker in self.workers:
            parts.append(self._partial_of(worker))
        if isinstance(partial, tuple):
            total = tuple([threads.add_in_order(list(p)) for p in zip(*parts)])
        else:
            total = threads.add_in_order(parts)
        for worker in self.workers:
            worker.sums.send((self.call, "total", total))
        return total

    def _partial_of(self, worker: _Worker) -> Any:
        while True:
            if worker.sums.poll(POLL_S):
                message = worker.sums.recv()
                if message[0] == self.call:
                    return message[1]
                continue  # left over from a call that failed
            if self.reads_results and worker.ctl.poll(0):
                worker.result(self.call)  # the worker's error, raised here
            if not worker.alive(self.call):
                raise SliceFailed("another slice of the batch failed")

    def abort(self) -> None:
        for worker in self.workers:
            try:
                worker.sums.send((self.call, "abort", None))
            except (OSError, ValueError):
                pass


class Split:
    """One split forward call: its pool, the ids its messages carry, and whether its slices
    met in all_sum (batch norm in training)."""

    def __init__(self, pool: _Pool, call: int, met: bool) -> None:
        self.pool, self.forward_call, self.met = pool, call, met
        self.backward_call = 0
        self.sent: set[int] = set()  # slices whose worker has its rows of this backward

    def start_backward(self, rows: list[np.ndarray]) -> None:
        """Each worker gets its rows of the gradient at once (JoinSlices.backward), so it runs
        its backward while slice 0's runs here."""
        self.backward_call = next(_calls)
        for index, (worker, grad) in enumerate(zip(self.pool.workers, rows[1:]), start=1):
            worker.send(("backward", self.backward_call, self.forward_call, grad))
            self.sent.add(index)

    def run_branches(self, walk: Any) -> list:
        """JoinSlices.run_branches for worker slices: slice 0's backward here, its batch norm
        sums meeting the workers'; then each worker's branch, which only collects the answer
        (RemoteSlice.backward). No thread hand-off: the workers started when their rows went."""
        group = _MainGroup(self.pool.workers, self.backward_call, reads_results=True)
        try:
            with threads.blas_threads(1), threads.member(group, 0):
                first = walk(0)
        except BaseException:
            group.abort()
            raise
        return [first] + [walk(index) for index in range(1, self.pool.n)]


def run_forward(model: Module, x: Tensor, n: int, spans: list, members: Any
                ) -> tuple[list, Split]:
    """Slice 0 of model(x) here and the others in the model's workers: (the outputs, slice 0's
    a Tensor, the others' arrays; the Split)."""
    pool = _pool_for(model, n, members)
    for view, tensor in zip(pool.values.views, [*members.params, *members.buffers]):
        view[...] = tensor.data  # same shape and dtype: the fingerprint says so
    call = next(_calls)
    for worker, (start, stop) in zip(pool.workers, spans[1:]):
        worker.send(("forward", call, x.data[start:stop]))
    group = _MainGroup(pool.workers, call, reads_results=True)
    start, stop = spans[0]
    try:
        with threads.blas_threads(1), threads.member(group, 0):
            first = model.forward(x[start:stop])
        if type(first) is not Tensor:
            raise TypeError(f"{type(model).__name__}: a forward split into batch slices must "
                            f"return a Tensor, got {type(first).__name__}")
    except BaseException:
        group.abort()
        for worker in pool.workers:  # let each finish or fail before the serial rerun
            if call in worker.failed:
                continue  # its error was read already: that is what failed here
            try:
                worker.result(call)
            except Exception:  # noqa: BLE001 (the rerun says what is wrong)
                pass
        raise
    outs = [first] + [worker.result(call) for worker in pool.workers]
    return outs, Split(pool, call, met=group.met)


class RemoteSlice(Function):
    """out = slice `index`'s output, computed by a worker process;  grad_params = that
    process's backward of its own graph (parameter gradients through shared memory)."""

    @staticmethod
    def forward(ctx: Function, *params: np.ndarray, value: np.ndarray, split: Split,
                index: int, which: list[int]) -> np.ndarray:
        ctx.split, ctx.index, ctx.which = split, index, which
        worker = split.pool.workers[index - 1]
        token = _GraphToken()  # the worker drops its graph when this goes (engine frees _saved)
        weakref.finalize(token, _drop_graph, worker, split.forward_call)
        ctx.save_for_backward(token)
        return value

    graph_backward = True  # create_graph: first-order gradients that refuse a second backward

    @staticmethod
    def backward(ctx: Function, grad_out: Any) -> tuple:
        ctx.saved_tensors  # noqa: B018 (raises after the graph was freed by a first backward)
        split, worker = ctx.split, ctx.split.pool.workers[ctx.index - 1]
        if isinstance(grad_out, Node):  # create_graph: the engine walks here, one op at a time
            if split.met:  # the worker's batch norm would wait for slice 0's, which waits here
                raise RuntimeError(
                    "create_graph through batch norm whose batch was split across worker "
                    "processes: call tg.set_num_threads(1) before the forward pass to "
                    "differentiate twice through BatchNorm in training mode.")
            grads = RemoteSlice.backward(ctx, grad_out.data)
            return tuple([None if g is None else _FirstOrderInWorker.apply(
                grad_out, value=g, op="RemoteSlice") for g in grads])
        if ctx.index in split.sent:  # JoinSlices.backward sent the rows already
            split.sent.discard(ctx.index)
        else:
            split.backward_call = next(_calls)
            worker.send(("backward", split.backward_call, split.forward_call, grad_out))
        got = set(worker.result(split.backward_call))
        return tuple([worker.grads.views[i].copy() if i in got else None for i in ctx.which])


class _FirstOrderInWorker(FirstOrderOnly):
    """out = a parameter's gradient from a worker process's slice;  its own gradient: an
    error saying how to get one."""

    @staticmethod
    def backward(ctx: Function, grad_out: Any) -> tuple:
        raise RuntimeError(
            "a gradient through a batch slice computed in a worker process has no gradient of "
            "its own (its graph is in that process). Call tg.set_num_threads(1), or set "
            "TINYGRAD_CNN_SLICES=threads, before the forward pass to differentiate twice.")


class _GraphToken:
    pass


def _drop_graph(worker: _Worker, call: int) -> None:
    try:
        worker.send(("drop", call))
    except SliceFailed:
        pass  # the worker is gone already


# ----- the worker's side ------------------------------------------------------------------------
class _WorkerGroup:
    """threads.all_sum in a worker: its partial to the main process, the total back."""

    def __init__(self, sums: Any) -> None:
        self.sums, self.call = sums, 0

    def all_sum(self, index: int, partial: Any) -> Any:
        self.sums.send((self.call, partial))
        while True:
            call, kind, total = self.sums.recv()
            if call != self.call:
                continue  # left over from a call that failed
            if kind == "abort":
                raise SliceFailed("another slice of the batch failed")
            return total

    def abort(self) -> None:
        pass  # the main process learns of it from the call's result


def _serve(model: Module, members: Any, ctl: Any, sums: Any, values: _Shared, grads: _Shared,
           index: int) -> None:
    """The worker's loop: forward and backward calls on its copy of the model."""
    # Ctrl-C is the training process's to handle (models/mnist.py finishes the step); the
    # worker ends when that process closes its pipe or exits
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    params = members.params  # the lists the main process laid the shared memory out by
    for tensor, view in zip([*params, *members.buffers], values.views):
        tensor.data = view  # the values the main process wrote before each call
        tensor._hooks = ()  # a parameter's hooks run once, in the main process, on the sum
    threads.set_blas_threads(1)  # one BLAS thread for good in this process
    group = _WorkerGroup(sums)
    graphs: dict[int, Tensor] = {}
    while True:
        try:
            message = ctl.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "drop":
            graphs.pop(message[1], None)
            continue
        call = message[1]
        group.call = call
        try:
            if kind == "forward":
                _state.grad_enabled = True
                with threads.member(group, index):
                    out = model.forward(Tensor(message[2], dtype=None))
                graphs[call] = out
                ctl.send((call, "ok", out.data))
            else:  # backward of the graph of forward call message[2]
                with threads.member(group, index):
                    found = _leaf_grads(graphs[message[2]], message[3])
                got = []
                for i, (param, view) in enumerate(zip(params, grads.views)):
                    grad = found.get(id(param))
                    if grad is not None:
                        np.copyto(view, grad)
                        got.append(i)
                ctl.send((call, "ok", got))
        except BaseException as error:  # noqa: BLE001 (sent to the main process, which raises)
            try:
                ctl.send((call, "error", type(error).__name__, str(error)))
            except (OSError, ValueError):
                return


def _leaf_grads(out: Tensor, grad: np.ndarray) -> dict[int, Any]:
    """Backward of out's graph (kept for another backward: the main process says when to drop
    it); the gradients of its leaves, by id."""
    found: dict[int, Any] = {}

    def deliver(node: Node, g: Any) -> None:
        if node._ctx is None:
            found[id(node)] = g
    backward(out, grad, retain_graph=True, deliver=deliver)
    return found
