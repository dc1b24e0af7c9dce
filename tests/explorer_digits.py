"""Shared by the explorer tests: the three MNIST models, a small trained checkpoint, test digits
(MNIST's own when they are cached, else font-drawn ones), all without network."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn.data import DataLoader, Normalize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


def sample_digits(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """`n` test-set digits from the MNIST cache when it is there (never downloaded), else from
    explorer.demo.font_digits; and which it was."""
    try:  # the cache only: tests never download
        from tinygrad_cnn.datasets.idx_dataset import load_from_dir
        from tinygrad_cnn.datasets.mnist_digits import MNIST

        images, labels = load_from_dir(MNIST, "test", MNIST.cache_dir(None))
        return images[:n], labels[:n].astype(np.int64), "MNIST test set"
    except Exception:  # noqa: BLE001 (absent, moved or corrupt: the font digits will do)
        pass
    from tinygrad_cnn.explorer.demo import font_digits

    images, labels = font_digits(n, seed=1)
    return images, labels, "font-drawn digits"


def trained_seed_model(n: int = 1000) -> tg.nn.Module:
    """The seed model after one epoch on `n` font-drawn digits (a second or two)."""
    from tinygrad_cnn.explorer.demo import font_digits

    tg.manual_seed(0)
    model = mnist.seed_model()
    images, labels = font_digits(n, seed=0)
    opt = tg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for x, y in DataLoader(images, labels, 32, shuffle=True, seed=0, transform=Normalize()):
        loss = tg.ops.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
