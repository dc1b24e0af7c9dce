"""PyTorch's `torch.utils.data` path: DataLoader, Dataset, TensorDataset, Subset, random_split
and default_collate, the same objects as `tinygrad_cnn.data`'s, under the module name scripts
import (`from torch.utils.data import DataLoader` becomes
`from tinygrad_cnn.utils.data import DataLoader`)."""

from ..data import DataLoader
from ..dataset import Dataset, Subset, TensorDataset, random_split
from ..dataset import collate as default_collate

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
