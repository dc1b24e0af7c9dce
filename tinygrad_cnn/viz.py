"""Graph pictures: the recorded autograd graph behind a tensor as a graphviz.Digraph, and rendering.

`draw_graph(loss)` walks the graph with `autograd.toposort` (the one graph walk) and draws

- one op node per recorded op (its context): the op's display name (`ctx.name`, e.g.
  'Conv2d[taps]'), and with `show_rules=True` its local derivative rule (`ctx.rule`);
- one tensor node per tensor: name, shape, dtype, a value summary and, after `backward()`, a
  gradient summary. Parameters are blue and named (from `model.named_parameters()` when `model`
  is given, else `Tensor.name`); other leaves are grey; the root is red.
- edges input tensor -> op -> output tensor.

A gradient computed with `create_graph=True` is a graph too, and `draw_graph(grad)` draws it:
the ops a backward recorded (`ctx.backward_of` set) sit in one cluster per forward op, named as
PyTorch names it (`TanhBackward`; `TanhBackward › MulBackward` for the backward of an op that
TanhBackward recorded), filled by derivative order (orange, purple, green, blue); the forward
values they read are greyed, and ops on the gradient that no backward recorded (the sum of two
contributions, a penalty) keep the usual yellow. `op_label` names an op whose backward is NumPy
code ("first order only").

Only leaves and tensors that called `retain_grad()` keep `.grad` after backward; call
`retain_grads(loss)` before `loss.backward()` to see the gradient of every tensor in the picture.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import graphviz

from .autograd import toposort
from .fileio import write_bytes, write_text
from .tensor import Tensor
from .viz_labels import (
    CLUSTER_FILL,
    FORWARD_FILL,
    FORWARD_INK,
    OP_FILL,
    Names,
    backward_title,
    derivative_order,
    op_label,
    order_colours,
    shape_text,
    summarize,
    table,
    tensor_label,
)

__all__ = ["GraphvizNotFoundError", "INSTALL_HINT", "draw_graph", "render_graph", "retain_grads",
           "summarize"]

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the graph could not be rendered. "
    "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
    "or from https://graphviz.org/download/ (Windows: add its bin folder to PATH)."
)



class GraphvizNotFoundError(RuntimeError):
    """`dot` is missing: the graph's DOT source was written to `dot_path` instead."""

    def __init__(self, dot_path: Path) -> None:
        super().__init__(f"{INSTALL_HINT} The DOT source was written to {dot_path}.")
        self.dot_path = dot_path


def retain_grads(root: Tensor) -> int:
    """Ask every tensor behind `root` to keep its `.grad` after backward (so `draw_graph` shows
    every gradient, as micrograd does); returns how many tensors now retain their grad."""
    count = 0
    for node in toposort(root):
        if node.requires_grad:
            node.retain_grad()
            count += 1
    return count


def draw_graph(
    root: Tensor,
    model: Any = None,
    show_values: bool = True,
    show_grads: bool = True,
    show_rules: bool = False,
    group_by_module: bool = False,
    module_level: bool = False,
    max_nodes: int | None = 2000,
    rankdir: str = "TB",
) -> graphviz.Digraph:
    """Draw the graph recorded behind `root` (usually a loss).

    model: an nn.Module whose `named_parameters()` / `named_modules()` name the parameters and
        the clusters (otherwise `Tensor.name` and the module's class name).
    group_by_module: put the ops each module produced (`ctx.module`), their outputs and the
        module's parameters into one `cluster_<n>` subgraph labelled with the module's name.
    module_level: collapse each module into one node; edges between modules carry the shapes
        that flow. Ops outside any module stay op nodes.
    max_nodes: draw at most this many ops, the ones nearest the root; a note node says how many
        were left out (None draws everything).
    rankdir: "TB" (top to bottom) or "LR" (left to right; suits `module_level`).

    Write it with `render_graph(dot, "graph.svg")`; in Jupyter the returned Digraph shows itself.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph draws the graph recorded behind a Tensor (e.g. a loss), got "
                        f"{type(root).__name__}; compute it from tensors with requires_grad=True")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    nodes = toposort(root)
    nodes, boundary, cut = _nearest(nodes, max_nodes)
    names = Names(model)
    dot = graphviz.Digraph("tinygrad_cnn", graph_attr={
        "rankdir": rankdir, "fontname": "Helvetica", "nodesep": "0.25", "ranksep": "0.3"})
    dot.attr("node", fontname="Helvetica", fontsize="10", margin="0.06,0.03")
    dot.attr("edge", color="#555555", arrowsize="0.6", fontname="Helvetica", fontsize="9")
    if module_level:
        _draw_modules(dot, nodes, root, names)
    else:
        options = (show_values, show_grads, show_rules)
        _draw_tensors(dot, nodes, root, names, options, group_by_module, boundary)
    if cut:
        dot.node("truncated", f"{cut} more ops not drawn (max_nodes={max_nodes})",
                 shape="note", style="filled", fillcolor="#ffffff", fontcolor="#aa0000")
    return dot


def render_graph(dot: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:  # noqa: A002
    """Render `dot` to `path` as svg, png or pdf (default: from the suffix). If Graphviz's `dot`
    program is missing, write the DOT source to `path` with suffix `.dot` and raise
    GraphvizNotFoundError saying how to install Graphviz."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render_graph: format must be svg, png or pdf, got {fmt!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        image = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        write_text(dot_path, dot.source)
        raise GraphvizNotFoundError(dot_path) from None
    write_bytes(path, image)  # atomic: a failed write leaves the old file
    return path


# ----- helpers ---------------------------------------------------------------------------------
def _nearest(nodes: list[Tensor], max_nodes: int | None) -> tuple[list[Tensor], set[int], int]:
    """Keep the `max_nodes` ops nearest the root plus their inputs; return the kept tensors, the
    ids of inputs whose own op is not drawn (the boundary), and how many ops were cut."""
    ops = [t for t in nodes if t._ctx is not None]
    if max_nodes is None or len(ops) <= max_nodes:
        return nodes, set(), 0
    depth = {id(nodes[-1]): 0}
    for t in reversed(nodes):  # outputs come after inputs, so each depth is final when read
        d = depth.get(id(t), 0)
        if t._ctx is not None:
            for p in t._ctx.parents:
                depth[id(p)] = min(depth.get(id(p), d + 1), d + 1)
    keep_ops = {id(t) for t in sorted(ops, key=lambda t: depth[id(t)])[:max_nodes]}
    inputs = {id(p) for t in ops if id(t) in keep_ops for p in t._ctx.parents}
    kept = [t for t in nodes if id(t) in keep_ops or id(t) in inputs]
    boundary = {id(t) for t in kept if id(t) not in keep_ops and t._ctx is not None}
    return kept, boundary, len(ops) - max_nodes


def _draw_tensors(dot: graphviz.Digraph, nodes: list[Tensor], root: Tensor, names: Names,
                  options: tuple, group_by_module: bool, boundary: set[int]) -> None:
    ids = {id(t): f"t{i}" for i, t in enumerate(nodes)}
    clusters = _Clusters(dot, nodes, names, group_by_module)
    greyed = _forward_of_gradient(nodes)
    constants = _read_by_backward_only(nodes)
    for t in nodes:
        tid = ids[id(t)]
        label, fill = tensor_label(t, names, t is root, options, id(t) in constants)
        graph = clusters.of(t)
        cut_here = id(t) in boundary  # made by an op that max_nodes left out: dashed
        op_fill, border, ink = _op_style(t._ctx, id(t) in greyed)
        recolour = {} if op_fill == OP_FILL else {"color": border, "fontcolor": ink}
        graph.node(tid, label, shape="box", fillcolor=fill,
                   style="rounded,filled,dashed" if cut_here else "rounded,filled",
                   penwidth="2" if names.is_param(t) else "1", **recolour)
        if t._ctx is None or cut_here:
            continue
        ctx = t._ctx
        oid = "op" + tid[1:]
        graph.node(oid, op_label(ctx, options[2], op_fill), shape="box", style="filled",
                   fillcolor=op_fill, color=border, fontcolor=ink)
        for p in ctx.parents:
            if id(p) in ids:
                dot.edge(ids[id(p)], oid)
        dot.edge(oid, tid)
    clusters.close()


class _Clusters:
    """The subgraphs tensors are drawn in: one per module (group_by_module), and in a gradient's
    graph one per forward op whose backward recorded ops, named after it (`TanhBackward`)."""

    def __init__(self, dot: graphviz.Digraph, nodes: list[Tensor], names: Names,
                 group_by_module: bool) -> None:
        self.dot, self.names = dot, names
        self.owner = _owners(nodes) if group_by_module else {}
        self.graphs: dict[int, graphviz.Digraph] = {}

    def of(self, t: Tensor) -> graphviz.Digraph:
        ctx = t._ctx
        if ctx is not None and ctx.backward_of is not None:  # recorded by a backward
            border = order_colours(derivative_order(ctx))[1]
            return self._get(ctx.backward_of, backward_title(ctx.backward_of), "#fffaf4", border)
        module = self.owner.get(id(t))
        if module is None:
            return self.dot
        return self._get(module, self.names.title(module), CLUSTER_FILL, "#9a9ab0")

    def _get(self, key: Any, label: str, fill: str, border: str) -> graphviz.Digraph:
        if id(key) not in self.graphs:
            self.graphs[id(key)] = sub = graphviz.Digraph(f"cluster_{len(self.graphs)}")
            sub.attr(label=label, style="rounded,filled", fillcolor=fill, color=border,
                     fontname="Helvetica", fontsize="11", labeljust="l")
        return self.graphs[id(key)]

    def close(self) -> None:
        """Add the clusters to the picture (after their nodes, which they list)."""
        for sub in self.graphs.values():
            self.dot.subgraph(sub)


def _forward_of_gradient(nodes: list[Tensor]) -> set[int]:
    """In a gradient's graph (create_graph), the ids of the forward values its backward ops read:
    the tensors made by ops that no backward recorded and that none of its outputs feed.
    Empty for a graph without backward ops."""
    downstream: set[int] = set()  # made by a backward op, or computed from one
    for t in nodes:
        ctx = t._ctx
        if ctx is not None and (ctx.backward_of is not None or
                                any(id(p) in downstream for p in ctx.parents)):
            downstream.add(id(t))
    if not downstream:
        return set()
    return {id(t) for t in nodes if t._ctx is not None and id(t) not in downstream}


def _read_by_backward_only(nodes: list[Tensor]) -> set[int]:
    """The leaves that only ops recorded by a backward read: the masks, indices and seeds of a
    gradient's graph, drawn as constants rather than inputs."""
    readers: dict[int, list[bool]] = {}
    for t in nodes:
        if t._ctx is not None:
            for p in t._ctx.parents:
                readers.setdefault(id(p), []).append(t._ctx.backward_of is not None)
    return {id(t) for t in nodes if t._ctx is None and not t.requires_grad
            and readers.get(id(t)) and all(readers[id(t)])}


def _op_style(ctx: Any, greyed: bool) -> tuple[str, str, str]:
    """(fill, border, ink) of an op node: by derivative order for ops a backward recorded,
    grey for the forward values a gradient's graph reads, else the usual yellow."""
    if ctx is not None and ctx.backward_of is not None:
        fill, border = order_colours(derivative_order(ctx))
        return fill, border, "#000000"
    if greyed:
        return FORWARD_FILL, "#bbbbbb", FORWARD_INK
    return OP_FILL, "#b59a2b", "#000000"


def _owners(nodes: list[Tensor]) -> dict[int, Any]:
    """The module each tensor is drawn in: an op's output goes with the op's module; a leaf
    that requires grad (a parameter) goes with the module of its consumers when they agree."""
    owner: dict[int, Any] = {}
    consumers: dict[int, set[int]] = {}
    modules: dict[int, Any] = {}
    for t in nodes:
        if t._ctx is None:
            continue
        module = t._ctx.module
        owner[id(t)] = module
        for p in t._ctx.parents:
            if p._ctx is None and p.requires_grad:
                consumers.setdefault(id(p), set()).add(id(module))
                modules[id(module)] = module
    for key, users in consumers.items():
        if len(users) == 1:
            owner[key] = modules[next(iter(users))]
    return owner


def _draw_modules(dot: graphviz.Digraph, nodes: list[Tensor], root: Tensor,
                  names: Names) -> None:
    """Module-level view: one node per module, op nodes for ops outside modules, leaf inputs."""
    owner = _owners(nodes)
    unit: dict[int, str] = {}  # tensor id -> the drawn node it belongs to
    modules: dict[int, tuple[str, Any]] = {}  # module id -> (node id, module)
    param_counts: Counter[str] = Counter()
    for i, t in enumerate(nodes):
        module = owner.get(id(t))
        if module is not None:
            uid, _ = modules.setdefault(id(module), (f"m{len(modules)}", module))
            unit[id(t)] = uid
            if t._ctx is None:
                param_counts[uid] += t.size
        elif t._ctx is not None:
            unit[id(t)] = f"op{i}"
            rows = [(t._ctx.name, ""), (shape_text(t.shape), "#555555")]
            dot.node(f"op{i}", table(rows, OP_FILL), shape="box", style="filled",
                     fillcolor=OP_FILL, color="#b59a2b")
        else:
            unit[id(t)] = f"t{i}"
            label, fill = tensor_label(t, names, t is root, (False, False, False))
            dot.node(f"t{i}", label, shape="box", style="rounded,filled", fillcolor=fill)
    for uid, module in modules.values():
        rows = [(names.title(module), "")]
        if param_counts[uid]:
            rows.append((f"{param_counts[uid]:,} parameters", "#555555"))
        dot.node(uid, table(rows, CLUSTER_FILL), shape="box", style="rounded,filled",
                 fillcolor=CLUSTER_FILL, color="#6a6a90", penwidth="1.5")
    seen: set[tuple[str, str, tuple]] = set()
    for t in nodes:
        if t._ctx is None:
            continue
        dst = unit[id(t)]
        for p in t._ctx.parents:
            src = unit.get(id(p))
            if src is None or src == dst or (src, dst, p.shape) in seen:
                continue
            seen.add((src, dst, p.shape))
            dot.edge(src, dst, label=" " + shape_text(p.shape))
