"""The autograd engine, in one file to read top to bottom: the graph node, `Function` and its
context, `apply`, the one topological sort, `unbroadcast` and `backward`.

It imports nothing of tinygrad_cnn's own. `Tensor` (tensor.py) extends `Node` with one method per
op; the ops (ops/) subclass `Function`. Extensions plug in at named points that cost nothing
when unused: a tensor's hooks and in-place history (`Node._run_hooks`, `Node._check_saved`,
`Node._as_it_was`, which Tensor implements with autograd.py and inplace.py), where a gradient
goes (`backward(deliver=)`, which autograd.grad uses) and observers that time each op (the
profiler, anomaly mode: `_state.observers`).

The backward pass is a graph too: `backward(create_graph=True)` runs each op's backward on graph
nodes with recording on (the last section), so a gradient can be differentiated again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np


# ----- state read on every op: grad mode, the running module, observers ------------------------
class _State(threading.local):
    """Per thread, as in PyTorch: `no_grad` or a profiler in one thread (a server's request) never
    changes another thread's ops. grad_mode.py has the user's switches (no_grad, ...)."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.module_stack: list[Any] = []  # modules whose forward is running, innermost last
        self.observers: list[Any] = []  # on_forward / on_backward: profiler, anomaly mode


_state = _State()


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


# ----- the graph node ----------------------------------------------------------------------------
class VersionCounter:
    """How many in-place updates an array had: one small object shared by a tensor and every view
    of it, so an update through any of them is seen by the graphs that saved any of them."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Node:
    """A value in the graph: its array (`data`), its gradient (`grad`) and the op that made it
    (`_ctx`, None for a leaf). Tensor extends it; `_from_op` and `_constant` say how the ops'
    outputs and constants are built, so the engine never needs to know the Tensor class."""

    _is_view = False  # True on the outputs of view ops that share their input's memory
    _earlier: list | tuple = ()  # (version, value before) per recorded in-place update
    _hooks: tuple = ()  # functions run on this node's gradient (Tensor.register_hook)

    def _wrap(self, data: np.ndarray, ctx: Function | None, version: VersionCounter) -> None:
        """Every field of a node, set in this one place by every constructor."""
        self.data: np.ndarray = data
        self.grad: Node | None = None
        self.name: str | None = None
        self._ctx = ctx
        self._retains_grad = False
        self._requires_grad = ctx is not None
        self._version_counter = version  # shared with views; bumped by every in-place update

    @staticmethod
    def _from_op(data: Any, ctx: Function | None, base: Node | None = None) -> Node:
        """An op's output (a view of `base` when given). Tensor defines it."""
        raise NotImplementedError

    @staticmethod
    def _constant(value: Any, inputs: tuple) -> Node:
        """A non-Tensor op input (a number, an array) as a node. Tensor defines it."""
        raise NotImplementedError

    def _accumulate_grad(self, grad: Any) -> None:
        """`.grad += grad`, into a new array (grad has this node's shape and dtype already); a
        gradient that is itself a graph node (create_graph) is kept as one, so it can be
        differentiated again."""
        if isinstance(grad, Node):
            self.grad = grad if self.grad is None else self.grad + grad
        elif self.grad is None:
            # copy: the same array may be handed to several inputs (x + y) or kept by an op
            self.grad = self._from_op(grad.copy(), None)
        else:
            self.grad = self._from_op(self.grad.data + grad, None)

    # extension points, implemented by Tensor (autograd.py: hooks; inplace.py: versions)
    def _run_hooks(self, grad: np.ndarray) -> np.ndarray:
        return grad

    def _check_saved(self, ctx: Function) -> None:
        """Refuse a backward whose saved inputs changed in place since forward."""

    def _as_it_was(self, version: int, ctx: Function, reader: Node, read_late: set) -> Node:
        """The node that stands for this one's value at `version` (before in-place updates)."""
        return self


# ----- Function: an op and its context -----------------------------------------------------------
class Function:
    """A differentiable op. Subclasses define static `forward(ctx, *arrays, **params)` and
    `backward(ctx, grad_out)` on NumPy arrays; `apply` runs forward and records the graph.

    An instance is the op's context (`ctx`): it holds the parents, saved arrays, hyper-parameters
    set by forward, and `needs_input_grad`.

    Backward is a graph too: an op with `graph_backward = True` writes its backward so that the
    same formula runs on graph nodes (operators, methods Tensor and ndarray share, and the names
    of ops/_math.py), and saves its inputs and output as the very arrays forward received and
    returned. Under `backward(create_graph=True)` the engine hands it a node for `grad_out` and
    nodes for what it saved, with recording on, so the gradient can be differentiated again.
    """

    rule: str | None = None  # the derivative rule the graph viewer prints (__init_subclass__)
    differentiable = True  # False for comparisons and argmax: their outputs never need a grad
    is_view = False  # True for ops whose output may share its first input's memory (reshape...)
    output_modified = False  # set by an in-place update of the output this op saved for backward
    # For each input, the inputs whose gradients read its saved value (Mul: ((1,), (0,)), as
    # grad_x = g * y). None: any gradient may read any input. An input changed in place after
    # forward is refused only when a gradient that reads it is needed (PyTorch's saved variables).
    reads_saved: tuple[tuple[int, ...], ...] | None = None
    parents: tuple[Node, ...] = ()
    versions: tuple[int, ...] = ()
    needs_input_grad: tuple[bool, ...]
    module: Any = None
    backward_of: Function | None = None  # set on ops recorded by another op's graph backward
    graph_backward = False  # True: backward also runs on graph nodes (create_graph)
    _saved: tuple[np.ndarray, ...] | None = ()
    _saved_nodes: tuple | None = None  # what saved_tensors gives during a graph backward
    # set by an op whose inputs were computed on threads of their own (a batch split): runs
    # walk(i) for each input i on those threads, returns the results (_walk_branches); told
    # whether the graph is kept (retain_graph)
    run_branches: Callable[[Callable[[int], Any], bool], list] | None = None

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
        if self._saved_nodes is not None:
            return self._saved_nodes
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """An op's derivative rule, which the graph viewer prints ("grad_x = g / x"), is what
        follows the forward formula on the first line of its docstring ("out = log x;  grad_x =
        g / x."), so the formula is written once, where the op is; an op may set `rule` too."""
        super().__init_subclass__(**kwargs)
        if "rule" not in cls.__dict__:
            first = (cls.__doc__ or "").split("\n", 1)[0]
            _, found, rule = first.partition(";")
            cls.rule = rule.strip().rstrip(".") if found and rule.strip() else None

    def flops(self, out: np.ndarray) -> int | None:
        """Floating point operations of this forward call (a multiply-add counts 2), from
        `self.parents` and `out`; None when unknown. The profiler reads it."""
        return None

    @property
    def backward_name(self) -> str:
        """The grad_fn's name in PyTorch's form, as print(tensor) shows it (`MulBackward0`)."""
        return f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        """PyTorch's form for a `grad_fn`: `<MSELossBackward0 object at 0x...>`."""
        return f"<{self.backward_name} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's view of the graph backwards: per input, (the op that made it, 0), or
        (AccumulateGrad, 0) for a leaf that requires grad, or (None, 0) for a constant."""
        return tuple([(p._ctx if p._ctx is not None else
                       AccumulateGrad(p) if p._requires_grad else None, 0) for p in self.parents])

    def backward_flops(self, forward_flops: int, input_grads: tuple) -> int:
        """Estimated FLOPs of the backward: the forward's once per input given a gradient."""
        return forward_flops * sum(g is not None for g in input_grads)

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Node:
        """Run forward on the inputs' arrays; record the graph if grad mode is on and an input
        requires grad. Non-Tensor inputs (Python scalars, arrays) become constants."""
        ref = inputs[0] if isinstance(inputs[0], Node) else _first_node(cls, inputs)
        # list comprehensions, not generators: this runs on every op (docs/benchmarks.md)
        parents = tuple([x if isinstance(x, Node) else ref._constant(x, inputs) for x in inputs])
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
        out = ref._from_op(data, ctx if record else None, parents[0] if cls.is_view else None)
        if out.data is not data and ctx._saved:  # a NumPy scalar became an array: saved as such
            ctx._saved = tuple([out.data if a is data else a for a in ctx._saved])
        if record or observers:  # observers see inputs and module of unrecorded ops too
            ctx.parents = parents
            ctx.module = _state.module_stack[-1] if _state.module_stack else None
        if record:
            ctx.versions = tuple([p._version_counter.value for p in parents])
        for observer in observers:
            observer.on_forward(ctx, out, seconds)
        return out


class AccumulateGrad:
    """Where a leaf's gradient ends up (its `.grad`): the end of `next_functions` chains."""

    next_functions: tuple = ()

    def __init__(self, variable: Node) -> None:
        self.variable = variable

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def _first_node(op: type[Function], inputs: tuple) -> Node:
    for x in inputs:
        if isinstance(x, Node):
            return x
    raise TypeError(f"{op.__name__}: expected a Tensor among the inputs, got "
                    f"{', '.join(type(x).__name__ for x in inputs)}")


# ----- the one topological sort --------------------------------------------------------------
def toposort(root: Node) -> list[Node]:
    """Every node that `root` was computed from, inputs before outputs; iterative DFS, so a graph
    of any depth is fine, and deterministic (parents in argument order)."""
    order: list[Node] = []
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


# ----- broadcasting, reduced in this one place ---------------------------------------------------
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """Sum `grad` over the axes that broadcasting expanded so it has `shape`; None if it can't."""
    if grad.shape == shape:
        return grad
    axes = _broadcast_axes(grad.shape, shape)
    if axes is None:
        return None
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _broadcast_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple | None:
    """The axes of `grad_shape` that broadcasting added or stretched from `shape`."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return None
    axes = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and grad_shape[extra + i] != 1:
            axes.append(extra + i)
        elif size != grad_shape[extra + i]:
            return None
    return tuple(axes)


def checked_grad(ctx: Function, index: int, parent: Node, grad: Any) -> np.ndarray:
    """`grad` reduced to the parent's shape and cast to its dtype, or an error naming the op."""
    data = parent.data
    if type(grad) is np.ndarray and grad.shape == data.shape and grad.dtype == data.dtype:
        return grad  # the common case: nothing to reduce, cast or convert
    if isinstance(grad, Node):
        return _checked_node_grad(ctx, index, parent, grad)
    grad = np.asarray(grad)
    reduced = unbroadcast(grad, data.shape)
    if reduced is None:
        raise RuntimeError(
            f"{ctx.name}.backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {data.shape}"
        )
    if reduced.dtype != data.dtype:
        reduced = reduced.astype(data.dtype)
    return reduced


def _checked_node_grad(ctx: Function, index: int, parent: Node, grad: Node) -> Node:
    """checked_grad for a gradient that is a graph node (create_graph): the same reduction and
    cast, recorded as ops (the node's own sum, reshape and to)."""
    shape, dtype = parent.data.shape, parent.data.dtype
    if grad.data.shape != shape:
        axes = _broadcast_axes(grad.data.shape, shape)
        if axes is None:
            raise RuntimeError(f"{ctx.name}.backward returned a gradient of shape "
                               f"{grad.data.shape} for input {index}, which has shape {shape}")
        grad = grad.sum(axis=axes, keepdims=True).reshape(shape)
    return grad if grad.data.dtype == dtype else grad.to(dtype)


# ----- backward ----------------------------------------------------------------------------------
def accumulate_into_grad(node: Node, grad: Any) -> None:
    """What backward does with a node's gradient when no `deliver` is given: `.grad`, on leaves
    that require grad and on tensors that asked for it (retain_grad); a `deliver` that also
    wants that (the explorer's step recorder) calls it."""
    if node._retains_grad:
        node._accumulate_grad(grad)


def backward(root: Node, grad: Any, retain_graph: bool = False,
             deliver: Callable[[Node, Any], None] | None = None,
             create_graph: bool = False) -> None:
    """Reverse-mode autodiff: push `grad` (d root / d root) back through the recorded graph, in
    reverse topological order, and hand each node its total gradient d root / d node: leaves
    (and retain_grad tensors) accumulate it into `.grad`, or `deliver(node, grad)` takes every
    node's instead. With `create_graph` the gradients are graph nodes and every op's backward
    is recorded (`_graph_backward`), also when called under no_grad (as PyTorch's)."""
    if create_graph and not _state.grad_enabled:  # the reductions and sums here are recorded too
        _state.grad_enabled = True
        try:
            return backward(root, grad, retain_graph, deliver, create_graph)
        finally:
            _state.grad_enabled = False
    grads: dict[int, Any] = {id(root): grad}
    read_late: set[int] = set()
    observers = _state.observers
    for observer in observers:  # an optional event: the profiler counts steps by it
        pass_started = getattr(observer, "on_backward_pass", None)
        if pass_started is not None:
            pass_started(root)
    walked: set[int] = set()  # nodes whose backward ran on a branch's thread
    for node in reversed(toposort(root)):
        grad_out = grads.pop(id(node), None)
        if grad_out is None or (walked and id(node) in walked):
            continue  # nothing that needs a gradient depends on this node
        ctx = _backward_node(node, grad_out, grads, read_late, retain_graph, deliver,
                             create_graph)
        if ctx is not None and ctx.run_branches is not None and not create_graph:
            _walk_branches(ctx, grads, walked, read_late, retain_graph, deliver)


def _backward_node(node: Node, grad_out: Any, grads: dict[int, Any], read_late: set[int],
                   retain_graph: bool, deliver: Callable[[Node, Any], None] | None,
                   create_graph: bool) -> Function | None:
    """One step of the walk: node's gradient is complete; hand it over (.grad or deliver) and
    push it through the op that made the node into its inputs' entries in `grads`."""
    if node._hooks:
        grad_out = node._run_hooks(grad_out)
    if deliver is not None:
        deliver(node, grad_out)  # autograd.grad's capture, the explorer's recorder
    elif node._retains_grad:
        node._accumulate_grad(grad_out)  # leaves keep their gradient in .grad
    ctx = node._ctx
    if ctx is None:
        return None  # a leaf: no op to go back through
    if ctx._saved:
        node._check_saved(ctx)
    if create_graph:
        input_grads = _graph_backward(ctx, node, grad_out)
    elif _state.observers:
        input_grads = _call_backward(ctx, grad_out)
    else:
        input_grads = ctx.backward(ctx, grad_out)  # the op's own rule: its gradients
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
    if len(input_grads) != len(ctx.parents):
        raise RuntimeError(f"{ctx.name}.backward returned {len(input_grads)} gradients for "
                           f"{len(ctx.parents)} inputs")
    for index, (parent, g) in enumerate(zip(ctx.parents, input_grads)):
        if g is None or not ctx.needs_input_grad[index]:
            continue
        version = ctx.versions[index]
        if parent._version_counter.value != version:
            if parent._ctx is not None:  # updated in place: the old value gets the gradient
                parent = parent._as_it_was(version, ctx, node, read_late)
        elif parent._is_view and parent._ctx is not None:
            if version != parent._ctx.versions[0]:  # a view read after its base changed
                read_late.add(id(parent))
        g = checked_grad(ctx, index, parent, g)
        key = id(parent)
        # accumulate, never assign: a node used twice (x * x) gets both contributions
        grads[key] = grads[key] + g if key in grads else g
    if not retain_graph and ctx._saved:
        ctx._saved = None  # free what forward kept for this backward
    return ctx


def _walk_branches(ctx: Function, grads: dict[int, Any], walked: set[int], read_late: set[int],
                   retain_graph: bool, deliver: Callable[[Node, Any], None] | None) -> None:
    """ctx joined branches computed on threads of their own (nn/parallel.py's batch split):
    walk each input's part of the graph on its thread (`ctx.run_branches`). A branch ends at
    leaves, which it shares with the rest of the graph (the parameters, the batch): their
    gradients come back and are added in branch order, so the main walk hands each leaf one
    total, as if the branches had been walked here."""
    observers = _state.observers

    def walk(index: int) -> tuple[list, set[int], set[int]]:
        out = ctx.parents[index]
        local: dict[int, Any] = {id(out): grads.pop(id(out))}
        late: set[int] = set()
        ends, mine = [], set()
        before, _state.observers = _state.observers, observers  # a profiler sees these too
        try:
            for node in reversed(toposort(out)):
                grad_out = local.pop(id(node), None)
                if grad_out is None:
                    continue
                if node._ctx is None:
                    ends.append((node, grad_out))
                    continue
                mine.add(id(node))
                _backward_node(node, grad_out, local, late, retain_graph, deliver, False)
        finally:
            _state.observers = before
        return ends, mine, late

    for ends, mine, late in ctx.run_branches(walk, retain_graph):
        walked |= mine
        read_late |= late
        for node, g in ends:
            key = id(node)
            grads[key] = grads[key] + g if key in grads else g


def _call_backward(ctx: Function, grad_out: Any) -> tuple:
    """ctx.backward(grad_out) as a tuple, timed and shown to observers."""
    observers = _state.observers
    if observers:
        start = perf_counter()
        input_grads = ctx.backward(ctx, grad_out)
        seconds = perf_counter() - start
        for observer in observers:
            observer.on_backward(ctx, _arrays(input_grads), seconds)
    else:
        input_grads = ctx.backward(ctx, grad_out)
    return input_grads if isinstance(input_grads, tuple) else (input_grads,)


def _arrays(grads: Any) -> Any:
    """Observers see arrays, also when backward built graph nodes."""
    if isinstance(grads, tuple):
        return tuple([g.data if isinstance(g, Node) else g for g in grads])
    return grads.data if isinstance(grads, Node) else grads


# ----- create_graph: the backward pass recorded as a graph --------------------------------------
def _graph_backward(ctx: Function, out: Node, grad_out: Node) -> tuple:
    """ctx's backward on graph nodes, recorded: what it saved comes back as the nodes it came
    from (an input, the output, or a constant for anything else, such as a mask). An op whose
    backward is NumPy only still gives first-order gradients, which refuse a second backward."""
    try:  # recording is on: backward turned it on for create_graph
        if not ctx.graph_backward:
            arrays = _call_backward(ctx, grad_out.data)
            grads = tuple([None if g is None else FirstOrderOnly.apply(
                grad_out, *ctx.parents, value=g, op=ctx.name) for g in arrays])
        else:
            if ctx._saved:
                ctx._saved_nodes = tuple([_saved_node(a, ctx, out) for a in ctx._saved])
            grads = _call_backward(ctx, grad_out)
    finally:
        known = (*ctx.parents, out, grad_out, *(ctx._saved_nodes or ()))
        ctx._saved_nodes = None
    _mark_backward_of(ctx, grads, known)
    return grads


def _mark_backward_of(ctx: Function, grads: tuple, known: tuple) -> None:
    """Tag the ops ctx's graph backward just recorded with `backward_of = ctx`, so the viewer
    can draw the gradient's graph as the backward of each forward op: the walk from the
    gradients stops at the values it was given (inputs, output, grad_out, saved nodes)."""
    stop = {id(n) for n in known if isinstance(n, Node)}
    stack = [g for g in grads if isinstance(g, Node)]
    while stack:
        node = stack.pop()
        if id(node) in stop or node._ctx is None or node._ctx.backward_of is not None:
            continue
        stop.add(id(node))
        node._ctx.backward_of = ctx
        stack.extend(node._ctx.parents)


def _saved_node(array: Any, ctx: Function, out: Node) -> Any:
    if not isinstance(array, np.ndarray):
        return array
    for parent in ctx.parents:
        if array is parent.data:
            return parent
    if array is out.data:
        return out
    return out._from_op(array, None)  # not an input or the output: a constant (masks, indices)


class FirstOrderOnly(Function):
    """out = the gradient an op's NumPy backward computed;  its own gradient: an error.
    What create_graph records for an op whose backward is not written in graph ops."""

    @staticmethod
    def forward(ctx: Function, *arrays: np.ndarray, value: np.ndarray, op: str) -> np.ndarray:
        ctx.op = op
        return np.asarray(value)

    @staticmethod
    def backward(ctx: Function, grad_out: Any) -> tuple:
        raise RuntimeError(
            f"{ctx.op}'s backward is NumPy code outside the graph: its gradient has no gradient "
            "of its own (no second order). Write that backward in Tensor ops (a library op: "
            "graph_backward = True, docs/add_an_op.md) to differentiate it again.")
