"""Backprop one node at a time: a real `backward()` records, in the engine's order, each op's
incoming gradient (the engine hands it over through `deliver`), the gradients it sends to its
inputs (an observer) and the leaves they reach."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import engine, nn, ops
from ..autograd import observe
from ..engine import Function, checked_grad, toposort
from ..naming import ModuleNames
from ..tensor import Tensor
from .trace import layers_of, model_input


@dataclass
class Send:
    """One gradient an op sends to input `index`: the tensor's place in the graph's toposort
    (`node`), its name when it is a parameter, and whether it is a leaf whose `.grad` gets it."""

    index: int
    node: int
    name: str
    leaf: bool
    grad: np.ndarray


@dataclass
class Step:
    """One op's backward: its output's toposort index (`op{node}` in draw_graph's picture)."""

    node: int
    op: str
    module: str
    grad_out: np.ndarray
    sends: list[Send]


class StepRecorder:
    """Two hooks into one real backward: `deliver` (the engine's) receives each node's total
    gradient before its op runs backward, and `on_backward` (an `autograd.observe` observer)
    the gradients the op returned, reduced to each input's shape by the engine's checked_grad."""

    def __init__(self, root: Tensor, model: Any = None) -> None:
        self.order = toposort(root)
        self.position = {id(t): i for i, t in enumerate(self.order)}
        self.output = {id(t._ctx): t for t in self.order if t._ctx is not None}
        self.names = ModuleNames(model)
        self.received: dict[int, np.ndarray] = {}
        self.steps: list[Step] = []

    def deliver(self, node: Tensor, grad: np.ndarray) -> None:
        self.received[id(node)] = grad
        engine.accumulate_into_grad(node, grad)  # the parameters get their .grad as usual

    def on_forward(self, ctx: Function, out: Tensor, seconds: float) -> None:
        pass

    def on_backward(self, ctx: Function, input_grads: Any, seconds: float) -> None:
        out = self.output[id(ctx)]
        grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
        sends = []
        for index, (parent, g) in enumerate(zip(ctx.parents, grads)):
            if g is None or not ctx.needs_input_grad[index]:
                continue
            g = checked_grad(ctx, index, parent, g)
            sends.append(Send(index, self.position[id(parent)], self.names.param(parent) or "",
                              parent._ctx is None, g))
        module = self.names.module(ctx.module) if ctx.module is not None else ""
        self.steps.append(Step(self.position[id(out)], ctx.name, module,
                               self.received[id(out)], sends))


@dataclass
class Backprop:
    """The loss graph of one image and its recorded steps (`model` is the copy that ran it)."""

    loss: Tensor
    model: nn.Module
    steps: list[Step]


def record_backprop(model: nn.Module, image: np.ndarray, label: int, normalize: Any = None,
                    copy_model: bool = True) -> Backprop:
    """Cross-entropy loss of `image` for `label` on a copy of `model` in eval mode, and the steps
    of its real backward(); the copy's parameters get their `.grad`, the caller's model nothing
    (with `copy_model=False` the model itself runs: a server's private copy)."""
    layers_of(model)  # says which layer it cannot show before any work
    model = (copy.deepcopy(model) if copy_model else model).eval()
    x = Tensor(model_input(image, normalize), requires_grad=True, name="image")
    logits = model(x)
    if not 0 <= label < logits.shape[1]:
        raise ValueError(f"label {label} is not a class (0..{logits.shape[1] - 1})")
    loss = ops.cross_entropy(logits, Tensor(np.array([label]), dtype=None))
    recorder = StepRecorder(loss, model)
    with observe(recorder):  # retain_graph: the graph stays drawable afterwards
        engine.backward(loss, np.ones_like(loss.data), True, recorder.deliver)
    return Backprop(loss, model, recorder.steps)
