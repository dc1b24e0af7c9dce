"""Optimizers, learning-rate schedulers and gradient clipping."""

from . import lr_scheduler
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR
from .optimizer import SGD, Adam, AdamW, Optimizer

__all__ = [
    "SGD", "Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "OneCycleLR", "Optimizer",
    "StepLR", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler",
]
