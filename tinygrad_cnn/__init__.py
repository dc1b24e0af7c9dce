"""tinygrad_cnn: a small deep-learning framework on NumPy with reverse-mode autodiff."""

from . import nn, ops, optim
from .anomaly import AnomalyError, detect_anomaly
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .health import HealthMonitor
from .nn import summary
from .ops import concatenate, stack
from .profile import Profiler
from .rng import manual_seed
from .serialization import CheckpointError, load, save
from .tensor import Tensor
from .viz import draw_graph, render_graph

__all__ = [
    "AnomalyError", "CheckpointError", "Function", "GradcheckError", "HealthMonitor", "Profiler",
    "Tensor",
    "concatenate", "detect_anomaly", "draw_graph", "enable_grad", "gradcheck", "is_grad_enabled",
    "load", "manual_seed", "nn", "no_grad", "ops", "optim", "render_graph", "save", "stack",
    "summary",
]
__version__ = "0.1.0"
