"""Neural-network building blocks: Module, Parameter, layers, losses, initialisers and summary."""

from . import init, utils
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
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .model_summary import LayerSummary, ModelSummary, summary
from .module import IncompatibleKeys, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, Normalization

__all__ = [
    "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Flatten", "Identity", "MSELoss", "NLLLoss",
    "IncompatibleKeys", "LayerNorm", "LayerSummary", "LeakyReLU", "Linear", "MaxPool2d",
    "ModelSummary", "Module", "ModuleList", "Normalization", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "init", "summary", "utils",
]
