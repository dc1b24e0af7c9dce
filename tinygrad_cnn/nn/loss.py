"""Loss modules, PyTorch's `criterion = nn.CrossEntropyLoss(); loss = criterion(logits, y)`: each
holds its options and calls the loss op of the same name in ops/loss.py."""

from __future__ import annotations

from typing import Any

from .. import ops
from ..ops.loss import check_reduction
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Class-index targets (N,) for logits (N, C) or (N, C, d1, ...); PyTorch's class weights
    and probability targets are not supported."""

    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return ops.cross_entropy(input, target, self.reduction, self.label_smoothing,
                                 self.ignore_index)


class NLLLoss(_Loss):
    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return ops.nll_loss(input, target, self.reduction, self.ignore_index)


class MSELoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return ops.mse_loss(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return ops.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return ops.binary_cross_entropy_with_logits(input, target, self.reduction)
