"""Forward+backward time of each LeNet-5 conv layer at batch 128, for every conv2d algorithm.

    python benchmarks/conv_algorithms.py --repeats 200 --threads 2
    python benchmarks/conv_algorithms.py --repeats 200 --threads 1   # steadier on a busy machine

conv1: 1->6 5x5 on (128, 1, 28, 28), the input needs no grad (it is the data);
conv2: 6->16 5x5 on (128, 6, 12, 12), the input needs grad. Prints the median and the minimum in
ms per layer and algorithm, and what 'auto' picks. Each (layer, algorithm) pair is timed in
interleaved rounds so slow drift of the shared machine hits all of them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def set_threads(threads: int | None) -> None:
    """BLAS reads these once, when NumPy is first imported."""
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)


LAYERS = {
    "conv1": ((128, 1, 28, 28), (6, 1, 5, 5), False),
    "conv2": ((128, 6, 12, 12), (16, 6, 5, 5), True),
}


def make_step(layer: str, algorithm: str, batch: int):
    import numpy as np

    from tinygrad_cnn import Tensor, ops

    x_shape, w_shape, input_grad = LAYERS[layer]
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, *x_shape[1:]), dtype=np.float32),
               requires_grad=input_grad)
    weight = Tensor(rng.standard_normal(w_shape, dtype=np.float32) * 0.1, requires_grad=True)
    bias = Tensor(np.zeros(w_shape[0], np.float32), requires_grad=True)
    out_shape = ops.conv2d(x, weight, bias).shape
    grad_out = rng.standard_normal(out_shape, dtype=np.float32)

    def step() -> None:
        x.grad = weight.grad = bias.grad = None
        ops.conv2d(x, weight, bias, algorithm=algorithm).backward(grad_out)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--algorithms", nargs="+",
                        default=["im2col", "taps", "toeplitz", "hybrid", "naive"])
    parser.add_argument("--no-malloc-tuning", dest="malloc_tuning", action="store_false",
                        help="leave glibc's malloc at its defaults (tinygrad_cnn/memory.py)")
    args = parser.parse_args()
    set_threads(args.threads)
    if not args.malloc_tuning:  # the package tunes malloc at import unless told not to
        os.environ["TINYGRAD_CNN_KEEP_FREED_MEMORY"] = "0"
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    from tinygrad_cnn.ops.conv import choose_algorithm, conv_geometry

    steps = {(layer, alg): make_step(layer, alg, args.batch_size)
             for layer in LAYERS for alg in args.algorithms}
    times: dict = {key: [] for key in steps}
    for _ in range(args.rounds):
        for key, step in steps.items():
            repeats = max(1, args.repeats // args.rounds // (50 if key[1] == "naive" else 1))
            step()  # warm-up
            for _ in range(repeats):
                t0 = time.perf_counter()
                step()
                times[key].append((time.perf_counter() - t0) * 1e3)

    print(f"batch {args.batch_size}, {args.threads} threads, forward+backward, ms")
    print(f"{'layer':<7}{'algorithm':<10}{'median':>9}{'min':>9}{'runs':>6}  auto picks")
    for (layer, alg), ts in times.items():
        x_shape, w_shape, _ = LAYERS[layer]
        auto = choose_algorithm(conv_geometry((args.batch_size, *x_shape[1:]), w_shape, 1, 0, 1))
        print(f"{layer:<7}{alg:<10}{statistics.median(ts):>9.3f}{min(ts):>9.3f}{len(ts):>6}  "
              f"{'<-' if auto == alg else ''}")


if __name__ == "__main__":
    main()
