"""How well `predict` reads photos: MNIST test digits printed as dark ink on paper and
'photographed' (off-centre, uneven light and a shadow, noise, JPEG), classified by a checkpoint.

    python benchmarks/predict_photos.py runs/lenet/checkpoint.npz --count 30

Prints how many of the photos the checkpoint gets right with the preprocessing of
datasets.preprocess.mnistify (and, for comparison, with the MNIST digit itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from synthetic_photos import photo_of  # noqa: E402

from tinygrad_cnn import runs  # noqa: E402
from tinygrad_cnn.data import Normalize  # noqa: E402
from tinygrad_cnn.datasets import mnist  # noqa: E402
from tinygrad_cnn.datasets.preprocess import mnistify  # noqa: E402

sys.path.insert(0, str(ROOT / "models"))
from mnist import MODELS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", help="folder to write the photos and what the model saw")
    args = parser.parse_args()
    model, _ = runs.load_trained(args.checkpoint, MODELS)
    images, labels = mnist("test")
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(images), args.count, replace=False)
    photos, seen = [], []
    for i in picks:
        size = int(rng.uniform(100, 180))
        ink = np.asarray(Image.fromarray(images[i]).resize((size, size),
                                                            Image.Resampling.BICUBIC))
        photos.append(photo_of(np.clip(ink / 255.0, 0, 1), rng))
        seen.append(mnistify(photos[-1]))
    normalize = Normalize()
    right = runs.predict_proba(model, np.stack(seen), normalize).argmax(1) == labels[picks]
    clean = runs.predict_proba(model, images[picks], normalize).argmax(1) == labels[picks]
    print(f"photos: {right.sum()} of {len(picks)} right; the same MNIST digits unphotographed: "
          f"{clean.sum()} of {len(picks)}; wrong: {[int(i) for i in picks[~right]]}")
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for n, (i, p, s) in enumerate(zip(picks, photos, seen)):
            Image.fromarray(p).save(out / f"{n:02d}_{labels[i]}_photo.jpg")
            Image.fromarray(s).save(out / f"{n:02d}_{labels[i]}_seen.png")


if __name__ == "__main__":
    main()
