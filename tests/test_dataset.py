"""DataLoader over PyTorch-style map datasets: TensorDataset, a Dataset subclass, and collate
with torch's default_collate rules (dtypes kept, Python floats float64, ints int64)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor
from tinygrad_cnn.data import DataLoader, Dataset, TensorDataset
from tinygrad_cnn.dataset import collate

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10) % 3


def test_tensor_dataset_batches_keep_dtypes_and_cover_every_sample_once():
    loader = DataLoader(TensorDataset(Tensor(X), Y), batch_size=4, shuffle=True, seed=3)
    seen = []
    for xb, yb in loader:
        assert xb.dtype == np.float32 and yb.dtype == np.int64 and len(xb) == len(yb)
        np.testing.assert_array_equal(xb.data[:, 0] // 3 % 3, yb.data)  # rows stay paired
        seen += (xb.data[:, 0] // 3).astype(int).tolist()
    assert sorted(seen) == list(range(10)) and len(loader) == 3


def test_pytorch_defaults_and_positional_batch_size():
    assert len(DataLoader(TensorDataset(X, Y))) == 10  # batch_size=1, as PyTorch
    assert len(DataLoader(TensorDataset(X, Y), 4)) == 3  # DataLoader(dataset, 4)
    assert len(DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)) == 2


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "label": i, "weight": i / 2, "name": f"s{i}"}


def test_a_dataset_subclass_collates_like_default_collate():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["x"].dtype == np.float32
    assert batch["label"].dtype == np.int64 and batch["label"].tolist() == [0, 1, 2]
    assert batch["weight"].dtype == np.float64 and batch["name"] == ["s0", "s1", "s2"]
    pairs = collate([(np.ones(2), 1), (np.zeros(2), 0)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 2)  # tuples give a list, as torch


def test_a_loader_over_a_dataset_resumes_mid_epoch():
    loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, seed=7)
    batches = iter(loader)
    next(batches)
    state = loader.state_dict()
    expected = [yb.tolist() for _, yb in batches]
    again = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, seed=0)
    again.load_state_dict(state)
    assert [yb.tolist() for _, yb in again] == expected


def test_clear_errors():
    with pytest.raises(ValueError, match=r"size mismatch .*\(10, 3\), \(9,\)"):
        TensorDataset(X, Y[:9])
    with pytest.raises(TypeError, match="brings its own labels"):
        DataLoader(TensorDataset(X, Y), Y)
    with pytest.raises(ValueError, match="different shapes"):
        collate([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        collate([object(), object()])
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


def test_pytorch_loader_options():
    loader = DataLoader(TensorDataset(X, Y), batch_size=5, num_workers=2, pin_memory=True,
                        collate_fn=lambda samples: len(samples))
    assert list(loader) == [5, 5]  # collate_fn gets the list of samples, as PyTorch's
    with pytest.raises(TypeError, match="collate_fn applies to a dataset"):
        DataLoader(np.zeros((4, 2, 2)), np.zeros(4, int), collate_fn=list)


def test_random_split_and_subset():
    from tinygrad_cnn.data import Subset, random_split

    parts = random_split(TensorDataset(X, Y), [0.33, 0.33, 0.34], seed=0)
    assert [len(p) for p in parts] == [4, 3, 3]  # PyTorch's remainder rule
    seen = sorted(i for p in parts for i in p.indices)
    assert seen == list(range(10))  # disjoint, and every sample once
    assert [len(p) for p in random_split(list(range(11)), [0.5, 0.5], seed=1)] == [6, 5]
    assert [len(p) for p in random_split(list(range(5)), [2, 3], seed=1)] == [2, 3]
    sub = Subset(TensorDataset(X, Y), [3, 1])
    assert sub[0][1].item() == Y[3] and len(sub) == 2
    batch = next(iter(DataLoader(sub, batch_size=2)))
    assert batch[1].tolist() == [Y[3], Y[1]]
    with pytest.raises(ValueError, match=r"sum to 9, the dataset has 10 samples"):
        random_split(TensorDataset(X, Y), [4, 5])
