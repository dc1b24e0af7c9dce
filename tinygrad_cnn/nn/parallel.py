"""A batch split across threads: `nn.Sequential` runs slices of a batch on `tg.get_num_threads()`
threads, forward and backward, when every layer treats samples independently.

Why threads work here: almost all of a step's time is inside NumPy and BLAS, which release
Python's GIL, so two slices of a batch compute at once on two cores; the Python between the
ops (building the graph, the engine's walk) still takes turns. One hand-off per forward and one
per backward, not one per op: each slice runs the whole Sequential and records its own graph.

The graph is the true one: each slice's ops (a Conv2d per slice, ...) joined by `JoinSlices`,
so the graph viewer, saved-memory and every other reader see what ran. In backward the engine
walks each slice's part on the slice's thread (`JoinSlices.run_branches`, engine.py's
`_walk_branches`); a parameter's gradients from the slices are added in slice order, so `.grad`
is the serial step's up to float summation order. Batch norm in training is the one layer here
that mixes samples: its slices meet twice forward and once backward to add their per-channel
sums (`threads.all_sum`), so its statistics are the whole batch's, as PyTorch's SyncBatchNorm
does across processes; running statistics are updated once.

On Linux a training split runs its slices after the first in worker processes instead
(nn/slice_workers.py: the threads' turns at the GIL cost LeNet-5 most of what the second core
gave); the graph then holds slice 0's ops and one `RemoteSlice` per worker. Threads remain under
`no_grad`, for a batch that requires grad, where fork is missing, and with
`TINYGRAD_CNN_SLICES=threads`.

When it splits (`slices_for`): batches of at least 2 * MIN_SLICE samples, more than one thread,
a batch that is a leaf (no recorded history), parameters that are leaves, no forward hooks,
no observers (profiler, anomaly mode, explorer: they time every op on one thread), not already
inside a slice or inside another module's forward, and layers of the types in PER_SAMPLE (a
layer of another type, yours included, may mix samples: the Sequential then runs serially).
`tg.set_num_threads(1)` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import threads
from ..engine import Function, Node, _state
from ..tensor import Tensor
from . import activation, container, layers, layers1d, norm, slice_workers, sparse
from .module import Module

MIN_SLICE = 64  # samples per slice; smaller slices were slower than serial (docs/benchmarks.md)

# layers whose output for a sample depends only on that sample (batch norm: see all_sum)
PER_SAMPLE = (
    layers.Linear, layers.Conv2d, layers.MaxPool2d, layers.AvgPool2d, layers.AdaptiveAvgPool2d,
    layers.Flatten, layers1d.Conv1d, layers1d.MaxPool1d, layers1d.AvgPool1d,
    activation.Sigmoid, activation.ReLU, activation.ReLU6, activation.Hardtanh, activation.Tanh,
    activation.LeakyReLU, activation.SiLU, activation.ELU, activation.Softplus, activation.GELU,
    norm.BatchNorm1d, norm.BatchNorm2d, norm.LayerNorm, norm.GroupNorm, norm.Normalization,
    container.Identity, sparse.Embedding,
)


def _per_sample(module: Module) -> bool:
    kind = type(module)
    if kind in PER_SAMPLE:
        return kind is not layers.Flatten or module.start_dim >= 1
    if kind in (layers.Dropout, layers.Dropout2d):  # random masks: only when they do nothing
        return not module.training or module.p == 0
    if kind in (activation.Softmax, activation.LogSoftmax):
        return module.dim is not None and (module.dim >= 1 or module.dim == -1)
    return kind is container.Sequential  # its layers are in the walk too


class Members:
    """A model's modules (parents first), parameters and buffers (each once), in one walk:
    Module.parameters() and .buffers() walk every module again each, and the split reads all
    three on every step."""

    def __init__(self, model: Module) -> None:
        self.modules: list[Module] = []
        self.params: list[Any] = []
        self.buffers: list[Any] = []
        self.early: Any = None  # a forward sent ahead to worker processes (slices_for)
        seen: set[int] = set()
        stack = [model]
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            self.modules.append(module)
            params, buffers, children = module._members()
            for found, into in ((params, self.params), (buffers, self.buffers)):
                for _, tensor in found:
                    if id(tensor) not in seen:
                        seen.add(id(tensor))
                        into.append(tensor)
            stack.extend(child for _, child in reversed(children))


def slices_for(model: Module, x: Any) -> tuple[int, Members | None]:
    """How many slices `model(x)` runs in (1: serially, on this thread), and the model's
    members when more than one."""
    n = threads.get_num_threads()
    if n < 2 or not isinstance(x, Tensor) or x.ndim < 2 or x._ctx is not None:
        return 1, None
    n = min(n, x.shape[0] // MIN_SLICE)
    if n < 2 or _state.observers or threads.slice_of()[0] is not None:
        return 1, None
    if len(_state.module_stack) > 1:  # inside another module's forward: hooks there see it all
        return 1, None
    # the workers of the model's last split may start on their rows now, before the walk and
    # the checks below (run_forward goes on with them, or they are told to drop it)
    early = slice_workers.start_early(model, x, n)
    try:
        members = Members(model)
        splits = all(_per_sample(module) and not module.__dict__.get("_forward_hooks")
                     for module in members.modules) and all(p._ctx is None for p in members.params)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    if not splits:
        if early is not None:
            early.cancel()
        return 1, None
    members.early = early
    return n, members


def run_split(model: container.Sequential, x: Tensor, n: int, members: Members) -> Tensor:
    """model(x) in n slices of the batch on n threads; the slices' outputs joined (JoinSlices)."""
    spans = threads.bounds(x.shape[0], n)
    recording = _state.grad_enabled

    def run(index: int) -> Tensor:
        _state.grad_enabled = recording  # a pool thread has its own mode
        start, stop = spans[index]
        out = model.forward(x[start:stop])  # a view; recorded when x requires grad
        if type(out) is not Tensor:
            raise TypeError(f"{type(model).__name__}: a forward split into batch slices must "
                            f"return a Tensor, got {type(out).__name__}")
        return out

    early, members.early = members.early, None  # rows sent ahead (slices_for), used once
    try:
        buffers = [b.data.copy() for b in members.buffers]  # running stats: a few KB
        params = members.params
        which = [i for i, p in enumerate(params) if p.requires_grad]
        workers = bool(recording and which and not x.requires_grad) and slice_workers.enabled()
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    if not workers and early is not None:
        early.cancel()
    try:
        done = slice_workers.run_forward(model, x, n, spans, members, early) if workers else None
        if done is not None:
            outs, split = done
            remote = [slice_workers.RemoteSlice.apply(
                *[params[i] for i in which], value=value, split=split, index=index, which=which)
                for index, value in enumerate(outs[1:], start=1)]
            return JoinSlices.apply(outs[0], *remote, split=split)
        outs = threads.run_slices(run, n)
    except Exception:
        # a slice failed: undo what the others updated, and let the serial forward say what
        # is wrong in the batch's own words (shapes of the batch, not of a slice)
        for buffer, before in zip(members.buffers, buffers):
            buffer.data[...] = before
        for module in model:
            x = module(x)
        return x
    return JoinSlices.apply(*outs)


class JoinSlices(Function):
    """out = the slices' outputs side by side (batch axis);  grad_slice_i = g's rows of slice i.
    The slices were computed on threads of their own, and so is their backward: the engine
    walks each slice's part of the graph on its thread (`run_branches`)."""

    graph_backward = True  # backward slices a graph node too (create_graph)

    @staticmethod
    def forward(ctx: Function, *outs: np.ndarray, split: Any = None) -> np.ndarray:
        ctx.stops = np.cumsum([len(out) for out in outs])[:-1]
        ctx.split = split  # slices in worker processes (nn/slice_workers.py), or None
        return np.concatenate(outs)

    @staticmethod
    def backward(ctx: Function, grad_out: Any) -> tuple:
        if isinstance(grad_out, Node):  # create_graph: the rows as recorded slices
            starts = [0, *ctx.stops]
            stops = [*ctx.stops, grad_out.shape[0]]
            return tuple(grad_out[a:b] for a, b in zip(starts, stops))
        rows = np.split(grad_out, ctx.stops)
        if ctx.split is not None:  # the workers' rows, sent as the engine walks on (below)
            ctx.split.rows = rows
        return tuple(rows)

    def run_branches(self, walk: Callable[[int], Any], retain_graph: bool) -> list:
        if self.split is not None:
            return self.split.run_branches(walk, retain_graph)
        return threads.run_slices(walk, len(self.parents))
