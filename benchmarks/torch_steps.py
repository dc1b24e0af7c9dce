"""PyTorch reference timings for the step benchmarks (run only under the torch venv).

    /work/venvs/torch/bin/python benchmarks/torch_steps.py --case lenet_step --iters 200 --warmup 20

Prints one JSON line: {"framework", "case", "batch_size", "times_ms", "median_ms"}.
The NumPy side, benchmarks/steps_tinygrad.py, has the same command line and output;
benchmarks/compare.py runs both in separate processes and tabulates them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CASES = ("conv1", "conv2", "lenet_step", "seed_step", "best_step", "fast_step",
         "seed_infer", "lenet_infer", "best_infer")
DEFAULT_BATCH = {"conv1": 128, "conv2": 128, "lenet_step": 128, "seed_step": 32,
                 "best_step": 128, "fast_step": 64}
INFER_IMAGES, INFER_BATCH = 10_000, 1000


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
    """models/mnist.py's `fast`: 8/16 channels, batch norm after each conv and the first Linear."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"lenet": (lenet, 0.01), "seed": (seed_model, 0.1), "best": (best_model, 0.01),
          "fast": (fast_model, 0.01)}


def randn(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))


Case = tuple[Callable[[], None], Callable[[], None]]  # (timed step, untimed reset before it)


def conv_case(c_in: int, c_out: int, hw: int, batch: int, input_grad: bool) -> Case:
    """Forward+backward of one 5x5 conv with a fixed upstream gradient."""
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(c_in, c_out, 5)
    x = randn(rng, batch, c_in, hw, hw).requires_grad_(input_grad)
    grad_out = randn(rng, batch, c_out, hw - 4, hw - 4)

    def step() -> None:
        y = conv(x)
        y.backward(grad_out)

    def reset() -> None:
        conv.zero_grad(set_to_none=True)
        x.grad = None

    return step, reset


def train_case(model: nn.Module, batch: int, lr: float) -> Case:
    """One SGD(momentum=0.9) step: zero_grad, forward, cross-entropy, backward, step."""
    rng = np.random.default_rng(0)
    x = randn(rng, batch, 1, 28, 28)
    y = torch.from_numpy(rng.integers(0, 10, size=batch)).long()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step, lambda: None


def infer_case(name: str) -> Case:
    """The 10,000-image test set in batches of 1000, no grad, eval mode: one iteration."""
    model = MODELS[name][0]().eval()
    images = randn(np.random.default_rng(0), INFER_IMAGES, 1, 28, 28)

    def run() -> None:
        with torch.no_grad():
            for i in range(0, INFER_IMAGES, INFER_BATCH):
                model(images[i:i + INFER_BATCH]).argmax(1)

    return run, lambda: None


def make_case(case: str, batch: int) -> Case:
    if case.endswith("_infer"):
        return infer_case(case.split("_")[0])
    if case in ("best_step", "fast_step"):
        return train_case(MODELS[case.split("_")[0]][0](), batch, lr=0.01)
    if case == "conv1":
        return conv_case(1, 6, 28, batch, input_grad=False)
    if case == "conv2":
        return conv_case(6, 16, 12, batch, input_grad=True)
    if case == "lenet_step":
        return train_case(lenet(), batch, lr=0.01)
    return train_case(seed_model(), batch, lr=0.1)


def time_case(case: Case, iters: int, warmup: int, clock=time.perf_counter) -> list[float]:
    """Time of each step in milliseconds; the reset (clearing grads) is not timed."""
    step, reset = case
    for _ in range(warmup):
        reset()
        step()
    times = []
    for _ in range(iters):
        reset()
        t0 = clock()
        step()
        times.append((clock() - t0) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: 32 for seed_step, 128 otherwise")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: the process's CPU time (for a busy machine, 1 thread)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch = INFER_BATCH if args.case.endswith("_infer") else (
        args.batch_size or DEFAULT_BATCH[args.case])
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = time_case(make_case(args.case, batch), args.iters, args.warmup, clock)
    print(json.dumps({
        "framework": "torch",
        "case": args.case,
        "batch_size": batch,
        "clock": args.clock,
        "times_ms": [round(t, 4) for t in times],
        "median_ms": round(statistics.median(times), 4),
    }))


if __name__ == "__main__":
    main()
