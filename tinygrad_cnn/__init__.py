"""tinygrad_cnn: a small deep-learning framework on NumPy with reverse-mode autodiff."""

from . import nn, ops, optim
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, stack
from .rng import manual_seed
from .tensor import Tensor

__all__ = [
    "Function", "GradcheckError", "Tensor", "concatenate", "enable_grad", "gradcheck",
    "is_grad_enabled", "manual_seed", "nn", "no_grad", "ops", "optim", "stack",
]
__version__ = "0.1.0"
