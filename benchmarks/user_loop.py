"""A training and inference loop as a user writes it from the README (the NumPy side of
`compare.py --mode user`): public API only, models defined here, no allocator call anywhere.

    python benchmarks/user_loop.py --case lenet_step --iters 100 --warmup 10 --threads 1
    python benchmarks/user_loop.py --case lenet_infer --iters 5 --warmup 1 --threads 1

Step cases: forward, cross_entropy, zero_grad, backward, SGD(momentum 0.9).step() on random
MNIST-shaped batches (LeNet-5 batch 128, the seed model batch 32, `best` batch 128, `fast`
batch 64: models/mnist.py's models). Inference
cases (`*_infer`): the 10,000-image test set in batches of 1000 under `no_grad()` in eval mode;
one iteration is the whole pass. Same command line and JSON line as benchmarks/torch_steps.py.
--clock cpu times the process's CPU time instead of wall time (for a busy machine, 1 thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

CASES = ("lenet_step", "seed_step", "best_step", "fast_step", "seed_infer", "lenet_infer",
         "best_infer")
DEFAULT_BATCH = {"lenet_step": 128, "seed_step": 32, "best_step": 128, "fast_step": 64}
INFER_IMAGES, INFER_BATCH = 10_000, 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    return parser.parse_args()


ARGS = parse_args()
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)  # read once, when NumPy is imported

import numpy as np  # noqa: E402

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn, optim  # noqa: E402


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def seed_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.Sigmoid(), nn.Flatten(), nn.Normalization(),
        nn.Linear(3 * 26 * 26, 20), nn.Sigmoid(), nn.Linear(20, 10),
    )


def best_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def fast_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"lenet": (lenet, 0.01), "seed": (seed_model, 0.1), "best": (best_model, 0.01),
          "fast": (fast_model, 0.01)}


def step_case(name: str, batch: int):
    build, lr = MODELS[name]
    model = build()
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32))
    y = tg.Tensor(rng.integers(0, 10, size=batch), dtype=None)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def step() -> None:
        loss = tg.ops.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def infer_case(name: str):
    model = MODELS[name][0]()
    model.eval()
    images = np.random.default_rng(0).standard_normal((INFER_IMAGES, 1, 28, 28), np.float32)

    def run() -> None:
        with tg.no_grad():
            for i in range(0, INFER_IMAGES, INFER_BATCH):
                model(tg.Tensor(images[i:i + INFER_BATCH])).data.argmax(axis=1)
    return run


def main() -> None:
    tg.manual_seed(0)
    model_name, kind = ARGS.case.split("_")
    batch = INFER_BATCH if kind == "infer" else ARGS.batch_size or DEFAULT_BATCH[ARGS.case]
    fn = infer_case(model_name) if kind == "infer" else step_case(model_name, batch)
    clock = time.process_time if ARGS.clock == "cpu" else time.perf_counter
    for _ in range(ARGS.warmup):
        fn()
    times = []
    for _ in range(ARGS.iters):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e3)
    print(json.dumps({"framework": "tinygrad_cnn", "case": ARGS.case, "batch_size": batch,
                      "clock": ARGS.clock, "times_ms": [round(t, 4) for t in times],
                      "median_ms": round(statistics.median(times), 4)}))


if __name__ == "__main__":
    main()
