"""In-place updates (`x += y`, `x.add_(y)`, `x.copy_(src)`, `x[i] = v`; Tensor's methods call
`update` and `setitem`) with PyTorch's rules:
the new values go into the tensor's own array (its views see them) and its version counter is
bumped. In grad mode the update is recorded: ops that used the old value send their gradients
to it (`as_it_was`); a backward that would need an old value which is gone refuses instead of
using the new one (`check_versions`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .engine import _state
from .ops.promotion import CATEGORY, DtypeError
from .ops.shapes import number

if TYPE_CHECKING:
    from .engine import Function
    from .tensor import Tensor

_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
_CASTING = {"copy_", "fill_", "zero_", "setitem"}  # these cast to the tensor's dtype, as PyTorch


def update(t: Tensor, name: str, fn: Callable[..., Tensor], *args: Any) -> Tensor:
    """t's array := fn(t, *args). Under no_grad (or with nothing requiring grad) only the data
    changes; in grad mode the update is recorded in the graph, as PyTorch records it."""
    grad_mode = _state.grad_enabled
    if grad_mode and t._requires_grad and t._ctx is None:
        raise RuntimeError(f"{_LEAF} ({name} on a parameter or other leaf tensor; wrap updates "
                           "in `with no_grad():`)")
    if grad_mode and (t._requires_grad or any(getattr(a, "_requires_grad", False) for a in args)):
        return _recorded(t, name, fn, args)
    _write(t, name, fn(t, *args).data)
    return t


def _recorded(t: Tensor, name: str, fn: Callable[..., Tensor], args: tuple) -> Tensor:
    """The update as a graph node: t's old value and origin move to a new tensor `before`,
    t becomes fn(before, *args) (PyTorch rebases the tensor's history the same way)."""
    if t._is_view:
        origin = t._ctx.name if t._ctx is not None else "a view op"
        raise RuntimeError(f"{name}: an in-place update of a view (the output of {origin}) in "
                           "grad mode is not supported here; use an out-of-place op "
                           "(y = y + 1) or update the base tensor")
    before = type(t)._from_op(t.data.copy(), t._ctx)  # a copy: `fn` may save it for backward
    before._requires_grad = t._requires_grad
    result = fn(before, *[before if a is t else a for a in args])  # x *= x: x_old * x_old
    version = t._version_counter.value
    _write(t, name, result.data)
    _flag_saved_output(t)
    t._ctx, t._requires_grad = result._ctx, result._requires_grad
    # ops that used t at `version` mean `before`; so do hooks registered until now (PyTorch's
    # rule: a hook sees the gradient of the value the tensor had when it was registered)
    if "_earlier" not in t.__dict__:
        t._earlier = []
    t._earlier.append((version, before))
    before._hooks, t._hooks = t._hooks, ()
    return t


def _flag_saved_output(t: Tensor) -> None:
    """If the op that made t saved t's array for backward (exp, sigmoid), its backward must
    refuse once t changes: PyTorch's version check on saved outputs."""
    if t._ctx is not None and _saved_output(t._ctx, t):
        t._ctx.output_modified = True


def _saved_output(ctx: Function, out: Tensor) -> bool:
    """Whether ctx kept (part of) out's array for its backward."""
    return bool(ctx._saved) and any(
        isinstance(a, np.ndarray) and np.may_share_memory(a, out.data) for a in ctx._saved)


def _write(t: Tensor, name: str, result: np.ndarray) -> None:
    data = t.data
    if result.shape != data.shape:
        raise RuntimeError(f"{name}: output with shape {data.shape} doesn't match the broadcast "
                           f"shape {result.shape} (an in-place op cannot change the shape)")
    if name not in _CASTING and CATEGORY[result.dtype.kind] > CATEGORY[data.dtype.kind]:
        raise DtypeError(f"{name}: result type {result.dtype} can't be cast to the desired output "
                         f"type {data.dtype} (as PyTorch); use the out-of-place op, whose result "
                         f"is {result.dtype}")
    if not data.flags.writeable:
        raise RuntimeError(f"{name}: this tensor's array is read-only (an expand() view, whose "
                           "elements share memory, or a read-only buffer); clone() it first")
    np.copyto(data, result, casting="unsafe")
    t._version_counter.value += 1


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """`t[index] = value`: value (a number, array or Tensor) broadcast into the indexed part."""
    grad_mode = _state.grad_enabled
    if grad_mode and (t._requires_grad or getattr(value, "_requires_grad", False)):
        update(t, "setitem", ops.setitem, index, value)
    else:
        ops.setitem_data(t.data, index, value)
        t._version_counter.value += 1


def scalar(value: Any, name: str) -> Any:
    """fill_'s value: a number or a one-element Tensor, as PyTorch."""
    if getattr(value, "size", None) == 1 and hasattr(value, "_requires_grad"):
        return value
    return number(value, name)


# ----- the engine's checks at backward time (Tensor._check_saved and _as_it_was) ------------
def check_versions(ctx: Function, out: Tensor | None = None) -> None:
    """An op that saved arrays for backward must see its inputs as they were in forward: an
    optimizer step or load_state_dict between forward and backward would silently give wrong
    gradients, so say so instead (PyTorch's version counter, with the same advice). So must
    an op that saved its output `out` (exp, tanh): an update through any tensor sharing out's
    version counter (out.detach(), a no_grad update) bumps it past 0, the value it had when the
    op made it, and the backward refuses with PyTorch's words."""
    if out is not None and out._version_counter.value and not out._is_view and _saved_output(
            ctx, out):
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{out.dtype} {list(out.shape)}], which is output 0 of "
            f"{ctx.name}, is at version {out._version_counter.value}; expected version 0 "
            "instead. Hint: the tensor, or a tensor sharing its data (detach()), was changed "
            "in place after the forward pass; .clone() it before changing it")
    if ctx.output_modified:
        raise RuntimeError(
            f"{ctx.name}: its output was modified by an in-place operation after the forward "
            f"pass, but {ctx.name}'s backward needs that output. Use an out-of-place op "
            "(y = y + 1 instead of y += 1) or .clone() the output first."
        )
    reads, needs = ctx.reads_saved, ctx.needs_input_grad
    for index, (parent, version) in enumerate(zip(ctx.parents, ctx.versions)):
        if parent._version_counter.value != version:
            if reads is not None and not any(needs[i] for i in reads[index]):
                continue  # no gradient that is needed reads this input's value
            raise RuntimeError(
                f"{ctx.name}: input {index} (shape {parent.shape}) was modified in place after "
                "the forward pass (an in-place op, an optimizer step or load_state_dict?), so "
                "its gradient would be wrong. Call backward() before changing parameters, then "
                "run forward again."
            )


def as_it_was(t: Tensor, version: int, ctx: Function, out: Tensor, read_late: set) -> Tensor:
    """The tensor that stands for t's value at `version` in the graph: an op recorded before an
    in-place update of t sends its gradient to t's old history (`before` in `_recorded`), as
    PyTorch's graph edges point at the old grad_fn. Updates under no_grad keep t's history.
    A view of t (`out`, sharing t's memory) that an op read after the update showed t's new
    values, which the old history does not produce: its gradient is refused (`read_late`, from
    the engine; PyTorch rebuilds the view's history instead)."""
    for updated_at, before in t._earlier:
        if updated_at >= version:
            if id(out) in read_late:
                raise RuntimeError(
                    f"{ctx.name}: this view was taken before an in-place update of its base "
                    f"(shape {t.shape}) and read after it, so it showed the new values but its "
                    "gradient would skip that update. Take the view after the update, or "
                    "clone() it first.")
            return before
    return t
