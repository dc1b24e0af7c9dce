"""PyTorch's `torch.autograd` on top of the engine: `grad` (gradients handed back instead of
accumulated), `Function` (a custom op written on Tensors, as PyTorch's), the hooks of
`Tensor.register_hook`, `observe` (how the profiler and anomaly mode watch every op) and the
other names scripts import from torch.autograd (backward, no_grad, ...). The engine itself is
engine.py; the library's own ops subclass `engine.Function`, whose forward and backward work on
NumPy arrays (docs/add_an_op.md says when to write which)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from . import engine
from .engine import Node, module_scope, toposort, unbroadcast  # noqa: F401 (re-exported)
from .grad_mode import (  # noqa: F401 (re-exported: torch.autograd.no_grad, ...)
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

if TYPE_CHECKING:
    from .tensor import Tensor


# ----- observers: the profiler's and anomaly mode's extension point ---------------------------
@contextmanager
def observe(observer: Any) -> Iterator[Any]:
    """Attach an observer that sees every op's forward and backward (profiler, anomaly mode):
    the engine calls `observer.on_forward(ctx, out, seconds)` after each op runs and
    `observer.on_backward(ctx, input_grads, seconds)` after each op's backward, in this thread;
    and `observer.on_backward_pass(root)` as each backward pass starts, if it has that method."""
    engine._state.observers.append(observer)
    try:
        yield observer
    finally:
        engine._state.observers.remove(observer)


# ----- custom functions written on Tensors, PyTorch's way -------------------------------------
class Function:
    """PyTorch's torch.autograd.Function: subclass it with static `forward(ctx, *args)` and
    `backward(ctx, *grad_outputs)` written on Tensors, and call `YourFunction.apply(*args)`.

    `forward` receives the Tensor arguments detached (recording is off inside, as in PyTorch)
    and returns one Tensor; `ctx.save_for_backward(*tensors)` keeps what backward needs, read
    back as `ctx.saved_tensors`; any other attribute can be set on `ctx`. `backward` receives
    d loss / d output and returns one gradient per argument of forward (None for a non-Tensor).
    Its ops are recorded under create_graph, so a backward written in Tensor ops has a second
    order too; one that returns NumPy arrays works at first order and refuses a second backward.
    """

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any) -> Any:
        if not any(isinstance(a, Node) for a in args):
            raise TypeError(f"{cls.__name__}.apply: expected a Tensor among the arguments")
        return _CustomOp.apply(*[a for a in args if isinstance(a, Node)], function=cls,
                               args=args)


class _CustomOp(engine.Function):
    """A user's autograd.Function as a graph node: runs its forward on detached Tensors and its
    backward on Tensors (recorded under create_graph), converting at the NumPy boundary."""

    graph_backward = True
    _tensors: tuple = ()

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def backward_name(self) -> str:
        return f"{self.function.__name__}Backward"  # PyTorch's name for a custom Function's node

    def save_for_backward(self, *tensors: Any) -> None:
        self._tensors = tensors
        self._saved = tuple([t.data if isinstance(t, Node) else t for t in tensors])

    @property
    def saved_tensors(self) -> tuple:
        if self._saved_nodes is not None:  # create_graph: the engine's nodes for those arrays
            return self._saved_nodes
        engine.Function.saved_tensors.fget(self)  # the error after a freed graph
        return self._tensors

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, function: type[Function], args: tuple) -> Any:
        ctx.function, ctx.arguments = function, len(args)
        ctx.positions = tuple(i for i, a in enumerate(args) if isinstance(a, Node))
        inputs = [a.detach() if isinstance(a, Node) else a for a in args]
        with no_grad(), _needs_per_argument(ctx):
            out = function.forward(ctx, *inputs)
        if isinstance(out, (tuple, list)):
            raise NotImplementedError(f"{function.__name__}.forward returned {len(out)} values; "
                                      "an autograd.Function here returns one Tensor")
        return _numeric(out, f"{function.__name__}.forward's result")

    @staticmethod
    def backward(ctx: Any, grad_out: Any) -> tuple:
        graph = isinstance(grad_out, Node)
        with _needs_per_argument(ctx):
            if graph:
                grads = ctx.function.backward(ctx, grad_out)
            else:
                with no_grad():
                    grad_out = ctx.parents[0]._from_op(grad_out, None)
                    grads = ctx.function.backward(ctx, grad_out)
        grads = _checked_count(grads if isinstance(grads, tuple) else (grads,), ctx)
        return tuple([_as_gradient(grads[i], i, graph, ctx) for i in ctx.positions])


@contextmanager
def _needs_per_argument(ctx: Any) -> Iterator[None]:
    """ctx.needs_input_grad as PyTorch's Function sees it, one entry per argument of forward
    (False for a non-Tensor), while the user's forward or backward runs; the engine's has one
    per Tensor input."""
    per_tensor = ctx.needs_input_grad
    needs = dict(zip(ctx.positions, per_tensor))
    ctx.needs_input_grad = tuple([needs.get(i, False) for i in range(ctx.arguments)])
    try:
        yield
    finally:
        ctx.needs_input_grad = per_tensor


def _checked_count(grads: tuple, ctx: Any) -> tuple:
    """One gradient per argument of forward, as PyTorch checks them: extra trailing Nones are
    dropped, and an argument that is not a Tensor gets None."""
    if len(grads) > ctx.arguments and all(g is None for g in grads[ctx.arguments:]):
        grads = grads[:ctx.arguments]
    if len(grads) != ctx.arguments:
        raise RuntimeError(f"function {ctx.name}Backward returned an incorrect number of "
                           f"gradients (expected {ctx.arguments}, got {len(grads)})")
    for i, g in enumerate(grads):
        if g is not None and i not in ctx.positions:
            raise RuntimeError(f"function {ctx.name}Backward returned a gradient different "
                               f"than None at position {i + 1}, but the corresponding forward "
                               "input was not a Variable")
    return grads


def _as_gradient(grad: Any, i: int, graph: bool, ctx: Any) -> Any:
    """A user backward's result for argument i as the engine wants it: arrays at first order;
    under create_graph, nodes (an array there has no graph: it may not be differentiated
    again)."""
    if grad is None or (graph and isinstance(grad, Node)):
        return grad
    array = _numeric(grad, f"{ctx.name}.backward's gradient for argument {i}")
    if not graph:
        return array
    return engine.FirstOrderOnly.apply(*ctx.parents, value=array, op=ctx.function.__name__)


def _numeric(value: Any, what: str) -> np.ndarray:
    """A user Function's result as an array of numbers; anything else a TypeError naming it
    (None, a string, ... would become an object array)."""
    array = value.data if isinstance(value, Node) else np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be a Tensor, got {type(value).__name__}")
    return array


# ----- hooks on a tensor's gradient ------------------------------------------------------------
class RemovableHandle:
    """What register_hook returns: `handle.remove()` takes the hook off again."""

    def __init__(self, tensor: Tensor, hook: Callable) -> None:
        self.tensor, self.hook = tensor, hook

    def remove(self) -> None:
        self.tensor._hooks = tuple(h for h in self.tensor._hooks if h is not self.hook)


def register_hook(tensor: Tensor, hook: Callable) -> RemovableHandle:
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"register_hook: the hook must be callable, got {hook!r}")
    tensor._hooks = (*tensor._hooks, hook)
    return RemovableHandle(tensor, hook)


def run_hooks(node: Tensor, grad: np.ndarray) -> np.ndarray:
    """Call node's hooks in order on its gradient (a Tensor); a hook that returns a value
    replaces the gradient for what follows: later hooks, .grad, and the graph below."""
    for hook in node._hooks:
        graph = isinstance(grad, engine.Node)  # create_graph: the gradient is a graph node
        result = hook(grad if graph else node._from_op(grad, None))
        if result is not None and not isinstance(result, (engine.Node, np.ndarray)):
            raise TypeError(f"expected Tensor, but hook {getattr(hook, '__name__', hook)!r} "
                            f"returned '{type(result).__name__}' (a tensor hook returns None to "
                            "keep the gradient, or a Tensor that replaces it)")
        if result is not None:
            if np.shape(getattr(result, "data", result)) != node.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient "
                                   f"of shape {np.shape(getattr(result, 'data', result))} for a "
                                   f"tensor of shape {node.shape}")
            if graph and isinstance(result, engine.Node):
                grad = result
            else:
                grad = np.asarray(getattr(result, "data", result), dtype=node.dtype)
    return grad


# ----- gradients handed back: autograd.grad and backward(inputs=) ------------------------------
class Capture:
    """A `deliver` for engine.backward: keeps the gradients of the given tensors (by identity)
    instead of accumulating any `.grad`."""

    def __init__(self, tensors: Sequence[Tensor]) -> None:
        self.grads: dict[int, np.ndarray | None] = {id(t): None for t in tensors}

    def __call__(self, node: Tensor, grad: np.ndarray) -> None:
        if id(node) in self.grads:
            self.grads[id(node)] = grad

    def of(self, t: Tensor) -> np.ndarray | None:
        return self.grads[id(t)]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False) -> tuple:
    """d sum(outputs * grad_outputs) / d input for each input, as a tuple of Tensors; no
    `.grad` changes. Like torch.autograd.grad; with `create_graph=True` the results are
    recorded, so they can be differentiated again (retain_graph then defaults to True)."""
    outputs = [outputs] if hasattr(outputs, "_requires_grad") else list(outputs)
    inputs = [inputs] if hasattr(inputs, "_requires_grad") else list(inputs)
    if not outputs or not inputs:
        raise RuntimeError(f"grad requires non-empty {'outputs' if not outputs else 'inputs'}.")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads"
                         "=True, but got: allow_unused=False.")
    seeds = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs] * len(
        outputs)
    if len(seeds) != len(outputs):
        raise ValueError(f"grad: {len(seeds)} grad_outputs for {len(outputs)} outputs")
    require_grad("grad: input", inputs)
    require_grad("grad: output", outputs)
    create_graph = bool(create_graph)
    root, seed = _one_root(outputs, seeds, "grad(grad_outputs=...)", create_graph)
    retain_graph = create_graph if retain_graph is None else bool(retain_graph)
    capture = Capture(inputs)
    engine.backward(root, seed, retain_graph, capture, create_graph)
    return tuple([_gradient_of(t, i, capture.of(t), allow_unused, materialize_grads)
                  for i, t in enumerate(inputs)])


def require_grad(what: str, tensors: Sequence[Tensor]) -> None:
    """Refuse a tensor that does not require grad among those named `what` ("grad: input")."""
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise RuntimeError(f"{what} {i} (shape {t.shape}) does not require grad")


def _gradient_of(t: Tensor, i: int, found: Any, allow_unused: bool | None,
                 materialize: bool) -> Tensor | None:
    """grad's result for input t: the gradient captured, zeros or None for an unused input."""
    if isinstance(found, engine.Node):
        return found
    if found is not None:
        return t._from_op(np.array(found), None)
    if materialize:
        return t._from_op(np.zeros_like(t.data), None)
    if allow_unused:
        return None
    raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the "
                       "outputs; pass allow_unused=True to get None for it")


def _one_root(outputs: list, seeds: list, what: str, graph: bool = False) -> tuple[Tensor, Any]:
    """One output and its seed (a Tensor with `graph`, Tensor._seed's); several outputs as one
    pass over the sum of the weighted outputs, so hooks see whole gradients, once (their seeds
    are constants there, also under create_graph)."""
    if len(outputs) == 1:
        return outputs[0], outputs[0]._seed(seeds[0], what, graph)
    with enable_grad():  # recorded even inside no_grad: the graph already exists
        weighted = [(out * out._from_op(out._seed(s, what), None)).sum()
                    for out, s in zip(outputs, seeds)]
        root = weighted[0]
        for w in weighted[1:]:
            root = root + w
    seed = np.ones((), root.dtype)
    return root, root._from_op(seed, None) if graph else seed


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Any = None) -> None:
    """torch.autograd.backward: `tensors[i].backward(grad_tensors[i])` for all of them in one
    pass (the sum of the weighted outputs), accumulating into `.grad`."""
    tensors = [tensors] if hasattr(tensors, "_requires_grad") else list(tensors)
    seeds = grad_tensors if isinstance(grad_tensors, (list, tuple)) else [grad_tensors] * len(
        tensors)
    if len(seeds) != len(tensors):
        raise ValueError(f"backward: {len(seeds)} grad_tensors for {len(tensors)} tensors")
    if len(tensors) == 1:
        tensors[0].backward(seeds[0], retain_graph, create_graph, inputs)
        return
    root, seed = _one_root(tensors, seeds, "backward(grad_tensors=...)")
    root.backward(seed, retain_graph, create_graph, inputs)
