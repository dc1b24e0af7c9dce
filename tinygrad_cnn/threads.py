"""How many threads a step uses, and the small pool that runs slices of a batch on them.

`set_num_threads(n)` / `get_num_threads()` are PyTorch's names. The count starts at the standard
`OMP_NUM_THREADS` when set, else the CPUs this process may run on. It decides two things: how
many slices `nn.Sequential` splits a training batch into (nn/parallel.py: one Python thread per
slice; NumPy and BLAS release the GIL while they compute), and how many threads BLAS uses for a
matrix product outside a split. Inside a split BLAS runs one thread per slice, so the two pools
never ask for more cores than there are (`blas_threads`).

Slices that must agree on a number computed from the whole batch (batch norm's mean and
variance) meet in `all_sum`: each slice's partial sum, added in slice order once every slice has
given its own. Outside a split `all_sum` returns its argument, so an op calls it unconditionally.

BLAS's threads are set through threadpoolctl when it is installed (a dependency; the core still
imports without it, and then BLAS keeps the thread count it started with).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _threads_from_environment() -> int:
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


_num_threads = _threads_from_environment()


def get_num_threads() -> int:
    """The threads a step may use (PyTorch's `torch.get_num_threads`)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use n threads: n batch slices per split step and n BLAS threads outside a split
    (PyTorch's `torch.set_num_threads`). 1 runs everything on the calling thread."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    _num_threads = n
    _blas().set(n)


# ----- BLAS's own threads ----------------------------------------------------------------------
class _Blas:
    """The loaded BLAS libraries' thread counts, through threadpoolctl (found once: finding the
    libraries takes about a millisecond, setting a count about a microsecond)."""

    def __init__(self) -> None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            self.libraries: list[Any] = []
        else:
            self.libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        self.threads = [lib.num_threads for lib in self.libraries]

    def set(self, n: int) -> None:
        for lib in self.libraries:
            lib.set_num_threads(n)
        self.threads = [n] * len(self.libraries)


_blas_state: _Blas | None = None


def _blas() -> _Blas:
    global _blas_state
    if _blas_state is None:
        _blas_state = _Blas()
    return _blas_state


def set_blas_threads(n: int) -> None:
    """BLAS at n threads from now on (a batch-slice worker process: 1)."""
    _blas().set(n)


class blas_threads:  # noqa: N801 (used like a function: `with blas_threads(1):`)
    """BLAS at n threads inside the block, back to its count after it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        blas = _blas()
        self.before = blas.threads
        if any(t != self.n for t in self.before):
            blas.set(self.n)

    def __exit__(self, *exc: object) -> None:
        blas = _blas()
        for lib, n in zip(blas.libraries, self.before):
            if n != self.n:
                lib.set_num_threads(n)
        blas.threads = self.before


# ----- slices of one batch, and what they share ---------------------------------------------------
class SliceGroup:
    """The n slices of one split call. Slice i runs on its own thread with `slice_of()` giving
    (this group, i); `all_sum` meets the other slices at a barrier."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.barrier = threading.Barrier(n)
        self.partials: dict[tuple[int, int], Any] = {}  # (call number, slice) -> partial sum
        self.calls = [0] * n

    def all_sum(self, index: int, partial: Any) -> Any:
        call = self.calls[index]
        self.calls[index] = call + 1
        self.partials[call, index] = partial
        self.barrier.wait()  # every slice has put its partial for this call
        return add_in_order([self.partials[call, i] for i in range(self.n)])

    def abort(self) -> None:
        self.barrier.abort()  # a slice waiting in all_sum gets BrokenBarrierError


def add_in_order(parts: list) -> Any:
    """The slices' partials added in slice order, so every slice (thread or worker process)
    gets the same bits; tuples (several sums at one meeting) element by element."""
    if isinstance(parts[0], tuple):
        return tuple([add_in_order(list(p)) for p in zip(*parts)])
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


class _Current(threading.local):
    group: SliceGroup | None = None
    index = 0


_current = _Current()


class member:  # noqa: N801 (used like a function: `with member(group, 0):`)
    """Run the block as slice `index` of `group` on this thread (run_slices does it for its
    slices; nn/slice_workers.py for the slice a process runs)."""

    def __init__(self, group: Any, index: int) -> None:
        self.group, self.index = group, index

    def __enter__(self) -> None:
        _current.group, _current.index = self.group, self.index

    def __exit__(self, *exc: object) -> None:
        _current.group, _current.index = None, 0


def slice_of() -> tuple[SliceGroup | None, int]:
    """(the group, this slice's index) on a slice's thread; (None, 0) elsewhere."""
    return _current.group, _current.index


def all_sum(partial: Any) -> Any:
    """The sum of every slice's `partial` (arrays or numbers), the same on every slice; outside
    a split, `partial` itself."""
    group = _current.group
    return partial if group is None else group.all_sum(_current.index, partial)


def first_slice() -> bool:
    """True outside a split and on slice 0: where a once-per-batch update (running statistics,
    a counter) happens."""
    return _current.index == 0


# ----- the pool -------------------------------------------------------------------------------
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _reset_after_fork() -> None:  # a forked child has none of the parent's threads
    global _pool, _pool_size, _blas_state
    _pool, _pool_size, _blas_state = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def run_slices(work: Callable[[int], Any], n: int, group: Any = None) -> list[Any]:
    """work(0), ..., work(n - 1) at once, slice 0 on the calling thread and the others on the
    pool's, each inside `group` (a new SliceGroup unless given: anything with `all_sum(index,
    partial)` and `abort()`) with BLAS at 1 thread; their results in slice order. An exception
    in one slice releases the others from `all_sum` and is raised here."""
    global _pool, _pool_size
    if _pool is None or _pool_size < n - 1:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool, _pool_size = ThreadPoolExecutor(n - 1, thread_name_prefix="tinygrad_cnn"), n - 1
    group = SliceGroup(n) if group is None else group

    def in_group(index: int) -> Any:
        _current.group, _current.index = group, index
        try:
            return work(index)
        except BaseException:
            group.abort()  # a slice waiting in all_sum gets an error instead of waiting on
            raise
        finally:
            _current.group, _current.index = None, 0

    with blas_threads(1):
        futures = [_pool.submit(in_group, i) for i in range(1, n)]
        results: list[Any] = [None] * n
        errors: list[BaseException] = []
        try:
            results[0] = in_group(0)
        except BaseException as error:  # noqa: BLE001 (re-raised below, after the others end)
            errors.append(error)
        for i, future in enumerate(futures, start=1):
            try:
                results[i] = future.result()
            except BaseException as error:  # noqa: BLE001
                errors.append(error)
    if errors:  # the first cause, not a BrokenBarrierError another slice got from it
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                   errors[0])
    return results


def bounds(size: int, n: int) -> Sequence[tuple[int, int]]:
    """n contiguous (start, stop) slices of range(size), sizes differing by at most one."""
    return [(size * i // n, size * (i + 1) // n) for i in range(n)]
