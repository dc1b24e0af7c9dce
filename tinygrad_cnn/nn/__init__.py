"""Neural-network building blocks: Module, Parameter, layers, losses, initialisers and summary."""

from . import init, utils
from .activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .container import Identity, ModuleDict, ModuleList, Sequential
from .layers import AdaptiveAvgPool2d, AvgPool2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .model_summary import LayerSummary, ModelSummary, summary
from .module import IncompatibleKeys, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, Normalization

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d",
    "Conv2d", "CrossEntropyLoss", "Dropout", "ELU", "Flatten", "GELU", "Identity",
    "IncompatibleKeys", "LayerNorm", "LayerSummary", "LeakyReLU", "Linear", "LogSoftmax",
    "MSELoss", "MaxPool2d", "ModelSummary", "Module", "ModuleDict", "ModuleList", "NLLLoss",
    "Normalization", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus",
    "Tanh", "functional", "init", "summary", "utils",
]

# last: it imports ops at once, and ops needs the tensor module that the imports above load
from . import functional  # noqa: E402
