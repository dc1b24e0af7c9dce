"""Batch slices in worker processes: the split of nn/parallel.py without Python's GIL.

Threads share one interpreter, and between NumPy calls only one of them runs Python at a time;
in a LeNet-5 step that waiting took about as long as the second core saved (docs/benchmarks.md,
issue 19). So on Linux a training split runs slice 0 on the calling thread and every other
slice in a worker process forked from this one, which holds its own copy of the model:

- forward: the parameters' and buffers' current values go into memory the processes share
  (`_Shared`), and each worker gets its rows (`_Channel`: a fixed header on a socket, the
  arrays through shared memory); it runs the model's forward on them, keeps its graph and
  sends its output back, which enters this process's graph as a `RemoteSlice` op whose inputs
  are the parameters; from a model's second split on, the rows go out before the step walks
  the model to check it (`start_early`), and are dropped when the walk finds a changed model;
- backward: when the engine reaches `JoinSlices`, each worker gets its rows of the gradient
  (`Split.run_branches`) and runs its graph's backward while slice 0's runs here; it writes
  each parameter's gradient into shared memory, and they come back as RemoteSlice's input
  gradients, added to the local slice's in slice order as in the thread split;
- batch norm's sums meet through a second channel per worker (`_MainGroup`, `_WorkerGroup`:
  the same `threads.all_sum` calls as between threads), so statistics are the whole batch's.

A worker is forked for a model on its first split and kept while the model's structure (its
modules, training flags, parameter shapes and dtypes) stays the same; a change forks a new one.
Where fork is missing (macOS, Windows) or `TINYGRAD_CNN_SLICES=threads`, slices run on threads.
"""

from __future__ import annotations

import builtins
import itertools
import math
import mmap
import multiprocessing
import os
import select
import signal
import struct
import sys
import threading
import time
import weakref
from typing import Any

import numpy as np

from .. import threads
from ..engine import FirstOrderOnly, Function, Node, _state, backward
from ..ops import compiled
from ..tensor import Tensor
from .module import Module

POLL_S = 0.05  # how often a wait checks that the other side is still alive
BOX_BYTES = 1 << 23  # shared memory for the arrays of one direction's messages, per worker
SUMS_BOX_BYTES = 1 << 16  # the same for batch norm's sums (a few numbers per channel)
SPIN_S = 0.001  # how long a wait polls before it sleeps: a sleeping process wakes late
MAX_POOLS = 4  # models with workers at once (a GAN's two models alternate every step)
_calls = itertools.count(1)  # one id per forward or backward call, tagging every message


def enabled() -> bool:
    """Whether slices after the first run in worker processes (else on threads):
    TINYGRAD_CNN_SLICES is "processes" (the default, where fork exists) or "threads"."""
    choice = os.environ.get("TINYGRAD_CNN_SLICES", "processes").strip().lower()
    if choice not in ("processes", "threads"):
        raise ValueError(f"TINYGRAD_CNN_SLICES must be 'processes' or 'threads', got "
                         f"{os.environ['TINYGRAD_CNN_SLICES']!r}")
    return choice == "processes" and sys.platform.startswith("linux") and hasattr(os, "fork")


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


# ----- the control channel ----------------------------------------------------------------------
# A message is a fixed header of int64 fields on a socket; its array (a slice's rows, their
# gradient, a worker's output) goes through shared memory, and a list of ints or a text after
# the header. multiprocessing's pickled messages took several times as long from send to
# receipt between a step's layers (caches cold), four times on a step's critical path
# (docs/benchmarks.md, "Issue 19, round 2").
FORWARD, BACKWARD, STOP, OK, ERROR = 1, 2, 3, 4, 5  # the message kinds
PARTIAL, TOTAL, ABORT = 6, 7, 8  # on the batch-norm sums channel
_NO_ARRAY, _IN_BOX, _AFTER_HEAD = 0, 1, 2  # where a message's array is
MAX_DIMS = 16
# kind, call, a, b, where the array is (and its offset in the box), its dtype (char code), ndim,
# items, text bytes, dims
_HEAD = struct.Struct(f"<{10 + MAX_DIMS}q")
_NO_DIMS = (0,) * MAX_DIMS
_dtypes: dict[int, np.dtype] = {}


def _dtype_of(char: int) -> np.dtype:
    dtype = _dtypes.get(char)
    if dtype is None:
        dtype = _dtypes[char] = np.dtype(chr(char))
    return dtype


class _Channel:
    """One end of a worker's control socket: `send_box` is the shared memory this end writes
    arrays to, `recv_box` the other end's. A message's array is only rewritten after its reader
    answered (one exchange at a time per worker), so a box holds one array at a time. With
    `halves`, arrays go to the two halves of the box in turn: for an exchange where each side
    sends before it reads (batch norm's sums between two slices), a side's next array is only
    written after it received the other side's answer to the one before."""

    def __init__(self, end: Any, send_box: mmap.mmap, recv_box: mmap.mmap,
                 halves: bool = False) -> None:
        self.end, self.fd = end, end.fileno()
        self.send_box, self.recv_box = send_box, recv_box
        self.room = len(send_box) // 2 if halves else len(send_box)  # bytes for one array
        self.halves, self.turn = halves, 0
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)  # a closed other end shows as POLLHUP

    def close(self) -> None:
        self.end.close()

    def ready(self, timeout_s: float) -> bool:
        """Whether a message (or the other end's close) is waiting, within timeout_s."""
        return bool(self.poller.poll(timeout_s * 1000))

    def send(self, kind: int, call: int = 0, a: int = 0, b: int = 0,
             array: np.ndarray | None = None, items: Any = (), text: str = "") -> None:
        # a message crosses between a step's layers, its code and data out of the caches: few
        # calls, one write (docs/benchmarks.md, "Issue 19, round 3")
        where = at = char = ndim = 0
        dims, tail = _NO_DIMS, []
        if array is not None:
            array = _plain(array)
            char, ndim = ord(array.dtype.char), array.ndim
            dims = array.shape + _NO_DIMS[ndim:]
            if array.nbytes <= self.room:
                where, at = _IN_BOX, self.room * self.turn
                if self.halves:
                    self.turn = 1 - self.turn
                box = np.frombuffer(self.send_box, array.dtype, array.size, at)
                np.copyto(box.reshape(array.shape), array)
            else:
                where = _AFTER_HEAD
                tail.append(np.ascontiguousarray(array).tobytes())
        if len(items):
            tail.append(np.asarray(items, dtype=np.int64).tobytes())
        encoded = text.encode("utf-8", "replace") if text else b""
        if encoded:
            tail.append(encoded)
        data = _HEAD.pack(kind, call, a, b, where, at, char, ndim, len(items), len(encoded),
                          *dims)
        if tail:
            data = b"".join([data, *tail])
        written = os.write(self.fd, data)
        if written < len(data):  # a large array after the header: the rest as the reader reads
            rest = memoryview(data)[written:]
            while rest:
                rest = rest[os.write(self.fd, rest):]

    def recv(self) -> tuple:
        """(kind, call, a, b, array or None, items, text); EOFError when the other end closed."""
        kind, call, a, b, where, at, char, ndim, n_items, n_text, *dims = _HEAD.unpack(
            self._read(_HEAD.size))
        array = None
        if where != _NO_ARRAY:
            dtype, shape = _dtype_of(char), tuple(dims[:ndim])
            count = math.prod(shape)
            if where == _IN_BOX:
                array = np.frombuffer(self.recv_box, dtype, count, at).reshape(shape).copy()
            else:
                array = np.frombuffer(self._read(count * dtype.itemsize), dtype, count)
                array = array.reshape(shape).copy()
        items: list[int] = []
        text = ""
        if n_items or n_text:
            rest = self._read(8 * n_items + n_text)
            items = list(struct.unpack_from(f"<{n_items}q", rest)) if n_items else []
            text = rest[8 * n_items:].decode("utf-8") if n_text else ""
        return kind, call, a, b, array, items, text

    def _read(self, size: int) -> bytes:
        chunk = os.read(self.fd, size)
        if len(chunk) == size:
            return chunk  # the usual case: the whole message was there
        chunks = [chunk]
        while True:
            if not chunk:
                raise EOFError("the other end of a batch-slice channel closed")
            size -= len(chunk)
            if not size:
                return b"".join(chunks)
            chunk = os.read(self.fd, size)
            chunks.append(chunk)


# batch norm's sums: a partial is a number, a NumPy scalar or array, or a tuple of these; its
# parts travel as one byte array, described by int64 items (tag, dtype char, ndim, dims)
_ARRAY, _SCALAR, _INT, _FLOAT = 0, 1, 2, 3


def _pack(partial: Any) -> tuple[list[int], np.ndarray]:
    """(items, data) describing partial for `_unpack`; TypeError for what it cannot carry."""
    parts = partial if isinstance(partial, tuple) else (partial,)
    items, data = [int(isinstance(partial, tuple)), len(parts)], []
    for part in parts:
        if isinstance(part, np.ndarray):
            tag, array = _ARRAY, part
        elif isinstance(part, np.generic):
            tag, array = _SCALAR, np.asarray(part)
        elif isinstance(part, int):
            tag, array = _INT, np.asarray(part, dtype=np.int64)  # OverflowError past int64
        elif isinstance(part, float):
            tag, array = _FLOAT, np.asarray(part, dtype=np.float64)
        else:
            raise TypeError(f"a batch slice's sum must hold numbers or arrays, got "
                            f"{type(part).__name__} (set TINYGRAD_CNN_SLICES=threads)")
        array = _plain(array)
        items += [tag, ord(array.dtype.char), array.ndim, *array.shape]
        data.append(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return items, np.concatenate(data) if data else np.empty(0, np.uint8)


def _unpack(items: list[int], data: np.ndarray) -> Any:
    """The partial `_pack` described (each part a fresh array, a NumPy scalar or a number)."""
    is_tuple, n, at, offset, parts = items[0], items[1], 2, 0, []
    for _ in range(n):
        tag, char, ndim = items[at:at + 3]
        shape, at = tuple(items[at + 3:at + 3 + ndim]), at + 3 + ndim
        dtype = np.dtype(chr(char))
        count = int(np.prod(shape, dtype=np.int64))
        array = data[offset:offset + count * dtype.itemsize].view(dtype).reshape(shape).copy()
        offset += count * dtype.itemsize
        parts.append(array if tag == _ARRAY else array[()] if tag == _SCALAR
                     else int(array) if tag == _INT else float(array))
    return tuple(parts) if is_tuple else parts[0]


_PLAIN = {np.dtype(t) for t in (np.float32, np.float64, np.float16, np.int64, np.int32,
                                 np.uint8, np.bool_)}  # the usual ones, checked at once


def _plain(array: np.ndarray) -> np.ndarray:
    """array with a dtype its one-letter code names (native byte order), at most MAX_DIMS."""
    if array.dtype in _PLAIN and array.ndim <= MAX_DIMS:
        return array
    if array.ndim > MAX_DIMS:
        raise ValueError(f"a batch slice's output has {array.ndim} dimensions; worker "
                         f"processes pass at most {MAX_DIMS} (set TINYGRAD_CNN_SLICES=threads)")
    if np.dtype(array.dtype.char) != array.dtype:
        native = array.dtype.newbyteorder("=")
        if np.dtype(native.char) != native:
            raise TypeError(f"a batch slice's arrays must hold plain numbers, got dtype "
                            f"{array.dtype} (set TINYGRAD_CNN_SLICES=threads)")
        array = array.astype(native)
    return array


# ----- this process's side ---------------------------------------------------------------------
class _Worker:
    """One forked process running slice `index` of the model's batches."""

    def __init__(self, model: Module, members: Any, values: _Shared, index: int) -> None:
        self.grads = _Shared([p.data for p in members.params])
        to_worker, to_main = mmap.mmap(-1, BOX_BYTES), mmap.mmap(-1, BOX_BYTES)
        context = multiprocessing.get_context("fork")
        ctl, child_ctl = context.Pipe()
        self.ctl = _Channel(ctl, send_box=to_worker, recv_box=to_main)
        sums, child_sums = context.Pipe()  # batch norm's sums
        sums_to_worker, sums_to_main = (mmap.mmap(-1, SUMS_BOX_BYTES) for _ in range(2))
        self.sums = _Channel(sums, send_box=sums_to_worker, recv_box=sums_to_main, halves=True)
        _workers.add(self)  # a child forked from now on closes its copy of these ends
        self.process = context.Process(
            target=_serve, args=(model, members, (child_ctl, to_main, to_worker),
                                 (child_sums, sums_to_main, sums_to_worker), values, self.grads,
                                 index),
            daemon=True, name=f"tinygrad_cnn slice {index}")
        self.process.start()
        child_ctl.close()
        child_sums.close()
        self.send_lock = threading.Lock()  # a graph's drop may come from another thread
        self.failed: set[int] = set()  # calls that failed: a wait in all_sum stops at once
        self.dropped: list[int] = []  # forward calls whose graphs it may free (next message)
        self.graphs_held = 0  # how many graphs it kept at its last answer (tests read it)

    def send(self, kind: int, call: int = 0, a: int = 0, b: int = 0,
             array: np.ndarray | None = None) -> None:
        """A message (_Channel.send), with the graphs the worker may free since the last one."""
        try:
            with self.send_lock:
                dropped = self.dropped[:]
                del self.dropped[:len(dropped)]  # in place: finalizers hold this list's append
                self.ctl.send(kind, call, a, b, array, dropped)
        except (OSError, ValueError) as error:
            raise SliceFailed(f"a batch-slice worker process ended ({error})") from None

    def alive(self, call: int) -> bool:
        return call not in self.failed and self.process.is_alive()

    def result(self, call: int) -> tuple[np.ndarray | None, list[int]]:
        """The worker's answer to `call` (a forward's output; a backward's parameters with a
        gradient), or its error raised here. One thread at a time waits for a given worker:
        the forward's caller, then the backward's RemoteSlice."""
        ready = _spin(self.ctl)
        while True:
            if not ready:
                try:
                    ready = self.ctl.ready(POLL_S)
                except (OSError, ValueError):
                    ready = False
            if not ready:
                if not self.process.is_alive():
                    self.failed.add(call)
                    raise SliceFailed("a batch-slice worker process ended")
                continue
            try:
                kind, answered, held, _, array, items, text = self.ctl.recv()
            except (EOFError, OSError, ValueError):
                self.failed.add(call)
                raise SliceFailed("a batch-slice worker process ended") from None
            if answered != call:
                ready = False
                continue  # the answer to a call its caller gave up on
            if kind == ERROR:
                self.failed.add(call)
                name, _, text = text.partition("\n")
                raise _rebuilt(name, text)
            self.graphs_held = held
            return array, items

    def close(self) -> None:
        try:
            self.send(STOP)
        except SliceFailed:
            pass
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.kill()


def _spin(channel: _Channel) -> bool:
    """Whether a message came to `channel` within SPIN_S, polling without sleeping: the
    answers of a step come within a fraction of a millisecond of each other, and waking a
    process that slept costs about that much."""
    deadline = time.perf_counter() + SPIN_S
    poll = channel.poller.poll
    try:
        while True:
            if poll(0):
                return True
            if time.perf_counter() > deadline:
                return False
    except (OSError, ValueError):
        return False


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
        # its last split's parameters and buffers (start_early); not the members, which hold
        # the model: the pool ends when the model does
        self.tensors: list[Tensor] | None = None
        # held for each exchange with the workers (a forward, a backward): another thread's
        # split of the same model in the meantime runs on threads, its answers not mixed in
        self.busy = threading.RLock()

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


_pools: dict[int, tuple[weakref.ref, _Pool]] = {}


def _pool_for(model: Module, n: int, members: Any) -> _Pool:
    """The model's workers (forked now if it has none, or its structure changed)."""
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
        for end in (worker.ctl.end, worker.sums.end):
            try:
                end.close()
            except OSError:
                pass
    _workers.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


class _MainGroup:
    """threads.all_sum for slice 0 here, the other slices in workers: their partial sums come
    through each worker's `sums` channel and the total goes back (added in slice order); with one
    worker the two sides exchange partials instead, and each adds them."""

    def __init__(self, workers: list[_Worker], call: int, reads_results: bool) -> None:
        # reads_results: in a forward this thread is the one reading each worker's answers, so
        # an answer arriving while it waits for a sum is read here (it is an error)
        self.workers, self.call, self.reads_results = workers, call, reads_results
        self.met = False  # whether the slices met at all (batch norm in training)

    def all_sum(self, index: int, partial: Any) -> Any:
        self.met = True
        # one worker, and a partial that fits its half of the box: each side sends its partial
        # and adds the two itself, in slice order (the same bits on both); else the partials
        # come here and the total goes back
        exchange = False
        if len(self.workers) == 1:
            items, data = _pack(partial)
            exchange = data.nbytes <= self.workers[0].sums.room
        if exchange:
            self.workers[0].sums.send(PARTIAL, self.call, array=data, items=items)
        total = threads.add_in_order([partial, *[self._partial_of(w) for w in self.workers]])
        if not exchange:
            items, data = _pack(total)
            for worker in self.workers:
                worker.sums.send(TOTAL, self.call, array=data, items=items)
        return total

    def _partial_of(self, worker: _Worker) -> Any:
        ready = _spin(worker.sums)
        while True:
            if ready or worker.sums.ready(POLL_S):
                ready = False
                try:
                    _, call, _, _, data, items, _ = worker.sums.recv()
                except EOFError:
                    raise SliceFailed("a batch-slice worker process ended") from None
                if call == self.call:
                    return _unpack(items, data)
                continue  # left over from a call that failed
            if self.reads_results and worker.ctl.ready(0):
                worker.result(self.call)  # the worker's error, raised here
            if not worker.alive(self.call):
                raise SliceFailed("another slice of the batch failed")

    def abort(self) -> None:
        for worker in self.workers:
            try:
                worker.sums.send(ABORT, self.call)
            except (OSError, ValueError):
                pass


class Split:
    """One split forward call: its pool, the ids its messages carry, and whether its slices
    met in all_sum (batch norm in training)."""

    def __init__(self, pool: _Pool, call: int, met: bool) -> None:
        self.pool, self.forward_call, self.met = pool, call, met
        self.backward_call = 0
        self.sent: set[int] = set()  # slices whose worker has its rows of this backward
        self.lend = False  # whether RemoteSlice.backward may return views of shared memory

    def run_branches(self, walk: Any, retain_graph: bool) -> list:
        """JoinSlices.run_branches for worker slices: each worker gets its rows of the gradient
        (JoinSlices.backward left them in `rows`) and runs its backward while slice 0's runs
        here, their batch norm sums meeting; then each worker's branch only collects the
        answer (RemoteSlice.backward). Without retain_graph a worker frees its graph as it
        goes, as the engine does here."""
        with self.pool.busy:  # one exchange with these workers at a time
            return self._run_branches(walk, retain_graph)

    def _run_branches(self, walk: Any, retain_graph: bool) -> list:
        self.backward_call = next(_calls)
        for index, (worker, grad) in enumerate(zip(self.pool.workers, self.rows[1:]), start=1):
            worker.send(BACKWARD, self.backward_call, self.forward_call, retain_graph, grad)
            self.sent.add(index)
        self.rows = None
        group = _MainGroup(self.pool.workers, self.backward_call, reads_results=True)
        try:
            with threads.blas_threads(1), threads.member(group, 0):
                first = walk(0)
        except BaseException:
            group.abort()
            raise
        self.lend = True  # RemoteSlice hands over the shared gradients themselves (below)
        try:
            rest = [walk(index) for index in range(1, self.pool.n)]
        finally:
            self.lend = False
        # the engine adds each branch's leaf gradient to slice 0's, into a new array, so a
        # worker's gradient can stay in shared memory until then; one slice 0 has no gradient
        # for would be kept as it is: a copy
        local = {id(node) for node, _ in first[0]}
        for ends, _, _ in rest:
            ends[:] = [(node, g if id(node) in local else g.copy()) for node, g in ends]
        return [first, *rest]


class Early:
    """A forward call sent to a model's workers before the step's member walk and checks
    (`start_early`), on the members of the model's last split: `run_forward` goes on with it
    when the checks find the same model, else `cancel` reads the workers' answers and drops
    them. It holds the pool's `busy` lock until one of the two."""

    def __init__(self, pool: _Pool, call: int, spans: list) -> None:
        self.pool, self.call, self.spans = pool, call, spans

    def cancel(self) -> None:
        try:
            _MainGroup(self.pool.workers, self.call, reads_results=False).abort()
            _abandon(self.pool.workers, set(), self.call)
        finally:
            self.pool.busy.release()


def start_early(model: Module, x: Tensor, n: int) -> Early | None:
    """Send model(x)'s rows to the workers of the model's last split now, with the parameters
    of that split's members (their current values): the step's walk over the model and its
    checks then run while the workers compute, instead of before. None where that cannot be: no
    split yet, another thread in an exchange, a parameter no longer of its shape or dtype."""
    if not (_state.grad_enabled and not x.requires_grad and enabled()):
        return None
    entry = _pools.get(id(model))
    if entry is None:
        return None
    ref, pool = entry
    tensors = pool.tensors
    if ref() is not model or pool.n != n or tensors is None:
        return None
    if any(t.data.shape != v.shape or t.data.dtype != v.dtype
           for t, v in zip(tensors, pool.values.views)):
        return None
    if not pool.busy.acquire(blocking=False):
        return None
    spans, sent, call = threads.bounds(x.shape[0], n), [], next(_calls)
    try:
        _send_forward(pool, x, spans, tensors, sent, call)
    except SliceFailed:  # a worker ended: the step's own path forks a new one
        try:
            _abandon(sent, set(), call)
        finally:
            pool.busy.release()
        return None
    except BaseException:
        pool.busy.release()
        raise
    return Early(pool, call, spans)


def _send_forward(pool: _Pool, x: Tensor, spans: list, tensors: list, sent: list,
                  call: int) -> None:
    """Parameter and buffer values into shared memory, each worker its rows of forward call
    `call` (`sent`: those that got them)."""
    for view, tensor in zip(pool.values.views, tensors):
        view[...] = tensor.data  # same shape and dtype: the fingerprint says so
    for worker, (start, stop) in zip(pool.workers, spans[1:]):
        worker.send(FORWARD, call, array=x.data[start:stop])
        sent.append(worker)


def _abandon(sent: list, answered: set, call: int) -> None:
    """A forward call given up: each worker that got it finishes or fails (its answer read
    and dropped), and frees its graph with its next message."""
    for worker in sent:
        if call not in worker.failed and worker not in answered:
            try:
                worker.result(call)
            except Exception:  # noqa: BLE001 (the caller says what is wrong)
                pass
        worker.dropped.append(call)


def run_forward(model: Module, x: Tensor, n: int, spans: list, members: Any,
                early: Early | None = None) -> tuple[list, Split] | None:
    """Slice 0 of model(x) here and the others in the model's workers: (the outputs, slice 0's
    a Tensor, the others' arrays; the Split). None when another thread is in an exchange with
    this model's workers (the caller splits on threads instead). `early`: the call
    `start_early` sent, used if it went to this model's current pool, else cancelled."""
    try:
        pool = _pool_for(model, n, members)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    if early is not None and (early.pool is not pool or early.spans != spans):
        early.cancel()
        early = None
    if early is None and not pool.busy.acquire(blocking=False):
        return None
    try:
        return _run_forward(pool, model, x, spans, members, early)
    finally:
        pool.busy.release()  # the early call's hold, or this call's


def _run_forward(pool: _Pool, model: Module, x: Tensor, spans: list, members: Any,
                 early: Early | None) -> tuple[list, Split]:
    sent: list[_Worker] = list(pool.workers) if early is not None else []
    answered: set[_Worker] = set()
    outs: list = []
    call = early.call if early is not None else next(_calls)
    group = _MainGroup(pool.workers, call, reads_results=True)
    try:
        if early is None:
            _send_forward(pool, x, spans, [*members.params, *members.buffers], sent, call)
        start, stop = spans[0]
        with threads.blas_threads(1), threads.member(group, 0):
            first = model.forward(x[start:stop])
        if type(first) is not Tensor:
            raise TypeError(f"{type(model).__name__}: a forward split into batch slices must "
                            f"return a Tensor, got {type(first).__name__}")
        outs.append(first)
        for worker in pool.workers:
            outs.append(worker.result(call)[0])
            answered.add(worker)
    except BaseException:
        group.abort()
        _abandon(sent, answered, call)  # each finishes or fails before the serial rerun
        raise
    pool.tensors = [*members.params, *members.buffers]  # the next step's start_early sends these
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
        weakref.finalize(token, worker.dropped.append, split.forward_call)
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
        with split.pool.busy:
            if ctx.index in split.sent:  # run_branches sent the rows already
                split.sent.discard(ctx.index)
            else:
                split.backward_call = next(_calls)
                worker.send(BACKWARD, split.backward_call, split.forward_call, True, grad_out)
            got = set(worker.result(split.backward_call)[1])
        views = worker.grads.views
        return tuple([None if i not in got else views[i] if split.lend else views[i].copy()
                      for i in ctx.which])


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


# ----- the worker's side ------------------------------------------------------------------------
class _WorkerGroup:
    """threads.all_sum in a worker: its partial to the main process; back comes the total, or
    slice 0's partial (one worker), which it adds to its own in slice order."""

    def __init__(self, sums: _Channel) -> None:
        self.sums, self.call = sums, 0

    def all_sum(self, index: int, partial: Any) -> Any:
        items, data = _pack(partial)
        self.sums.send(PARTIAL, self.call, array=data, items=items)
        while True:
            _spin(self.sums)  # then recv sleeps until the answer comes
            kind, call, _, _, data, items, _ = self.sums.recv()
            if call != self.call:
                continue  # left over from a call that failed
            if kind == ABORT:
                raise SliceFailed("another slice of the batch failed")
            if kind == TOTAL:
                return _unpack(items, data)
            return threads.add_in_order([_unpack(items, data), partial])  # slice 0's, then ours

    def abort(self) -> None:
        pass  # the main process learns of it from the call's result


def _serve(model: Module, members: Any, ctl: tuple, sums: tuple, values: _Shared,
           grads: _Shared, index: int) -> None:
    """The worker's loop: forward and backward calls on its copy of the model (`ctl` and `sums`:
    its end of each channel's socket, then that channel's send and receive boxes)."""
    # Ctrl-C is the training process's to handle (models/mnist.py finishes the step); the
    # worker ends when that process closes its pipe or exits
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = _Channel(*ctl)
    params = members.params  # the lists the main process laid the shared memory out by
    for tensor, view in zip([*params, *members.buffers], values.views):
        tensor.data = view  # the values the main process wrote before each call
        tensor._hooks = ()  # a parameter's hooks run once, in the main process, on the sum
    threads.set_blas_threads(1)  # one BLAS thread for good in this process
    group = _WorkerGroup(_Channel(*sums, halves=True))
    graphs: dict[int, Tensor] = {}
    while True:
        try:
            _spin(channel)
            kind, call, graph, retain, array, dropped, _ = channel.recv()
        except (EOFError, OSError):
            return
        for done in dropped:  # the main process freed these graphs
            graphs.pop(done, None)
        if kind == STOP:
            return
        group.call = call
        try:
            if kind == FORWARD:  # array: its rows of the batch
                _state.grad_enabled = True
                with threads.member(group, index):
                    out = model.forward(Tensor(array, dtype=None))
                graphs[call] = out
                channel.send(OK, call, len(graphs), array=out.data)
            else:  # BACKWARD of forward call `graph`'s graph; array: its output's gradient
                with threads.member(group, index):
                    found = _leaf_grads(graphs[graph], array, bool(retain))
                got = []
                for i, (param, view) in enumerate(zip(params, grads.views)):
                    grad = found.get(id(param))
                    if grad is not None:
                        np.copyto(view, grad)
                        got.append(i)
                channel.send(OK, call, len(graphs), items=got)
                if not retain:
                    del graphs[graph]  # freed after the answer, off the step's path
        except BaseException as error:  # noqa: BLE001 (sent to the main process, which raises)
            try:
                channel.send(ERROR, call, text=f"{type(error).__name__}\n{error}")
            except (OSError, ValueError):
                return


def _leaf_grads(out: Tensor, grad: np.ndarray, retain: bool) -> dict[int, Any]:
    """Backward of out's graph (freeing what it saved unless `retain`, as the engine does);
    the gradients of its leaves, by id."""
    found: dict[int, Any] = {}

    def deliver(node: Node, g: Any) -> None:
        if node._ctx is None:
            found[id(node)] = g
    backward(out, grad, retain_graph=retain, deliver=deliver)
    return found
