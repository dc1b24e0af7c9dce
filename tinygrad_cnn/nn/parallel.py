"""A batch split across threads: `nn.Sequential` runs slices of a batch on `tg.get_num_threads()`
threads, forward and backward, when every layer treats samples independently.

Why threads work here: almost all of a step's time is inside NumPy and BLAS, which release
Python's GIL, so two slices of a batch compute at once on two cores; the Python between the
ops (building the graph, the engine's walk) still takes turns. One hand-off per forward and one
per backward, not one per op: each slice runs the whole Sequential and keeps its own graph.

The split is one op in the graph (`SplitBatch`): its inputs are the batch and the parameters,
its output the slices' outputs side by side. Its backward runs each slice's own backward on
the slice's thread, the parameters' gradients captured there and summed in slice order, so
`.grad` ends up as the serial step's up to float summation order. Batch norm in training is the
one layer that mixes samples: its slices meet twice forward and once backward to add their
per-channel sums (`threads.all_sum`), so its statistics are the whole batch's, as PyTorch's
SyncBatchNorm does across processes; running statistics are updated once.

When it splits (`slices_for`): grad recording or not, batches of at least 2 * MIN_SLICE samples,
more than one thread, no forward hooks, tensor hooks on parameters or observers (profiler,
anomaly mode, explorer: they see every op), not already inside a slice, parameters that are
leaves, and layers of the types in PER_SAMPLE (a layer of another type, yours included, may
mix samples: the Sequential then runs serially). `tg.set_num_threads(1)` turns it off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import threads
from ..engine import Function, Node, _state, backward
from ..tensor import Tensor
from . import activation, container, layers, layers1d, norm, sparse
from .module import Module

MIN_SLICE = 32  # samples per slice: below, the per-slice Python outweighs what a thread saves

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
        return kind not in (layers.Flatten,) or module.start_dim >= 1
    if kind in (layers.Dropout, layers.Dropout2d):  # random masks: only when they do nothing
        return not module.training or module.p == 0
    if kind in (activation.Softmax, activation.LogSoftmax):
        return module.dim is not None and (module.dim >= 1 or module.dim == -1)
    if kind is container.Sequential:
        return all(_per_sample(child) for child in module)
    return False


def slices_for(model: Module, x: Any) -> int:
    """How many slices `model(x)` runs in: 1 means serially, on this thread."""
    n = threads.get_num_threads()
    if n < 2 or type(x) is not Tensor or x.ndim < 2 or x._ctx is not None:
        return 1
    n = min(n, x.shape[0] // MIN_SLICE)
    if n < 2 or _state.observers or threads.slice_of()[0] is not None:
        return 1
    if len(_state.module_stack) > 1:  # inside another module's forward: hooks there see it all
        return 1
    if not _per_sample(model):
        return 1
    for module in model.modules():
        if module.__dict__.get("_forward_hooks"):
            return 1
    for param in model.parameters():
        if param._hooks or param._ctx is not None:
            return 1
    return n


def run_split(model: container.Sequential, x: Tensor, n: int) -> Tensor:
    """model(x) in n slices of the batch on n threads, recorded as one SplitBatch op."""
    params = [p for p in model.parameters() if p.requires_grad]
    return SplitBatch.apply(x, *params, model=model, n=n, requires_x=x.requires_grad)


class SplitBatch(Function):
    """out = the model's outputs for n slices of the batch, computed on n threads, side by side;
    grad = each slice's backward on its thread: grad_x side by side, each parameter's gradient
    summed over the slices."""
    rule = "each slice's backward on its own thread; parameter gradients summed over slices"

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, *params: np.ndarray, model: Module, n: int,
                requires_x: bool) -> np.ndarray:
        spans = threads.bounds(x.shape[0], n)
        recording = _state.grad_enabled

        def run(index: int) -> tuple[Tensor, Tensor]:
            start, stop = spans[index]
            piece = Tensor(x[start:stop], requires_grad=requires_x and recording, dtype=None)
            _state.grad_enabled = recording  # a pool thread starts with its own mode
            out = model.forward(piece)
            if type(out) is not Tensor:
                raise TypeError(f"{type(model).__name__}: a split forward must return a Tensor, "
                                f"got {type(out).__name__}")
            return piece, out

        results = threads.run_slices(run, n)
        outs = [out for _, out in results]
        ctx.pieces = [piece for piece, _ in results]
        ctx.spans, ctx.n = spans, n
        ctx.save_for_backward(*outs)  # their graphs go when the engine frees these
        return np.concatenate([out.data for out in outs])

    @staticmethod
    def backward(ctx: Function, grad_out: Any) -> tuple:
        outs, params = ctx.saved_tensors, ctx.parents[1:]
        if isinstance(grad_out, Node):
            raise RuntimeError(
                "create_graph through a batch split across threads is not supported: its "
                "slices' batch norm statistics are not graph ops. Call "
                "tg.set_num_threads(1) before the forward pass to differentiate twice.")
        spans, pieces = ctx.spans, ctx.pieces
        wanted = {id(p): i for i, p in enumerate(params)}

        def run(index: int) -> dict[int, Any]:
            found: dict[int, Any] = {}

            def deliver(node: Node, grad: Any) -> None:
                if node._ctx is None:  # a leaf: a parameter or this slice's input
                    found[id(node)] = grad
            start, stop = spans[index]
            backward(outs[index], grad_out[start:stop], retain_graph=True, deliver=deliver)
            return found

        found = threads.run_slices(run, ctx.n)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = np.concatenate([_or_zeros(f.get(id(piece)), piece.data)
                                     for f, piece in zip(found, pieces)])
        grads: list[Any] = [None] * len(params)
        for f in found:  # slice order: the same sum on every run
            for key, g in f.items():
                i = wanted.get(key)
                if i is not None:
                    grads[i] = g if grads[i] is None else grads[i] + g
        return (grad_x, *grads)


def _or_zeros(grad: Any, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if grad is None else grad
