"""tinygrad_cnn timings for the step benchmarks (the NumPy side of benchmarks/compare.py).

    python benchmarks/steps_tinygrad.py --case lenet_step --iters 200 --warmup 20 --threads 2
    python benchmarks/steps_tinygrad.py --case lenet_step --memory   # peak memory of one step

Same command line and output as benchmarks/torch_steps.py: prints one JSON line
{"framework", "case", "batch_size", "times_ms", "median_ms"}. --threads sets the BLAS thread
count before NumPy is imported. --memory instead prints the peak NumPy allocation of one
training step (tracemalloc) and the process's peak resident memory (ru_maxrss).

`import tinygrad_cnn` tells glibc to keep freed memory for reuse (tinygrad_cnn/memory.py);
--no-malloc-tuning turns that off (TINYGRAD_CNN_KEEP_FREED_MEMORY=0 before the import) to
measure the untuned process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

CASES = ("conv1", "conv2", "lenet_step", "seed_step")
DEFAULT_BATCH = {"conv1": 128, "conv2": 128, "lenet_step": 128, "seed_step": 32}


def set_threads(threads: int) -> None:
    """OpenBLAS / OpenMP read these once, when NumPy is first imported."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: 32 for seed_step, 128 otherwise")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: the process's CPU time (for a busy machine, 1 thread)")
    parser.add_argument("--memory", action="store_true", help="report peak memory, not time")
    parser.add_argument("--no-malloc-tuning", dest="malloc_tuning", action="store_false",
                        help="leave glibc's malloc at its defaults")
    return parser.parse_args()


# Parse and set threads before anything imports NumPy.
if __name__ == "__main__":
    ARGS = parse_args()
    set_threads(ARGS.threads)
    if not ARGS.malloc_tuning:
        os.environ["TINYGRAD_CNN_KEEP_FREED_MEMORY"] = "0"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))

import numpy as np  # noqa: E402

# the very models models/mnist.py trains, so the benchmark times what users run
from mnist import lenet, seed_model  # noqa: E402

from tinygrad_cnn import Tensor, nn, ops, optim  # noqa: E402

Case = tuple[Callable[[], None], Callable[[], None]]  # (timed step, untimed reset before it)


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def conv_case(c_in: int, c_out: int, hw: int, batch: int, input_grad: bool) -> Case:
    """Forward+backward of one 5x5 conv with a fixed upstream gradient."""
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(c_in, c_out, 5)
    x = Tensor(randn(rng, batch, c_in, hw, hw), requires_grad=input_grad)
    grad_out = randn(rng, batch, c_out, hw - 4, hw - 4)

    def step() -> None:
        conv(x).backward(grad_out)

    def reset() -> None:
        conv.zero_grad()
        x.grad = None

    return step, reset


def train_case(model: nn.Module, batch: int, lr: float) -> Case:
    """One SGD(momentum=0.9) step: zero_grad, forward, cross-entropy, backward, step."""
    rng = np.random.default_rng(0)
    x = Tensor(randn(rng, batch, 1, 28, 28))
    y = rng.integers(0, 10, size=batch)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss = ops.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step, lambda: None


def make_case(case: str, batch: int) -> Case:
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


def peak_memory(case: Case) -> dict:
    """Peak bytes NumPy allocates during one step (after 20 warm-up steps made the optimizer
    state and let the allocator settle), and the process's peak resident set, both in MB."""
    import resource
    import tracemalloc

    step, reset = case
    for _ in range(20):
        reset()
        step()
    reset()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"step_peak_alloc_mb": round(peak / 2**20, 1), "max_rss_mb": round(max_rss_kb / 1024, 1)}


def main(args: argparse.Namespace) -> None:
    from tinygrad_cnn import manual_seed

    manual_seed(0)
    batch = args.batch_size or DEFAULT_BATCH[args.case]
    case = make_case(args.case, batch)
    if args.memory:
        print(json.dumps({"framework": "tinygrad_cnn", "case": args.case, "batch_size": batch,
                          **peak_memory(case)}))
        return
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = time_case(case, args.iters, args.warmup, clock)
    print(json.dumps({
        "framework": "tinygrad_cnn",
        "case": args.case,
        "batch_size": batch,
        "clock": args.clock,
        "times_ms": [round(t, 4) for t in times],
        "median_ms": round(statistics.median(times), 4),
    }))


if __name__ == "__main__":
    main(ARGS)
