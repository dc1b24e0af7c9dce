"""Tensor's methods under PyTorch's names that tensor_ops.py does not hold (a second mixin, so
each file stays small): trigonometry, rounding, flips and repeats, gather and masks, splits."""

from __future__ import annotations


class MoreOps:
    """Each method is one call into `ops`."""
