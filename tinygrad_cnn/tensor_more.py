"""Tensor's methods under PyTorch's names that tensor_ops.py does not hold (a second mixin, so
each file stays small): trigonometry, rounding, flips and repeats, gather and masks, splits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import ops
from .tensor_ops import dims as _dims

if TYPE_CHECKING:
    from .tensor import Tensor

Axis = int | tuple[int, ...] | None


class MoreOps:
    """Each method is one call into `ops`."""

    # ----- trigonometry and rounding ------------------------------------------------------------
    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def round(self, decimals: int = 0) -> Tensor:
        return ops.round(self, decimals)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def floor_divide(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def remainder(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    # ----- layout: flips, repeats, splits -------------------------------------------------------
    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        return ops.flip(self, _dims(dims))

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        return ops.repeat(self, _dims(sizes))

    def t(self) -> Tensor:
        return ops.t(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 (PyTorch's name): the last two dims swapped
        return ops.transpose(self, -2, -1)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return ops.narrow(self, dim, start, length)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def split(self, split_size_or_sections: int | Sequence[int],
              dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size_or_sections, dim)

    # ----- indexing by arrays and masks ---------------------------------------------------------
    def gather(self, dim: int, index: Any) -> Tensor:
        return ops.gather(self, dim, index)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return ops.index_select(self, dim, index)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return ops.masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        return ops.where(condition, self, other)

    # ----- reductions ---------------------------------------------------------------------------
    def prod(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.prod(self, dim, keepdim)

    def logsumexp(self, dim: Axis, keepdim: bool = False) -> Tensor:
        return ops.logsumexp(self, dim, keepdim)

    def norm(self, p: Any = "fro", dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.norm(self, p, dim, keepdim)

    def cumsum(self, dim: int) -> Tensor:
        return ops.cumsum(self, dim)

    def all(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.all(self, dim, keepdim)

    def any(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.any(self, dim, keepdim)
