"""PyTorch's signatures for the top-level elementwise and matmul functions: the keyword names
(`torch.matmul(input=a, other=b)`, `torch.add(x, y, alpha=2)`) and `out=`, which writes the
result into an existing tensor (`torch.add(x, y, out=result)`). Each calls the op in `ops`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..grad_mode import is_grad_enabled
from ..ops.promotion import result_type
from ..tensor import Tensor


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.add(input, other if alpha == 1 else alpha * other), out, "add",
                   input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.sub(input, other if alpha == 1 else alpha * other), out, "sub",
                   input, other)


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.mul(input, other), out, "mul", input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None,  # noqa: A002
        out: Tensor | None = None) -> Tensor:
    """True division, or rounded "floor" / "trunc" as PyTorch's rounding_mode."""
    if rounding_mode not in (None, "floor", "trunc"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found {rounding_mode!r}")
    if rounding_mode == "floor":
        return _result(_floor_div(input, other), out, "div", input, other)
    result = ops.div(input, other)
    if rounding_mode == "trunc":
        result = ops.sign(result) * ops.floor(ops.abs(result))
        dtype = result_type("div", input, other)
        result = result if dtype.kind == "f" else result.to(dtype)  # integers stay integers
    return _result(result, out, "div", input, other)


def _floor_div(x: Any, y: Any) -> Tensor:
    """x // y with PyTorch's gradient for div(rounding_mode="floor"): zero for both inputs (the
    `//` operator's own backward refuses, as PyTorch's floor_divide). The zeros come through
    sign(), whose gradient is 0, so the result stays in the graph without changing a value."""
    quotient = ops.floor_divide(_detached(x), _detached(y))
    needs = [v for v in (x, y) if getattr(v, "requires_grad", False)]
    for v in needs:
        quotient = quotient + ops.sign(v) * 0
    return quotient


def _detached(value: Any) -> Any:
    return value.detach() if isinstance(value, Tensor) else value


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.matmul(input, other), out, "matmul", input, other)


def mm(input: Any, mat2: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.mm(input, mat2), out, "mm", input, mat2)


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A001, A002
    return _result(ops.pow(input, exponent), out, "pow", input, exponent)


def maximum(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.maximum(input, other), out, "maximum", input, other)


def minimum(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.minimum(input, other), out, "minimum", input, other)


def exp(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.exp(input), out, "exp", input)


def log(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.log(input), out, "log", input)


def sqrt(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.sqrt(input), out, "sqrt", input)


def abs(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A001, A002
    return _result(ops.abs(input), out, "abs", input)


def neg(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.neg(input), out, "neg", input)


def sin(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.sin(input), out, "sin", input)


def cos(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.cos(input), out, "cos", input)


def tanh(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.tanh(input), out, "tanh", input)


def sigmoid(input: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return _result(ops.sigmoid(input), out, "sigmoid", input)


def _result(result: Tensor, out: Tensor | None, op: str, *inputs: Any) -> Tensor:
    """`result`, or with out= the result written into `out` (its dtype and memory kept; resized
    when its shape differs, as PyTorch resizes), returned. As in PyTorch, out= records no graph
    and is refused while an input requires grad."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad")
    if result.dtype != out.dtype and not np.can_cast(result.dtype, out.dtype, "same_kind"):
        raise RuntimeError(f"{op}(): result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype}")
    if out.shape == result.shape:
        out.data[...] = result.data
    else:
        out.data = result.data.astype(out.dtype)
    out._version += 1  # an in-place update: graphs that saved `out` must not backward
    return out
