"""Gradients handed back instead of accumulated, and gradients a hook may change: PyTorch's
`autograd.grad(outputs, inputs)` and `Tensor.register_hook(fn)`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import autograd

if TYPE_CHECKING:
    from .tensor import Tensor


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
        result = hook(autograd.tensor.Tensor._from_op(grad, None))
        if result is not None:
            array = np.asarray(getattr(result, "data", result), dtype=node.dtype)
            if array.shape != node.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient "
                                   f"of shape {array.shape} for a tensor of shape {node.shape}")
            grad = array
    return grad


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False) -> tuple:
    """d sum(outputs * grad_outputs) / d input for each input, as a tuple of Tensors; no
    `.grad` changes. Like torch.autograd.grad; higher-order gradients (create_graph) are not
    supported, since each op's backward is NumPy code."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients are "
                                  "not supported (each op's backward is NumPy, not recorded)")
    outputs = [outputs] if hasattr(outputs, "_requires_grad") else list(outputs)
    inputs = [inputs] if hasattr(inputs, "_requires_grad") else list(inputs)
    seeds = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs] * len(
        outputs)
    if len(seeds) != len(outputs):
        raise ValueError(f"grad: {len(seeds)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    for n, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {n} (shape {out.shape}) does not require grad")
    if len(outputs) == 1:
        root, seed = outputs[0], outputs[0]._seed(seeds[0], "grad(grad_outputs=...)")
    else:  # one pass over the sum of the weighted outputs: hooks see whole gradients, once
        Tensor = autograd.tensor.Tensor
        with autograd.enable_grad():  # recorded even inside no_grad: the graph already exists
            weighted = [(out * Tensor._from_op(out._seed(s, "grad(grad_outputs=...)"), None))
                        .sum() for out, s in zip(outputs, seeds)]
            root = weighted[0]
            for w in weighted[1:]:
                root = root + w
        seed = np.ones((), root.dtype)
    totals: dict[int, Any] = {id(t): None for t in inputs}
    autograd.backward(root, seed, bool(retain_graph), totals)
    result = []
    for i, t in enumerate(inputs):
        if totals[id(t)] is not None:
            result.append(autograd.tensor.Tensor._from_op(totals[id(t)].copy(), None))
        elif materialize_grads:
            result.append(autograd.tensor.Tensor._from_op(np.zeros_like(t.data), None))
        elif allow_unused:
            result.append(None)
        else:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    return tuple(result)
