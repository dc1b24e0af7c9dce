"""torchvision's shape: `from tinygrad_cnn.vision import datasets, transforms` stands for
`from torchvision import datasets, transforms` (MNIST, FashionMNIST; ToTensor, Normalize, ...)."""

from . import datasets, io, transforms

__all__ = ["datasets", "io", "transforms"]
