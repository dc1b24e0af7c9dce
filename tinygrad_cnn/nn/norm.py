"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm and per-sample
Normalization."""

from __future__ import annotations

import numpy as np

from .. import ops, threads
from ..ops._args import as_count
from ..tensor import Tensor
from .module import Module, Parameter


class _BatchNorm(Module):
    """Per-channel standardisation with batch statistics while training (updating the running
    statistics with `momentum`; None means a cumulative average) and the running statistics
    in eval mode. weight starts at 1, bias at 0, as PyTorch."""

    expected_ndims: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        num_features = as_count(num_features, f"{type(self).__name__}: num_features")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, np.float32))
            self.register_buffer("running_var", np.ones(num_features, np.float32))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: input has shape {tuple(x.shape)}, expected "
                             f"{self.layout.format(C=self.num_features)}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        running_mean = running_var = None
        if self.track_running_stats:
            running_mean, running_var = self.running_mean.data, self.running_var.data
            if self.training and threads.first_slice():  # once per batch when split
                self.num_batches_tracked.data += 1
                if momentum is None:
                    momentum = 1.0 / float(self.num_batches_tracked.data)
        return ops.batch_norm(x, running_mean, running_var, self.weight, self.bias,
                              use_batch_stats, momentum or 0.0, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, statistics per channel C."""

    expected_ndims = (2, 3)
    layout = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, statistics per channel C."""

    expected_ndims = (4,)
    layout = "(N, {C}, H, W)"


class LayerNorm(Module):
    """Standardise over the last len(normalized_shape) dims of each sample, then scale and
    shift elementwise (weight starts at 1, bias at 0)."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, np.float32)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim < k:
            raise ValueError(f"{self!r}: input has shape {tuple(x.shape)}, expected "
                             f"(..., {', '.join(map(str, self.normalized_shape))})")
        return ops.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Standardise each sample over groups of num_channels / num_groups channels (and all
    positions), then scale and shift per channel (weight 1, bias 0 at the start), as PyTorch's.
    Composed of differentiable ops: the engine derives its gradient."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True) -> None:
        super().__init__()
        self.num_groups = as_count(num_groups, "GroupNorm: num_groups")
        self.num_channels = as_count(num_channels, "GroupNorm: num_channels")
        if self.num_groups == 0 or self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.eps, self.affine = eps, affine
        self.weight = Parameter(np.ones(self.num_channels, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(self.num_channels, np.float32)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{self!r}: input has shape {tuple(x.shape)}, expected "
                             f"(N, {self.num_channels}, ...)")
        groups = x.reshape(x.shape[0], self.num_groups, -1)
        mean = groups.mean(axis=2, keepdims=True)
        var = groups.var(axis=2, keepdims=True, correction=0)
        out = ((groups - mean) / (var + self.eps).sqrt()).reshape(x.shape)
        if self.weight is None:
            return out
        along = (1, self.num_channels) + (1,) * (x.ndim - 2)
        return out * self.weight.reshape(along) + self.bias.reshape(along)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class Normalization(Module):
    """Standardise each sample over all its features: (x - mean) / sqrt(var + eps); no
    parameters (the student's per-sample normalisation layer)."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return ops.normalize(x, self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
