"""Per-op overhead of the engine: microseconds per forward(+backward) of tiny and BLAS-bound ops.

    python benchmarks/op_overhead.py               # table of medians (and minimums) in us
    python benchmarks/op_overhead.py --repeats 15 --number 20000

A one-element elementwise op measures pure Python cost (Function.apply, graph recording, the
backward walk); the 32x2028 @ 2028x20 matmul shows the overhead next to real BLAS work. Each case
runs `number` iterations per repeat; we report the median and minimum wall time over repeats and
the median CPU time of this process (which, on a machine shared with other jobs, excludes the time
we were descheduled; with multi-threaded BLAS it sums over threads and can exceed wall time).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from tinygrad_cnn import Tensor, no_grad


def cases() -> dict[str, tuple[Callable[[], None], int]]:
    """name -> (one iteration, relative number of iterations)."""
    a = Tensor([1.5], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    seed = np.ones(1, dtype=np.float32)
    x = Tensor(np.random.default_rng(0).standard_normal((32, 2028)), requires_grad=True)
    w = Tensor(np.random.default_rng(1).standard_normal((2028, 20)), requires_grad=True)

    def mul_forward() -> None:
        a * b

    def mul_forward_no_grad() -> None:
        with no_grad():
            a * b

    def mul_backward() -> None:
        a.grad = b.grad = None  # what zero_grad() does: measure the first-grad path
        (a * b).backward()

    def square_backward_seed() -> None:
        (a * a).backward(seed)  # the lead's original measurement (grads accumulate)

    def matmul_forward() -> None:
        x @ w

    def matmul_backward() -> None:
        x.grad = w.grad = None
        (x @ w).backward(np.ones((32, 20), dtype=np.float32))

    return {
        "mul 1-elem forward (inputs need grad)": (mul_forward, 1.0),
        "mul 1-elem forward under no_grad": (mul_forward_no_grad, 1.0),
        "mul 1-elem forward+backward": (mul_backward, 1.0),
        "(a*a).backward(seed) 1-elem": (square_backward_seed, 1.0),
        "matmul 32x2028 @ 2028x20 forward": (matmul_forward, 0.05),
        "matmul 32x2028 @ 2028x20 fwd+bwd": (matmul_backward, 0.05),
    }


def measure(fn: Callable[[], None], number: int, repeats: int) -> tuple[list[float], list[float]]:
    """Microseconds per call, wall and CPU, one value per repeat."""
    for _ in range(max(number // 10, 1)):  # warm up
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        wall.append((time.perf_counter() - start) / number * 1e6)
        cpu.append((time.process_time() - start_cpu) / number * 1e6)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000, help="iterations per repeat")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"| {'case':<40} | wall median us | wall min us | CPU median us |")
    print(f"|{'-' * 42}|---------------:|------------:|--------------:|")
    for name, (fn, scale) in cases().items():
        wall, cpu = measure(fn, max(int(args.number * scale), 1), args.repeats)
        print(f"| {name:<40} | {statistics.median(wall):>14.2f} | {min(wall):>11.2f} "
              f"| {statistics.median(cpu):>13.2f} |")


if __name__ == "__main__":
    main()
