"""The autograd engine: Function and its context, graph recording, topological sort, backward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np

from . import memory
from .grad_mode import (  # noqa: F401 (re-exported: autograd.no_grad, autograd._state, ...)
    _state,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

if TYPE_CHECKING:
    from .tensor import Tensor


class module_scope:  # noqa: N801 (used like a function: `with module_scope(layer):`)
    """Mark ops recorded inside as produced by `module` (nn.Module.__call__ uses this). A class,
    not @contextmanager: it runs on every layer call (docs/benchmarks.md, "Comment numbers")."""

    __slots__ = ("module",)

    def __init__(self, module: Any) -> None:
        self.module = module

    def __enter__(self) -> None:
        _state.module_stack.append(self.module)

    def __exit__(self, *exc: object) -> None:
        _state.module_stack.pop()


@contextmanager
def observe(observer: Any) -> Iterator[Any]:
    """Attach an observer that sees every op's forward and backward (profiler, anomaly mode)."""
    _state.observers.append(observer)
    try:
        yield observer
    finally:
        _state.observers.remove(observer)


class Function:
    """A differentiable op. Subclasses define static `forward(ctx, *arrays, **params)` and
    `backward(ctx, grad_out)` on NumPy arrays; `apply` runs forward and records the graph.

    An instance is the op's context (`ctx`): it holds the parents, saved arrays, hyper-parameters
    set by forward, and `needs_input_grad`.
    """

    differentiable = True  # False for comparisons and argmax: their outputs never need a grad
    rule: str | None = None  # the derivative rule the graph viewer prints ("grad_x = g / x")
    is_view = False  # True for ops whose output may share its first input's memory (reshape...)
    output_modified = False  # set by an in-place update of the output this op saved for backward
    # For each input, the inputs whose gradients read its saved value (Mul: ((1,), (0,)), as
    # grad_x = g * y). None: any gradient may read any input. An input changed in place after
    # forward is refused only when a gradient that reads it is needed (PyTorch's saved variables).
    reads_saved: tuple[tuple[int, ...], ...] | None = None
    parents: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...]
    module: Any = None
    _saved: tuple[np.ndarray, ...] | None = ()

    @staticmethod
    def forward(ctx: Function, *args: Any, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> Any:
        raise NotImplementedError

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[np.ndarray, ...]:
        if self._saved is None:
            raise RuntimeError(
                f"Trying to backward through the graph of {self.name} a second time: its saved "
                "arrays were freed after the first backward(). Call backward(retain_graph=True) "
                "the first time if you need to backward twice."
            )
        return self._saved

    @property
    def name(self) -> str:
        """The name the viewer, profiler and anomaly mode show (Conv2d adds its algorithm)."""
        return type(self).__name__

    def flops(self, out: np.ndarray) -> int | None:
        """Floating point operations of this forward call (a multiply-add counts 2), from
        `self.parents` and `out`; None when unknown. The profiler reads it."""
        return None

    def backward_flops(self, forward_flops: int, input_grads: tuple) -> int:
        """Estimated FLOPs of the backward: the forward's once per input given a gradient."""
        return forward_flops * sum(g is not None for g in input_grads)

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays; record the graph if grad mode is on and an input
        requires grad. Non-Tensor inputs (Python scalars, arrays) become constants."""
        Tensor = tensor.Tensor
        # list comprehensions, not generators: this runs on every op (docs/benchmarks.md)
        parents = tuple([x if isinstance(x, Tensor) else Tensor._constant(x, inputs)
                         for x in inputs])
        ctx = cls()
        ctx.needs_input_grad = tuple([p._requires_grad for p in parents])
        record = cls.differentiable and _state.grad_enabled and any(ctx.needs_input_grad)
        arrays = [p.data for p in parents]
        observers = _state.observers  # one lookup: _state is a threading.local
        if observers:
            start = perf_counter()
            data = cls.forward(ctx, *arrays, **params)
            seconds = perf_counter() - start
        else:
            data = cls.forward(ctx, *arrays, **params)
        out = Tensor._from_op(data, ctx if record else None, parents[0] if cls.is_view else None)
        if record:
            ctx.parents = parents
            ctx.versions = tuple([p._version_counter.value for p in parents])
            ctx.module = _state.module_stack[-1] if _state.module_stack else None
        if observers:
            ctx.parents = parents  # observers see inputs and module of unrecorded ops too
            ctx.module = _state.module_stack[-1] if _state.module_stack else None
            for observer in observers:
                observer.on_forward(ctx, out, seconds)
        return out


def toposort(root: Tensor) -> list[Tensor]:
    """Every tensor that `root` was computed from, inputs before outputs; iterative DFS, so a graph
    of any depth is fine, and deterministic (parents in argument order)."""
    order: list[Tensor] = []
    visited = {id(root)}
    # each entry: a node and an iterator over its parents not yet visited (post-order DFS)
    stack = [(root, iter(root._ctx.parents if root._ctx is not None else ()))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in visited:
                visited.add(id(parent))
                if parent._ctx is None:  # a leaf has no parents to wait for
                    order.append(parent)
                    continue
                stack.append((parent, iter(parent._ctx.parents)))
                break
        else:  # every parent is in `order`: the node can follow them
            stack.pop()
            order.append(node)
    return order


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """Sum `grad` over the axes that broadcasting expanded so it has `shape`; None if it can't."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return None
    axes = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[extra + i] != 1:
            axes.append(extra + i)
        elif size != grad.shape[extra + i]:
            return None
    return grad.sum(axis=tuple(axes), keepdims=True).reshape(shape)


def _checked_grad(ctx: Function, index: int, parent: Tensor, grad: Any) -> np.ndarray:
    """`grad` reduced to the parent's shape and cast to its dtype, or an error naming the op."""
    data = parent.data
    if type(grad) is np.ndarray and grad.shape == data.shape and grad.dtype == data.dtype:
        return grad  # the common case: nothing to reduce, cast or convert
    grad = np.asarray(grad)
    reduced = unbroadcast(grad, parent.shape)
    if reduced is None:
        raise RuntimeError(
            f"{ctx.name}.backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {parent.shape}"
        )
    if reduced.dtype != parent.dtype:
        reduced = reduced.astype(parent.dtype)
    return reduced


def backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False,
             capture: dict[int, Any] | None = None) -> None:
    """Reverse-mode autodiff: push `grad` (d root / d root) back through the recorded graph and
    accumulate d root / d leaf into every leaf's `.grad`; with `capture` ({id(tensor): None}),
    those tensors' gradients are stored there instead and no `.grad` changes (autograd.grad)."""
    memory.apply_automatic()  # the first training step keeps freed pages warm (memory.py)
    grads: dict[int, np.ndarray] = {id(root): grad}
    read_late: set[int] = set()
    observers = list(_state.observers)
    for node in reversed(toposort(root)):
        grad_out = grads.pop(id(node), None)
        if grad_out is None:
            continue
        if node._hooks:
            grad_out = gradients.run_hooks(node, grad_out)
        if capture is not None:
            if id(node) in capture:
                capture[id(node)] = grad_out
        elif node._retains_grad:
            node._accumulate_grad(grad_out)
        ctx = node._ctx
        if ctx is None:
            continue
        if ctx._saved:
            inplace.check_versions(ctx)
        if observers:
            start = perf_counter()
            input_grads = ctx.backward(ctx, grad_out)
            seconds = perf_counter() - start
            for observer in observers:
                observer.on_backward(ctx, input_grads, seconds)
        else:
            input_grads = ctx.backward(ctx, grad_out)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx.parents):
            raise RuntimeError(
                f"{ctx.name}.backward returned {len(input_grads)} gradients for "
                f"{len(ctx.parents)} inputs"
            )
        versions = ctx.versions
        for index, (parent, g) in enumerate(zip(ctx.parents, input_grads)):
            if g is None or not ctx.needs_input_grad[index]:
                continue
            if parent._ctx is not None and parent._version_counter.value != versions[index]:
                parent = inplace.as_it_was(parent, versions[index], ctx, node, read_late)
            elif parent._is_view and versions[index] != parent._ctx.versions[0]:
                read_late.add(id(parent))  # a view read after its memory changed (inplace.py)
            g = _checked_grad(ctx, index, parent, g)
            key = id(parent)
            # accumulate, never assign: a tensor used twice (x * x) gets both contributions
            grads[key] = grads[key] + g if key in grads else g
        if not retain_graph and ctx._saved:
            ctx._saved = None


# Last and as a module, because tensor.py imports this one: whichever is imported first, the other
# finds what it needs at call time (a function-level import would run on every op).
from . import gradients, inplace, tensor  # noqa: E402

grad = gradients.grad  # PyTorch's torch.autograd.grad(outputs, inputs)
