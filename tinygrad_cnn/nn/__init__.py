"""Neural-network building blocks: Module, Parameter, layers, initialisers and summary."""

from . import init
from .container import Identity, ModuleList, Sequential
from .layers import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .model_summary import LayerSummary, ModelSummary, summary
from .module import IncompatibleKeys, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, Normalization

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "Identity",
    "IncompatibleKeys", "LayerNorm", "LayerSummary", "LeakyReLU", "Linear", "MaxPool2d",
    "ModelSummary", "Module", "ModuleList", "Normalization", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "init", "summary",
]
