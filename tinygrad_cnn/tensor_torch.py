"""Tensor's methods where PyTorch's form differs from NumPy's, accepting both: reductions take
`dim`/`keepdim` as well as `axis`/`keepdims`; `max(dim)` and `min(dim)` return (values, indices);
`size` is the element count like NumPy's, and `size()` / `size(dim)` the shape like PyTorch's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import device, ops
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
    """Each method is one call into `ops`; `torch_names` maps dim=, keepdim= and unbiased=."""

    data: Any

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's to: to(dtype), to("cpu"), to(device, dtype), to(other), dtype=, device=;
        the tensor itself when nothing changes. Devices other than the CPU raise."""
        dtype = device.dtype_asked(args, kwargs, "to")
        return self if dtype is None else ops.cast(self, dtype)

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> device.device:
        return device.CPU

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
    def var(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        return ops.var(self, axis, keepdims, correction)

    @torch_names
    def std(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        return ops.std(self, axis, keepdims, correction)

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
