"""Memory of backward: the bytes each recorded op keeps for backward, per op and per layer, their
total when backward starts, and the peak while backward runs.

    memory = backward_memory(loss, model)   # counts, then runs loss.backward() and watches it
    print(memory.table())
    saved_for_backward(loss, model)         # the counts only; backward is left to you

What an op keeps is what its context holds (`tinygrad_cnn.nn.saved_bytes`: `save_for_backward`
and the arrays forward set as other attributes), each buffer once: a view counts as the array
that owns its memory. A layer's row counts a buffer shared by two of its ops once; a buffer kept
by two layers (ReLU's output, which the max-pool after it keeps too) is in both rows and once in
the total. Not counted there: the graph's values themselves (each node's `.data`: the input,
the parameters, every op's output), which stay alive as long as the loss does, unless an op keeps
them; `graph_bytes` adds them, and the peak during backward counts them (see `BackwardPeak`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any

import numpy as np

from . import autograd
from .engine import Function, Node, toposort
from .naming import ModuleNames
from .nn.saved_bytes import (
    arrays_in,
    count_bytes,
    owner,
    recorded_ops,
    saved_arrays,
    saved_bytes,
    saved_bytes_by_module,
    unique_owners,
)
from .profile import NO_MODULE


@dataclass
class OpSaved:
    """One recorded op: its name, its layer's name and the bytes it keeps for backward."""

    name: str
    layer: str
    saved_bytes: int


@dataclass
class SavedMemory:
    """What `saved_for_backward` counted (and `backward_memory` measured); `str()` is the table.
    Bytes throughout; `peak_bytes`, `peak_at` and `end_bytes` are None until a backward ran."""

    ops: list[OpSaved] = field(default_factory=list)
    layers: list[tuple[str, int]] = field(default_factory=list)  # (layer, bytes), forward order
    total_bytes: int = 0  # at the moment backward starts, each buffer once
    graph_bytes: int = 0  # the same with the graph's values (input, parameters, outputs)
    peak_bytes: int | None = None
    peak_at: str | None = None  # the op whose backward had just run at the peak
    end_bytes: int | None = None

    def table(self) -> str:
        head = (f"saved for backward: {self.total_bytes / 1e6:.3f} MB when backward starts "
                f"({self.graph_bytes / 1e6:.3f} MB with the graph's values)")
        if self.peak_bytes is not None:
            head += (f"; peak during backward {self.peak_bytes / 1e6:.3f} MB (at {self.peak_at})"
                     f", {self.end_bytes / 1e6:.3f} MB after it")
        layer_rows = [(name, "", nbytes) for name, nbytes in self.layers]
        op_rows = [(op.name, op.layer, op.saved_bytes) for op in self.ops]
        return "\n\n".join([head, _format(layer_rows, "layer", self.total_bytes),
                            _format(op_rows, "op", self.total_bytes)])

    def __str__(self) -> str:
        return self.table()


def _format(rows: list[tuple[str, str, int]], title: str, total: int) -> str:
    width = max([len(title), 5] + [len(name) for name, _, _ in rows])
    layer_width = max([0] + [len(layer) for _, layer, _ in rows])
    column = f"  {'layer':<{layer_width}}" if layer_width else ""
    header = f"{title:<{width}}{column}  {'saved bytes':>13}"
    rule = "-" * len(header)
    lines = [header, rule]
    for name, layer, nbytes in rows:
        column = f"  {layer:<{layer_width}}" if layer_width else ""
        lines.append(f"{name:<{width}}{column}  {nbytes:>13,}")
    lines += [rule, f"{'total':<{width}}{' ' * len(column)}  {total:>13,}"]
    return "\n".join(lines)


def _layer(names: ModuleNames, module: Any) -> str:
    return NO_MODULE if module is None else names.title(module)


def saved_for_backward(loss: Node, model: Any = None) -> SavedMemory:
    """Count what the graph of `loss` keeps for backward, per op, per layer (named by `model`'s
    dotted names when given) and in total. Call it before `loss.backward()`, which frees it."""
    if not isinstance(loss, Node):
        raise TypeError(f"saved_for_backward: loss must be a Tensor (the output whose graph "
                        f"backward would walk), got {type(loss).__name__}")
    names = ModuleNames(model)
    ctxs = recorded_ops(loss)
    ops = [OpSaved(ctx.name, _layer(names, ctx.module), saved_bytes(ctx)) for ctx in ctxs]
    layers = [(_layer(names, module), nbytes)
              for module, nbytes in saved_bytes_by_module(ctxs).values()]
    saved = [array for ctx in ctxs for array in saved_arrays(ctx)]
    values = [node.data for node in toposort(loss)]
    return SavedMemory(ops, layers, count_bytes(saved), count_bytes(values + saved))


def backward_memory(loss: Node, model: Any = None, retain_graph: bool | None = None) -> SavedMemory:
    """`saved_for_backward(loss, model)`, then `loss.backward(retain_graph=...)` watched by a
    `BackwardPeak`, whose peak, where it happened and what was left fill the result."""
    memory = saved_for_backward(loss, model)
    with BackwardPeak(loss, model) as peak:
        loss.backward(retain_graph=retain_graph)
    memory.peak_bytes, memory.peak_at, memory.end_bytes = peak.peak_bytes, peak.peak_at, peak.live
    return memory


class BackwardPeak:
    """Observer (`autograd.observe`) of one backward of `root`: the bytes alive for it, measured
    after each op's backward returns and as each leaf takes its gradient (layers named by
    `model`'s dotted names when given).

        with BackwardPeak(loss) as peak:
            loss.backward()
        peak.peak_bytes, peak.peak_at, peak.timeline   # timeline: (where, bytes alive)

    Alive, each buffer once: the graph's values (every node's `.data`: input, parameters,
    outputs; the root holds them all through backward); what recorded ops keep for backward (as
    `saved_for_backward`), less each op's `ctx._saved` once the engine frees it after that op's
    backward (unless retain_graph: a buffer that is also a value stays); the seed gradient; the
    gradients the engine holds for nodes it has not reached yet (one array per node, as it
    accumulates); the gradient going through the running op and the gradients that op just
    returned (held until the engine's step for that op returns); and the graph's
    `.grad` arrays (leaves, retain_grad), each replaced by a new one as backward accumulates
    into it. A gradient the engine has to reduce or accumulate counts as a new array of its
    input's size. Not counted: temporaries inside an op's backward (freed before it returns),
    the sum made while accumulating, Python objects. The engine's walk is followed through
    `engine.toposort` (the same deterministic order), so an op's ctx says which node it is.
    """

    def __init__(self, root: Node, model: Any = None) -> None:
        self._names = ModuleNames(model)
        self._order = list(reversed(toposort(root)))
        self._position = {id(n._ctx): i for i, n in enumerate(self._order) if n._ctx is not None}
        self._live: dict[int, list] = {}  # key -> [owner array or None, nbytes, holders]
        self._fresh = count(-1, -1)  # keys for arrays that are modelled, not seen
        self._pending: dict[int, int] = {}  # id(node) -> key of the gradient waiting for it
        self._saved_keys: dict[int, list[int]] = {}  # id(ctx) -> keys of its ctx._saved
        self._grads: dict[int, int] = {}  # id(node) -> key of its .grad array
        self.live = 0
        for node in self._order:
            self._hold(node.data)  # the graph's values: alive as long as the root is
            if node._ctx is not None:
                self._keep(node._ctx)
            if node.grad is not None:
                self._grads[id(node)] = self._hold(node.grad.data)
        seed = self._seed = self._hold(None, root.data.nbytes)  # backward's argument: kept
        self._pending[id(root)] = seed
        self._live[seed][2] += 1  # held as the root's gradient too
        self.start_bytes = self.peak_bytes = self.live
        self.peak_at = "start"
        self.timeline: list[tuple[str, int]] = [("start", self.live)]
        self._cursor, self._last = 0, None
        self._returned: list[int] = []  # keys of the gradients the last op's backward returned

    def _keep(self, ctx: Function) -> None:
        saved = unique_owners(arrays_in(ctx._saved))
        others = [v for k, v in vars(ctx).items() if k not in ("parents", "_saved")]
        self._saved_keys[id(ctx)] = [self._hold(array) for array in saved]
        for array in unique_owners(arrays_in(others)):
            self._hold(array)  # kept as long as the graph is, backward or not

    # ----- the live set: each buffer once, with how many holders it has ----------------------
    def _hold(self, array: np.ndarray | None, nbytes: int = 0) -> int:
        base = None if array is None else owner(array)
        key = next(self._fresh) if base is None else id(base)
        entry = self._live.get(key)
        if entry is None:
            nbytes = nbytes if base is None else base.nbytes
            self._live[key] = [base, nbytes, 1]
            self.live += nbytes
        else:
            entry[2] += 1
        return key

    def _drop(self, key: int) -> None:
        entry = self._live[key]
        entry[2] -= 1
        if entry[2] == 0:
            del self._live[key]
            self.live -= entry[1]

    def _note(self, at: str) -> None:
        self.timeline.append((at, self.live))
        if self.live > self.peak_bytes:
            self.peak_bytes, self.peak_at = self.live, at

    # ----- following the engine's walk --------------------------------------------------------
    def _settle(self, upto: int) -> None:
        """The last op's saved arrays go if the engine freed them; the nodes before `upto` in
        the walk (leaves and nodes no gradient reached) took their gradients."""
        last = self._last
        if last is not None and last._saved is None:
            for key in self._saved_keys.pop(id(last), ()):
                self._drop(key)
        self._last = None
        for node in self._order[self._cursor:upto]:
            pending = self._pending.pop(id(node), None)
            if pending is None:
                continue
            earlier = self._took_grad(node)
            self._note(f"{self._names.param(node) or 'leaf'} .grad")  # while it is written
            for key in (earlier, pending):
                if key is not None:
                    self._drop(key)
        self._cursor = max(self._cursor, upto)

    def on_forward(self, ctx: Function, out: Node, seconds: float) -> None:
        pass  # ops run during backward (a hook's) keep nothing of this graph

    def on_backward(self, ctx: Function, input_grads: Any, seconds: float) -> None:
        at = self._position.get(id(ctx))
        if at is None:
            return  # an op of another graph
        self._settle(at)
        node = self._order[at]
        grad_key = self._pending.pop(id(node), None)
        earlier = self._took_grad(node)
        if earlier is not None:
            self._drop(earlier)
        grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
        returned = [self._hold(g) for g in grads if isinstance(g, np.ndarray)]
        for key in self._returned:  # the last op's step has returned: its locals are gone
            self._drop(key)
        self._note(f"{ctx.name} in {_layer(self._names, ctx.module)}")
        if grad_key is not None:
            self._drop(grad_key)
        self._returned = returned  # held until this op's step (engine._backward_node) returns
        for parent, g, needed in zip(ctx.parents, grads, ctx.needs_input_grad):
            if g is not None and needed:
                self._receive(parent, g)
        self._cursor, self._last = at + 1, ctx

    def _took_grad(self, node: Node) -> int | None:
        """Count the `.grad` that backward wrote for `node` (a leaf, or retain_grad); the key
        of the array it replaced, for the caller to drop."""
        if not node._retains_grad or node.grad is None:
            return None
        earlier = self._grads.get(id(node))
        self._grads[id(node)] = self._hold(node.grad.data)
        return earlier

    def _receive(self, parent: Node, grad: Any) -> None:
        """The engine keeps `grad` for `parent` as is when it already has the parent's shape and
        dtype and is the first one; otherwise a new array (reduced, cast or summed)."""
        earlier = self._pending.pop(id(parent), None)
        data = parent.data
        as_is = (earlier is None and isinstance(grad, np.ndarray) and grad.shape == data.shape
                 and grad.dtype == data.dtype)
        self._pending[id(parent)] = self._hold(grad) if as_is else self._hold(None, data.nbytes)
        if earlier is not None:
            self._drop(earlier)

    def __enter__(self) -> BackwardPeak:
        self._observing = autograd.observe(self)
        self._observing.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._observing.__exit__(*exc)
        self._settle(len(self._order))
        for key in [*self._returned, self._seed]:  # backward has returned: its locals are gone
            self._drop(key)
        self._returned = []
