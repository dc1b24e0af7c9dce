"""`torch.nn.utils`'s gradient clipping under its PyTorch path (the functions live in optim)."""

from ..optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
