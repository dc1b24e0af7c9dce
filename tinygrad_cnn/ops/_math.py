"""NumPy's names for a backward formula, on arrays or on graph nodes: `math_of(grad_out)` is NumPy
itself for a first-order backward, and `GraphMath` when backward is recorded (create_graph), so
one formula serves both (`xp.where(mask, grad_out, 0)`). GraphMath calls only methods of the
nodes it is given (Tensor's), so this module needs no op module and no Tensor import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Node


def math_of(*values: Any) -> Any:
    """`np` unless one of the values is a graph node, then `GraphMath`."""
    for value in values:
        if isinstance(value, Node):
            return GraphMath
    return np


def _node_of(*values: Any) -> Node:
    return next(v for v in values if isinstance(v, Node))


class GraphMath:
    """The NumPy functions backward formulas use, as recorded ops on graph nodes."""

    @staticmethod
    def where(condition: Any, x: Any, y: Any) -> Node:
        if isinstance(x, Node):
            return x.where(condition, y)
        ref = _node_of(condition, y)
        x = ref._from_op(np.asarray(x, dtype=y.dtype if isinstance(y, Node) else None), None)
        return x.where(condition, y)

    @staticmethod
    def exp(x: Node) -> Node:
        return x.exp()

    @staticmethod
    def log(x: Node) -> Node:
        return x.log()

    @staticmethod
    def sqrt(x: Node) -> Node:
        return x.sqrt()

    @staticmethod
    def tanh(x: Node) -> Node:
        return x.tanh()

    @staticmethod
    def expm1(x: Node) -> Node:
        return x.exp() - 1

    @staticmethod
    def sin(x: Node) -> Node:
        return x.sin()

    @staticmethod
    def cos(x: Node) -> Node:
        return x.cos()

    @staticmethod
    def sign(x: Node) -> Node:
        return x.sign()

    @staticmethod
    def abs(x: Node) -> Node:
        return x.abs()

    @staticmethod
    def maximum(x: Any, y: Any) -> Node:
        return x.maximum(y) if isinstance(x, Node) else y.maximum(x)

    @staticmethod
    def minimum(x: Any, y: Any) -> Node:
        return x.minimum(y) if isinstance(x, Node) else y.minimum(x)

    @staticmethod
    def sum(x: Node, axis: Any = None, keepdims: bool = False) -> Node:
        return x.sum(axis, keepdims)

    @staticmethod
    def broadcast_to(x: Node, shape: Sequence[int]) -> Node:
        return x.expand(tuple(shape))

    @staticmethod
    def expand_dims(x: Node, axis: Any) -> Node:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        shape = list(x.data.shape)
        for a in sorted(a % (len(shape) + len(axes)) for a in axes):
            shape.insert(a, 1)
        return x.reshape(tuple(shape))

    @staticmethod
    def matmul(x: Node, y: Node) -> Node:
        return x @ y

    @staticmethod
    def swapaxes(x: Node, axis1: int, axis2: int) -> Node:
        return x.transpose(axis1, axis2)

    @staticmethod
    def transpose(x: Node, axes: Sequence[int]) -> Node:
        return x.permute(tuple([int(a) for a in axes]))

    @staticmethod
    def flip(x: Node, axis: Any) -> Node:
        return x.flip(axis)

    @staticmethod
    def cumsum(x: Node, axis: int) -> Node:
        return x.cumsum(axis)

    @staticmethod
    def floor_divide(x: Node, y: Node) -> Node:
        """Piecewise constant, so a constant node: its derivative is 0 wherever it has one (as
        PyTorch's div(rounding_mode="floor")), where recording `//` would refuse a backward."""
        return _node_of(x, y)._from_op(np.floor_divide(x.data, y.data), None)

    @staticmethod
    def zeros_like(x: Node) -> np.ndarray:
        return np.zeros_like(x.data)
