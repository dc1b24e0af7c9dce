"""torch.nn.functional's names and signatures (`import tinygrad_cnn.nn.functional as F`): thin
wrappers over `ops` that take PyTorch's arguments, positionally and by keyword. An argument we
do not implement is accepted at its default and refused otherwise (NotImplementedError, naming
it). F.normalize is left out: torch's is an Lp normalisation, ops.normalize standardises."""

from __future__ import annotations

import warnings
from typing import Any

from .. import ops
from ..ops._args import as_pair, shape_of


def _unsupported(op: str, name: str, value: Any) -> None:
    raise NotImplementedError(f"F.{op}: {name}={value!r} is not supported here; leave it at its "
                              "default")


def _no_inplace(op: str, inplace: bool) -> None:
    if inplace:
        _unsupported(op, "inplace", inplace)


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's legacy size_average / reduce flags as a reduction string, with its warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    return reduction


def _softmax_dim(op: str, input: Any, dim: int | None, dtype: Any,  # noqa: A002
                 stacklevel: int = 3) -> tuple[Any, int]:
    """The input cast to dtype (when given) and the dim; no dim is PyTorch's legacy choice,
    with its warning pointing `stacklevel` frames up (the caller's line, as PyTorch's)."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                      "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
        dim = 0 if len(shape_of(input)) in (0, 1, 3) else 1
    return input, dim


# ----- activations --------------------------------------------------------------------------------
def relu(input: Any, inplace: bool = False) -> Any:  # noqa: A002 (PyTorch's names)
    _no_inplace("relu", inplace)
    return ops.relu(input)


def sigmoid(input: Any) -> Any:  # noqa: A002
    return ops.sigmoid(input)


def tanh(input: Any) -> Any:  # noqa: A002
    return ops.tanh(input)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:  # noqa: A002
    _no_inplace("leaky_relu", inplace)
    return ops.leaky_relu(input, negative_slope)


def silu(input: Any, inplace: bool = False) -> Any:  # noqa: A002
    _no_inplace("silu", inplace)
    return ops.silu(input)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:  # noqa: A002
    _no_inplace("elu", inplace)
    return ops.elu(input, alpha)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:  # noqa: A002
    return ops.softplus(input, beta, threshold)


def gelu(input: Any, approximate: str = "none") -> Any:  # noqa: A002
    return ops.gelu(input, approximate)


def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Any:
    input, dim = _softmax_dim("softmax", input, dim, dtype, _stacklevel)
    return ops.softmax(input, dim)


def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
                dtype: Any = None) -> Any:
    input, dim = _softmax_dim("log_softmax", input, dim, dtype, _stacklevel)
    return ops.log_softmax(input, dim)


def dropout(input: Any, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Any:
    _no_inplace("dropout", inplace)
    return ops.dropout(input, p, training)


# ----- layers -------------------------------------------------------------------------------------
def linear(input: Any, weight: Any, bias: Any = None) -> Any:  # noqa: A002
    return ops.linear(input, weight, bias)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Any:
    return ops.conv2d(input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    if as_pair(dilation, "max_pool2d: dilation", minimum=1) != (1, 1):
        _unsupported("max_pool2d", "dilation", dilation)
    if return_indices:
        _unsupported("max_pool2d", "return_indices", return_indices)
    return ops.max_pool2d(input, kernel_size, stride, padding, ceil_mode)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Any:
    return ops.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:  # noqa: A002
    return ops.adaptive_avg_pool2d(input, output_size)


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Any:  # noqa: A002
    if mode != "constant":
        _unsupported("pad", "mode", mode)
    return ops.pad(input, pad, 0.0 if value is None else value)


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None,  # noqa: A002
               bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Any:
    return ops.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,  # noqa: A002
               eps: float = 1e-5) -> Any:
    return ops.layer_norm(input, normalized_shape, weight, bias, eps)


# ----- losses -------------------------------------------------------------------------------------
def cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    if weight is not None:
        _unsupported("cross_entropy", "weight", weight)
    reduction = _reduction(size_average, reduce, reduction)
    return ops.cross_entropy(input, target, reduction, label_smoothing, ignore_index)


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Any:
    if weight is not None:
        _unsupported("nll_loss", "weight", weight)
    reduction = _reduction(size_average, reduce, reduction)
    return ops.nll_loss(input, target, reduction, ignore_index)


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
             reduction: str = "mean", weight: Any = None) -> Any:
    if weight is not None:
        _unsupported("mse_loss", "weight", weight)
    return ops.mse_loss(input, target, _reduction(size_average, reduce, reduction))


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Any:
    if weight is not None:
        _unsupported("binary_cross_entropy", "weight", weight)
    reduction = _reduction(size_average, reduce, reduction)
    return ops.binary_cross_entropy(input, target, reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,  # noqa: A002
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Any:
    if weight is not None:
        _unsupported("binary_cross_entropy_with_logits", "weight", weight)
    if pos_weight is not None:
        _unsupported("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    reduction = _reduction(size_average, reduce, reduction)
    return ops.binary_cross_entropy_with_logits(input, target, reduction)
