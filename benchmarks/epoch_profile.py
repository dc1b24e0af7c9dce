"""Where one whole epoch of `models/mnist.py train` goes: step, loader, optimizer, evaluation.

    python benchmarks/epoch_profile.py --model lenet --threads 1
    python benchmarks/epoch_profile.py --model lenet --threads 1 --limit 12800   # a quick look

Runs the program's own `main()` for one epoch under cProfile and splits its time by the
functions that own it (cumulative seconds, so a category includes what it calls):
forward + loss (`Module.__call__` of the model, `cross_entropy`), backward (the engine),
optimizer (`step`, `zero_grad`, the schedule), loader (`DataLoader` batches), evaluation
(`evaluate`: the 10,000 test images), reading the MNIST files, the checkpoint, and other (the
progress bar, `loss.item()`, accuracy, the rest). cProfile adds its own overhead to every
Python call, so read the shares, not the absolute seconds. The per-op table is
`models/mnist.py train --profile`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (category, file suffix, function name, package part): the cumulative time of calls to the
# function from outside that part counts, so a layer called by a Sequential is not counted twice
CATEGORIES = (
    ("forward + loss", "tinygrad_cnn/nn/module.py", "__call__", "tinygrad_cnn/nn/"),
    ("forward + loss", "tinygrad_cnn/ops/loss.py", "cross_entropy", "tinygrad_cnn/ops/"),
    ("backward", "tinygrad_cnn/autograd.py", "backward", "tinygrad_cnn/autograd.py"),
    ("optimizer", "tinygrad_cnn/optim/optimizer.py", "step", "tinygrad_cnn/optim/"),
    ("optimizer", "tinygrad_cnn/optim/optimizer.py", "zero_grad", "tinygrad_cnn/optim/"),
    ("optimizer", "tinygrad_cnn/optim/lr_scheduler.py", "step", "tinygrad_cnn/optim/"),
    ("loader", "tinygrad_cnn/data.py", "_batches", "tinygrad_cnn/data.py"),
    ("evaluation", "models/mnist.py", "evaluate", "tinygrad_cnn/"),
    ("reading MNIST files", "models/mnist.py", "load_split", "tinygrad_cnn/"),
    ("checkpoint", "tinygrad_cnn/runs.py", "save", "tinygrad_cnn/"),
)
EVALUATION_CALLER = "tinygrad_cnn/runs.py"  # predict_proba's forwards belong to evaluation


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    return parser.parse_args()


def split_time(stats: pstats.Stats, total: float) -> dict[str, float]:
    """Seconds per category, from the outermost calls only (see CATEGORIES)."""
    seconds = dict.fromkeys([c for c, _, _, _ in CATEGORIES], 0.0)
    for (path, _, name), (_, _, _, _, callers) in stats.stats.items():
        for category, suffix, function, part in CATEGORIES:
            if name == function and path.endswith(suffix):
                outer = [value for (caller, _, _), value in callers.items()
                         if part not in caller and not caller.endswith(EVALUATION_CALLER)]
                seconds[category] += sum(value[3] for value in outer)
    seconds["other"] = total - sum(seconds.values())
    return seconds


def main() -> None:
    args = parse_args()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    sys.path[:0] = [str(ROOT), str(ROOT / "models")]
    import mnist

    argv = ["train", "--model", args.model, "--epochs", "1", "--quiet", "--overwrite"]
    argv += ["--limit", str(args.limit)] if args.limit else []
    with tempfile.TemporaryDirectory() as out:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(mnist.main, [*argv, "--out", out])
        total = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    seconds = split_time(stats, total)
    print(f"\none epoch of `models/mnist.py {' '.join(argv)}`, {args.threads} thread(s), "
          f"under cProfile, {total:.1f} s in all (load average {os.getloadavg()[0]:.1f})")
    print(f"| {'part':<20} | {'seconds':>8} | {'share':>6} |")
    print(f"|{'-' * 22}|{'-' * 9}:|{'-' * 7}:|")
    for category, value in seconds.items():
        print(f"| {category:<20} | {value:8.2f} | {value / total:6.1%} |")
    print("\nthe largest functions by their own time:")
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
