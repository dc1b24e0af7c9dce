"""PyTorch's `torch.utils` path: `tinygrad_cnn.utils.data` holds the data pipeline's names."""

from . import data

__all__ = ["data"]
