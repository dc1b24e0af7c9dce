"""tinygrad_cnn: a small deep-learning framework on NumPy with reverse-mode autodiff.

Two tiers (docs/architecture.md): the core imported here needs only NumPy; the tools (graph
viewer, profiler, health monitor, anomaly mode, plots, report) are offered as
`tinygrad_cnn.X` too but load, with their libraries (graphviz, matplotlib, Pillow, tqdm), on
first use (PEP 562 module `__getattr__`).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import memory, nn, ops, optim, utils
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .devices import cuda, device
from .engine import Function  # a library op on NumPy arrays; tg.autograd.Function is PyTorch's
from .gradcheck import (  # NumPy only; gradcheck's name is also its module's
    GradcheckError,
    gradcheck,
    gradgradcheck,
)
from .nn import summary
from .ops import (  # noqa: A004 (torch.sum, torch.max, ...: PyTorch's functions, as ops)
    amax,
    amin,
    argmax,
    argmin,
    cat,
    ceil,
    chunk,
    concatenate,
    cumsum,
    eq,
    flatten,
    flip,
    floor,
    gather,
    ge,
    gt,
    index_select,
    le,
    log_softmax,
    logsumexp,
    lt,
    masked_fill,
    mean,
    narrow,
    ne,
    norm,
    permute,
    prod,
    relu,
    reshape,
    sign,
    softmax,
    split,
    squeeze,
    stack,
    std,
    transpose,
    unsqueeze,
    var,
    where,
)
from .ops import clip as clamp
from .rng import manual_seed
from .serialization import CheckpointError, load, save
from .tensor import Size, Tensor
from .threads import get_num_threads, set_num_threads
from .torch_compat.devices import accelerator, backends, get_default_device, set_default_device
from .torch_compat.dtypes import (  # noqa: A004 (PyTorch's dtype names: tg.float32, tg.long, tg.bool, ...)
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from .torch_compat.factories import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .torch_compat.functions import (
    add,
    cos,
    div,
    exp,
    log,
    matmul,
    maximum,
    minimum,
    mm,
    mul,
    neg,
    sigmoid,
    sin,
    sqrt,
    sub,
    tanh,
)

# tool name -> the module that defines it, imported on first access
_TOOLS = {
    "AnomalyError": "anomaly", "detect_anomaly": "anomaly",
    "HealthMonitor": "health",
    "Profiler": "profile",
    "backward_memory": "saved_memory", "saved_for_backward": "saved_memory",
    "draw_graph": "viz", "render_graph": "viz",
    "explore": "explorer",
}
_TOOL_MODULES = ("anomaly", "explorer", "health", "onnx", "plots", "profile", "report",
                 "saved_memory", "viz")

# PyTorch's names that are Python builtins: tg.float, tg.max, ... work, but they stay out of
# __all__, so `from tinygrad_cnn import *` leaves Python's own float, max, sum, ...
from .ops import all, any, max, min, round, sum  # noqa: A004, E402, F401
from .torch_compat.dtypes import bool, float, int  # noqa: A004, E402, F401
from .torch_compat.functions import abs, pow  # noqa: A004, E402, F401

__all__ = [
    "AnomalyError", "CheckpointError", "Function", "GradcheckError", "HealthMonitor", "Profiler",
    "Tensor", "accelerator", "add", "amax", "amin", "arange", "argmax", "argmin", "backends",
    "backward_memory",
    "cat", "ceil", "chunk", "clamp", "concatenate", "cos", "cuda", "cumsum", "detect_anomaly",
    "device", "div", "double", "draw_graph", "empty", "empty_like", "enable_grad", "eq", "exp",
    "explore", "eye", "flatten", "flip", "float16", "float32", "float64", "floor", "from_numpy",
    "full", "full_like", "gather", "ge", "get_default_device", "gradcheck", "gt", "half",
    "gradgradcheck",
    "index_select", "inference_mode", "int16", "int32", "int64", "int8", "is_grad_enabled", "le",
    "linspace", "load", "log", "log_softmax", "logspace", "logsumexp", "long", "lt", "manual_seed",
    "get_num_threads", "set_num_threads",
    "masked_fill", "matmul", "maximum", "mean", "minimum", "mm", "mul", "narrow", "ne", "neg",
    "nn", "no_grad", "norm", "ones", "ones_like", "ops", "optim", "permute", "prod", "rand",
    "rand_like", "randint", "randn", "randn_like", "relu", "render_graph", "reshape", "save",
    "saved_for_backward",
    "Size", "set_default_device", "set_grad_enabled", "short", "sigmoid", "sign", "sin", "softmax",
    "split", "sqrt", "squeeze", "stack", "std", "sub", "summary", "tanh", "tensor", "transpose",
    "uint8", "unsqueeze", "utils", "var", "where", "zeros", "zeros_like",
]
__version__ = "0.1.0"

# The one place the allocator is tuned: glibc keeps freed memory for the next training step
# (memory.py says why; TINYGRAD_CNN_KEEP_FREED_MEMORY=0 before this import switches it off).
memory.apply_unless_switched_off()


def __getattr__(name: str) -> Any:
    """Load a tool (`tg.draw_graph`, `tg.Profiler`, `tg.viz`, ...) the first time it is used."""
    if name in _TOOLS:
        value = getattr(importlib.import_module(f".{_TOOLS[name]}", __name__), name)
    elif name in _TOOL_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups find it without coming here again
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_TOOL_MODULES))
