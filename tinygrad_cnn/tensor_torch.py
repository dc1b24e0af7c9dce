"""Tensor's methods where PyTorch's form differs from NumPy's, accepting both: reductions take
`dim`/`keepdim` as well as `axis`/`keepdims`; `max(dim)` and `min(dim)` return (values, indices);
`size` is the element count like NumPy's, and `size()` / `size(dim)` the shape like PyTorch's.
Also PyTorch's `backward(gradient=, inputs=)`, `register_hook` and `to(device, dtype)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import autograd, devices, gradients, ops
from .ops._args import normalize_axis, torch_names

if TYPE_CHECKING:
    from .tensor import Tensor

Axis = int | tuple[int, ...] | None


class Size(int):
    """`t.size`: the number of elements (NumPy's `size`), and callable as PyTorch's `t.size()`
    (the shape) and `t.size(dim)` (one dimension)."""

    shape: tuple[int, ...]

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not self.shape:
            raise IndexError(f"size: dimension specified as {dim} but tensor has no dimensions")
        return self.shape[normalize_axis(dim, self.shape, "size")]


class TorchOps:
    """Each op method is one call into `ops`; `torch_names` maps dim= and keepdim=."""

    data: Any

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None, *, grad: Any = None) -> None:
        """Accumulate d self / d leaf into `.grad` of every leaf that requires grad (only into
        `inputs`, when given), PyTorch's backward; `grad=` is this library's older name for
        `gradient`. Higher-order gradients (create_graph) are not supported."""
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward() got both gradient= and grad=")
            gradient = grad
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients are "
                                      "not supported (each op's backward is NumPy, not recorded)")
        if not self._requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the graph "
                "that made it has requires_grad=True (or it was made under no_grad())")
        seed = self._seed(gradient, "backward(gradient=...)")
        if inputs is None:
            autograd.backward(self, seed, bool(retain_graph))
            return
        inputs = [inputs] if hasattr(inputs, "_requires_grad") else list(inputs)
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"backward(inputs=...): input {i} (shape {t.shape}) does not "
                                   "require grad")
        capture: dict[int, Any] = {id(t): None for t in inputs}
        autograd.backward(self, seed, bool(retain_graph), capture)
        for t in inputs:
            if capture[id(t)] is not None:
                t._accumulate_grad(capture[id(t)])

    def _seed(self, gradient: Any, what: str) -> np.ndarray:
        """d self / d self for backward: ones for a one-element tensor, else `gradient`."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element output, but this tensor "
                    f"has shape {self.shape}: reduce it first (e.g. .sum()) or pass gradient= "
                    "of that shape")
            return np.ones(self.shape, dtype=self.dtype)
        from . import interop  # here, once per backward: interop imports tensor.py, which needs us

        seed = interop.as_array(getattr(gradient, "data", gradient), self.dtype, what)
        if seed.shape != self.shape:
            raise ValueError(f"{what} has shape {seed.shape}, the tensor has shape {self.shape}")
        return seed

    def register_hook(self, hook: Callable) -> Any:
        """Call hook(grad) each time this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle whose remove() takes the hook off."""
        return gradients.register_hook(self, hook)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's to: to(dtype), to("cpu"), to(device, dtype), to(other), dtype=, device=;
        the tensor itself when nothing changes. Devices other than the CPU raise."""
        dtype = devices.dtype_asked(args, kwargs, "to")
        out = self if dtype is None else ops.cast(self, dtype)
        return ops.clone(out) if kwargs.get("copy") and out is self else out

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> devices.device:
        return devices.CPU

    def is_contiguous(self) -> bool:
        return self.data.flags.c_contiguous

    @property
    def size(self) -> Size:
        out = Size(self.data.size)
        out.shape = self.data.shape
        return out

    @torch_names
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    @torch_names
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    @torch_names
    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Of all elements: 0-d; along an int axis: (values, indices); of a tensor: maximum."""
        return ops.max(self, axis, keepdims)

    @torch_names
    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.min(self, axis, keepdims)

    @torch_names
    def amax(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.amax(self, axis, keepdims)

    @torch_names
    def amin(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.amin(self, axis, keepdims)

    @torch_names
    def var(self, axis: Any = None, unbiased: bool | None = None, keepdims: bool = False, *,
            correction: Any = None) -> Tensor:
        return ops.var(self, axis, unbiased, keepdims, correction=correction)

    @torch_names
    def std(self, axis: Any = None, unbiased: bool | None = None, keepdims: bool = False, *,
            correction: Any = None) -> Tensor:
        return ops.std(self, axis, unbiased, keepdims, correction=correction)

    @torch_names
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.argmax(self, axis, keepdims)

    @torch_names
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.argmin(self, axis, keepdims)

    @torch_names
    def softmax(self, axis: int = -1) -> Tensor:
        return ops.softmax(self, axis)

    @torch_names
    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.log_softmax(self, axis)

    @torch_names
    def squeeze(self, axis: Axis = None) -> Tensor:
        return ops.squeeze(self, axis)

    @torch_names
    def unsqueeze(self, axis: int) -> Tensor:
        return ops.unsqueeze(self, axis)
