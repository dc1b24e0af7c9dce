"""What each node of the graph picture says: value summaries, tensor and op labels, colours, and
how a gradient's own graph is named (the derivative order of an op, `TanhBackward`)."""

from __future__ import annotations

import html
import textwrap

import numpy as np

from .engine import FirstOrderOnly, Function
from .naming import ModuleNames
from .tensor import Tensor

PARAM_FILL, LEAF_FILL, ROOT_FILL, OP_FILL = "#cfe3ff", "#ececec", "#ffd9d9", "#fff3c4"
CLUSTER_FILL = "#f7f7fb"
# a gradient's graph: ops recorded by a backward, one fill and border per derivative order
# (1st, 2nd, 3rd, 4th, then again); the forward values they read are greyed
ORDER_FILLS = ("#ffdcb8", "#e4d4f7", "#cdeed6", "#cfe6f5")
ORDER_BORDERS = ("#d9822b", "#8a63c9", "#3f9a5a", "#3b86b8")
FORWARD_FILL, FORWARD_INK = "#f3f3f3", "#9a9a9a"


def summarize(data: np.ndarray, tiny: int = 4) -> str:
    """Values of a tiny array (at most `tiny` elements), else min / mean / max; non-finite
    entries are counted so a NaN stands out."""
    data = np.asarray(data)
    if data.size == 0:
        return "empty"
    if data.dtype == bool:
        return f"true {int(data.sum())}/{data.size}"
    if data.size <= tiny:
        return np.array2string(data.ravel(), precision=4, separator=", ", suppress_small=True)
    finite = np.isfinite(data)
    bad = "" if finite.all() else f"  non-finite {data.size - int(finite.sum())}"
    values = data[finite] if bad else data
    if values.size == 0:
        return f"all {data.size} non-finite"
    return (f"min {values.min():.4g}  mean {values.mean(dtype=np.float64):.4g}  "
            f"max {values.max():.4g}{bad}")


class Names(ModuleNames):
    """ModuleNames plus the viewer's notion of a parameter."""

    def is_param(self, t: Tensor) -> bool:
        return id(t) in self.params if self.params else t.is_leaf and t.requires_grad

    def tensor(self, t: Tensor) -> str | None:
        return self.param(t)


def table(rows: list[tuple[str, str]], fill: str, bold_first: bool = True) -> str:
    """An HTML-like graphviz label: first row bold, the rest small grey."""
    cells = []
    for i, (text, colour) in enumerate(rows):
        text = html.escape(text)
        if i == 0 and bold_first:
            text = f"<B>{text}</B>"
        else:
            text = f'<FONT POINT-SIZE="9" COLOR="{colour}">{text}</FONT>'
        cells.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{text}</TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" '
            f'BGCOLOR="{fill}">{"".join(cells)}</TABLE>>')


def tensor_label(t: Tensor, names: Names, is_root: bool, options: tuple,
                 constant: bool = False) -> tuple[str, str]:
    """`constant`: a leaf that only backward ops read (a mask a backward saved), not an input."""
    show_values, show_grads, _ = options
    is_param = names.is_param(t)
    name = names.tensor(t) or ("parameter" if is_param else "" if not t.is_leaf
                               else "const" if constant or t.size == 1 else "input")
    fill = PARAM_FILL if is_param else ROOT_FILL if is_root else LEAF_FILL if t.is_leaf \
        else "#ffffff"
    shape = shape_text(t.shape)
    rows = [(f"{name}  {shape}" if name else shape, "")]
    rows.append((str(t.dtype), "#777777"))
    if show_values:
        rows.append((summarize(t.data), "#333333"))
    if show_grads and t.grad is not None:
        rows.append(("grad " + summarize(t.grad.data), "#b03000"))
    return table(rows, fill), fill


def op_label(ctx: Function, show_rule: bool, fill: str = OP_FILL) -> str:
    if isinstance(ctx, FirstOrderOnly):  # an op whose backward is NumPy code: say so
        return table([(f"{ctx.op}'s NumPy backward", ""), ("first order only", "#aa0000")], fill)
    rows = [(ctx.name, "")]
    rule = ctx.rule if show_rule else None
    if rule:
        rows += [(line, "#555555") for line in textwrap.wrap(rule, 44)]
    return table(rows, fill)


def derivative_order(ctx: Function) -> int:
    """0 for an op of the forward pass, 1 for one its backward recorded (create_graph), 2 for
    one recorded by the backward of such an op, ..."""
    order = 0
    while ctx.backward_of is not None:
        ctx, order = ctx.backward_of, order + 1
    return order


def backward_title(forward: Function) -> str:
    """PyTorch's name for the backward of `forward` ('TanhBackward'); for an op that a backward
    recorded, the path to it ('TanhBackward › MulBackward': the backward of a Mul that
    TanhBackward recorded)."""
    title = forward.name.split("[")[0] + "Backward"  # Conv2d[taps] -> Conv2dBackward
    if forward.backward_of is None:
        return title
    return f"{backward_title(forward.backward_of)} › {title}"


def order_colours(order: int) -> tuple[str, str]:
    """(fill, border) of the ops a backward of this derivative order (1, 2, ...) recorded."""
    i = (order - 1) % len(ORDER_FILLS)
    return ORDER_FILLS[i], ORDER_BORDERS[i]


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"
