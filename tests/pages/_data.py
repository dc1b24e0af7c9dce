"""Small stand-ins for MNIST and Fashion-MNIST where a page downloads them: 10 classes of 28x28
uint8 images (each class its own bright rectangles, plus noise), the same every run."""

from __future__ import annotations

import numpy as np

SIZES = {"train": 640, "test": 160}


def split(name: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels int64 (N,)) of the 'mnist' or 'fashion' stand-in."""
    part = "train" if train else "test"
    rng = np.random.default_rng([len(name), SIZES[part]])
    labels = np.arange(SIZES[part]) % 10
    rng.shuffle(labels)
    templates = np.zeros((10, 28, 28), np.float64)
    for k in range(10):
        top, left = 2 + 2 * (k // 5) * 6, 2 + 5 * (k % 5)
        templates[k, top:top + 10, left:left + 4] = 1.0
        templates[k, 20:26, (k * 2):(k * 2) + 8] = 0.6
    noise = rng.uniform(0, 0.5, (len(labels), 28, 28))
    images = np.clip(templates[labels] * 200 + noise * 110, 0, 255)
    return images.astype(np.uint8), labels.astype(np.int64)
