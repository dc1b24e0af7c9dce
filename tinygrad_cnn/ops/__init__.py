"""Differentiable ops, one family per module; each op is also a function here."""

from .activation import (
    dropout,
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .compare import (
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clip,
    eq,
    ge,
    gt,
    le,
    lt,
    maximum,
    minimum,
    ne,
)
from .conv import conv2d
from .copy import cast, clone, copy_into, setitem, setitem_data
from .elementwise import abs, add, div, exp, log, mul, neg, pow, sqrt, sub
from .indexing import embedding, gather, index_select, masked_fill, scatter, where
from .layout import cat, chunk, flip, narrow, repeat, split, t
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .matmul import linear, matmul, mm
from .movement import (
    concatenate,
    expand,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from .norm import batch_norm, layer_norm, normalize
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d, relu_max_pool2d
from .reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from .rounding import ceil, floor, floor_divide, remainder, round, sign
from .trig import cos, sin

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "bitwise_and", "bitwise_not", "bitwise_or",
    "bitwise_xor", "cast", "clip", "clone",
    "copy_into", "setitem", "setitem_data", "concatenate", "div", "dropout", "eq", "exp",
    "expand", "flatten", "ge", "getitem", "gt", "le", "leaky_relu", "linear", "log",
    "log_softmax", "lt", "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "ne",
    "neg",
    "pad", "permute", "pow", "relu", "reshape", "sigmoid", "softmax", "sqrt", "squeeze", "stack",
    "std", "sub", "sum", "tanh", "transpose", "unsqueeze", "var",
    "conv2d", "max_pool2d", "relu_max_pool2d", "avg_pool2d", "silu", "elu", "softplus", "gelu",
    "adaptive_avg_pool2d",
    "index_select", "narrow", "cumsum", "norm", "embedding", "hardtanh", "relu6",
    "batch_norm", "layer_norm", "normalize", "cross_entropy", "nll_loss", "mse_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "sin", "cos", "sign", "floor", "ceil", "round", "floor_divide", "remainder",
    "flip", "repeat", "t", "cat", "chunk", "split", "gather", "masked_fill", "scatter", "where",
    "prod", "logsumexp", "all", "any",
]
