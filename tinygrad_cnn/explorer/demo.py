"""Digits to try the explorer on without downloading MNIST: the ten digits drawn in Pillow's
built-in font, each rotated, thickened and shifted a little, then made MNIST-like."""

from __future__ import annotations

import numpy as np


def font_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` uint8 (28, 28) images and their int64 labels (a few thousand train a small CNN to
    well above chance in seconds); the same `seed` gives the same images."""
    from PIL import Image, ImageDraw, ImageFont

    from ..datasets.preprocess import mnistify

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    font = ImageFont.load_default(size=44)
    images = np.empty((n, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        canvas = Image.new("L", (64, 64))
        ImageDraw.Draw(canvas).text((32, 32), str(label), fill=255, font=font, anchor="mm",
                                    stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR)
        image = mnistify(np.asarray(canvas, dtype=np.float32))
        dy, dx = rng.integers(-1, 2, 2)
        images[i] = np.roll(image, (dy, dx), axis=(0, 1))
    return images, labels.astype(np.int64)
