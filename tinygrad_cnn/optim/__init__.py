"""Optimizers, learning-rate schedulers and gradient clipping."""

from . import lr_scheduler
from .adadelta import Adadelta
from .adam_variants import Adamax, NAdam, RAdam
from .adaptive import Adagrad, RMSprop
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import SGD, Adam, AdamW, Optimizer

__all__ = [
    "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
    "CosineAnnealingLR", "ExponentialLR", "LRScheduler",
    "LambdaLR", "MultiStepLR", "OneCycleLR", "Optimizer", "RMSprop", "ReduceLROnPlateau",
    "StepLR", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler",
]
