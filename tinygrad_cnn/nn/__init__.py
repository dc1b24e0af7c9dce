"""Neural-network building blocks: Module, Parameter, layers, losses, initialisers and summary."""

from . import init, utils
from .activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .container import Identity, ModuleDict, ModuleList, Sequential
from .layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    Dropout,
    Dropout2d,
    Flatten,
    Linear,
    MaxPool2d,
    Unflatten,
)
from .layers1d import AvgPool1d, Conv1d, MaxPool1d
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .model_summary import LayerSummary, ModelSummary, summary
from .module import IncompatibleKeys, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, Normalization
from .sparse import Embedding

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU",
    "Embedding", "Flatten", "GELU", "GroupNorm", "Hardtanh", "Identity", "IncompatibleKeys",
    "LayerNorm", "LayerSummary", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d",
    "MaxPool2d", "ModelSummary", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Normalization",
    "Parameter", "ReLU", "ReLU6", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "Unflatten", "functional", "init", "summary", "utils",
]

# last: it imports ops at once, and ops needs the tensor module that the imports above load
from . import functional  # noqa: E402
