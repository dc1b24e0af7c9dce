"""PyTorch's module paths that scripts import exist below tinygrad_cnn with the names they use:
torch.utils.data, torch.nn.functional, torch.optim.lr_scheduler, torch.autograd."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import tinygrad_cnn.data
import tinygrad_cnn.dataset

USED_BY_SCRIPTS = {
    "tinygrad_cnn.utils.data": ["DataLoader", "Dataset", "TensorDataset", "Subset",
                                "random_split", "default_collate"],
    "tinygrad_cnn.nn.functional": ["relu", "max_pool2d", "avg_pool2d", "log_softmax", "softmax",
                                   "nll_loss", "cross_entropy", "mse_loss", "dropout", "conv2d",
                                   "linear", "sigmoid", "tanh", "pad"],
    "tinygrad_cnn.optim.lr_scheduler": ["StepLR", "ExponentialLR", "MultiStepLR", "LambdaLR",
                                        "CosineAnnealingLR", "ReduceLROnPlateau", "OneCycleLR"],
    "tinygrad_cnn.autograd": ["Function", "grad", "no_grad", "enable_grad"],
    "tinygrad_cnn.vision.datasets": ["MNIST", "FashionMNIST"],
    "tinygrad_cnn.vision.transforms": ["ToTensor", "Normalize", "Compose", "Lambda"],
}


@pytest.mark.parametrize("module", sorted(USED_BY_SCRIPTS))
def test_module_path_imports_and_has_the_names_scripts_use(module):
    imported = importlib.import_module(module)
    assert [name for name in USED_BY_SCRIPTS[module] if not hasattr(imported, name)] == []


def test_utils_data_names_are_the_data_pipelines_own_objects():
    from tinygrad_cnn.utils.data import DataLoader, Dataset, TensorDataset, default_collate

    assert DataLoader is tinygrad_cnn.data.DataLoader and Dataset is tinygrad_cnn.dataset.Dataset
    assert TensorDataset is tinygrad_cnn.dataset.TensorDataset
    assert default_collate([1, 2]).tolist() == [1, 2]


def test_dataloader_takes_the_worker_settings_of_accelerator_scripts():
    """mnist/main.py passes these when an accelerator is there; batches stay in process."""
    from tinygrad_cnn.utils.data import DataLoader, TensorDataset

    data = TensorDataset(np.arange(6.0), np.arange(6))
    loader = DataLoader(data, batch_size=4, num_workers=1, persistent_workers=True,
                        pin_memory=True, shuffle=True, prefetch_factor=2, timeout=0,
                        worker_init_fn=None)
    x, y = next(iter(loader))
    assert x.shape == (4,) and sorted(np.concatenate([b[1].numpy() for b in loader])) == list(
        range(6))
