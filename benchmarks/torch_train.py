"""PyTorch train-to-accuracy reference on real MNIST (run only under the torch venv).

    /work/venvs/torch/bin/python benchmarks/torch_train.py --model lenet --npz /work/venvs/mnist.npz
    /work/venvs/torch/bin/python benchmarks/torch_train.py --model seed --npz /work/venvs/mnist.npz
    /work/venvs/torch/bin/python benchmarks/torch_train.py --model best --npz /work/venvs/mnist.npz
    /work/venvs/torch/bin/python benchmarks/torch_train.py --model fast --npz /work/venvs/mnist.npz

The npz holds uint8 arrays train_images (60000,28,28), train_labels, test_images, test_labels.
Prints test accuracy and cumulative training seconds (evaluation excluded) after each epoch,
the time at which test accuracy first reached --target, then one JSON line with everything.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081

# Defaults per model; every field can be overridden on the command line.
RECIPES = {
    "lenet": {"epochs": 5, "batch_size": 128, "lr": 1e-2, "optimizer": "adam_onecycle",
              "shift": 0, "label_smoothing": 0.0, "target": 0.99},
    "seed": {"epochs": 3, "batch_size": 32, "lr": 0.05, "optimizer": "sgd",
             "shift": 0, "label_smoothing": 0.0, "target": 0.92},
    "best": {"epochs": 7, "batch_size": 128, "lr": 4e-3, "optimizer": "adam_onecycle",
             "shift": 2, "label_smoothing": 0.1, "target": 0.9955},
    "fast": {"epochs": 1, "batch_size": 64, "lr": 1e-2, "optimizer": "adam_onecycle",
             "shift": 0, "label_smoothing": 0.0, "target": 0.99},
}


def lenet() -> nn.Module:
    """LeNet-5 for 28x28 inputs: two conv5x5/relu/maxpool2 stages, then 256-120-84-10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def seed_model() -> nn.Module:
    """The student's seed model; the per-sample standardisation is LayerNorm without affine."""
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.Sigmoid(), nn.Flatten(),
        nn.LayerNorm(3 * 26 * 26, eps=1e-5, elementwise_affine=False),
        nn.Linear(3 * 26 * 26, 20), nn.Sigmoid(),
        nn.Linear(20, 10),
    )


def best_model() -> nn.Module:
    """models/mnist.py's `best`: (conv5x5, BN, relu, maxpool2) x2 (pad 2, then none), 800-128
    with BatchNorm1d, 128-10; convs and the first Linear without bias, as ours."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def fast_model() -> nn.Module:
    """models/mnist.py's `fast`: the same shape as `best` with 8/16 channels and no padding."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"lenet": lenet, "seed": seed_model, "best": best_model, "fast": fast_model}


def load_mnist(path: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised float32 images (N,1,28,28) and int64 labels for train and test."""
    data = np.load(path)

    def images(key: str) -> torch.Tensor:
        x = data[key].astype(np.float32) / 255.0
        return torch.from_numpy((x - MEAN) / STD).unsqueeze(1)

    def labels(key: str) -> torch.Tensor:
        return torch.from_numpy(data[key].astype(np.int64))

    return (images("train_images"), labels("train_labels"),
            images("test_images"), labels("test_labels"))


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by its own (dy, dx) in [-max_shift, max_shift], filling with background."""
    n, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), value=-MEAN / STD)
    offsets = torch.randint(0, 2 * s + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    # One slice per distinct offset (at most 25) instead of one per sample.
    for dy in range(2 * s + 1):
        for dx in range(2 * s + 1):
            rows = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).nonzero().squeeze(1)
            out[rows] = padded[rows, :, dy:dy + h, dx:dx + w]
    return out


def make_optimizer(model: nn.Module, recipe: dict, steps: int):
    """SGD(momentum 0.9) at constant lr, or Adam with OneCycleLR (max_lr = lr) stepped per batch."""
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=0.9), None
    opt = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["lr"], total_steps=steps)
    return opt, sched


def train_epoch(model, opt, sched, x, y, batch_size, shift, label_smoothing, gen) -> float:
    """One shuffled pass over the training set; returns the mean loss."""
    model.train()
    perm = torch.randperm(len(x), generator=gen)
    total = 0.0
    for i in range(0, len(x), batch_size):
        idx = perm[i:i + batch_size]
        xb = random_shift(x[idx], shift, gen) if shift else x[idx]
        loss = F.cross_entropy(model(xb), y[idx], label_smoothing=label_smoothing)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        total += loss.item() * len(idx)
    return total / len(x)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
                  for i in range(0, len(x), 1000))
    return correct / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="lenet")
    parser.add_argument("--npz", default="/work/venvs/mnist.npz")
    parser.add_argument("--epochs", type=int, help="default: the model's recipe")
    parser.add_argument("--batch-size", type=int, help="default: the model's recipe")
    parser.add_argument("--lr", type=float, help="SGD lr, or Adam max_lr for OneCycleLR")
    parser.add_argument("--shift", type=int, help="random shift in pixels (default: recipe)")
    parser.add_argument("--label-smoothing", type=float, help="default: the model's recipe")
    parser.add_argument("--target", type=float, help="test accuracy to time (default: recipe)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    recipe = dict(RECIPES[args.model])
    for key in ("epochs", "batch_size", "lr", "shift", "label_smoothing", "target"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    x_train, y_train, x_test, y_test = load_mnist(args.npz)
    model = MODELS[args.model]()
    steps = recipe["epochs"] * -(-len(x_train) // recipe["batch_size"])
    opt, sched = make_optimizer(model, recipe, steps)
    print(f"torch {torch.__version__}, {args.threads} threads, model {args.model}, "
          f"recipe {recipe}, seed {args.seed}")

    accs, seconds, time_to_target, elapsed = [], [], None, 0.0
    for epoch in range(1, recipe["epochs"] + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, sched, x_train, y_train, recipe["batch_size"],
                           recipe["shift"], recipe["label_smoothing"], gen)
        elapsed += time.perf_counter() - t0
        acc = evaluate(model, x_test, y_test)
        accs.append(acc)
        seconds.append(elapsed)
        if time_to_target is None and acc >= recipe["target"]:
            time_to_target = elapsed
        print(f"epoch {epoch}: loss {loss:.4f}  test acc {acc:.2%}  train time {elapsed:.1f}s")

    target = recipe["target"]
    # the same line as models/mnist.py train prints
    print(f"time to {target:.2%} on the test set: " + (
        f"{time_to_target:.1f}s of training" if time_to_target is not None else "not reached"))
    print(json.dumps({
        "framework": "torch", "torch_version": torch.__version__, "threads": args.threads,
        "model": args.model, **recipe, "seed": args.seed,
        "test_acc": [round(a, 4) for a in accs], "train_seconds": [round(s, 2) for s in seconds],
        "time_to_target_s": None if time_to_target is None else round(time_to_target, 2),
    }))


if __name__ == "__main__":
    main()
