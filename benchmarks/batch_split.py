"""Issue 19's batch split: a training step's batch in two halves on two Python threads.

    .venv/bin/python benchmarks/batch_split.py --check                     # split vs serial grads
    .venv/bin/python benchmarks/batch_split.py --model lenet --rounds 8    # the timing driver
    .venv/bin/python benchmarks/batch_split.py --model best --rounds 8 --iters 30
    .venv/bin/python benchmarks/batch_split.py --worker split --model lenet   # one run
    .venv/bin/python benchmarks/batch_split.py --worker profile --model best --iters 30  # per op

Measurement only (nothing in tinygrad_cnn changes). The models are models/mnist.py's `lenet` and
`best_model`, batch 128 of random MNIST-shaped images, cross-entropy, SGD with momentum 0.9, as
benchmarks/user_loop.py. The split step: a twin of the model shares every parameter's array (so
`opt.step()` updates both) and has its own `.grad`; the main thread runs forward + backward on the
first 64 images while a persistent ThreadPoolExecutor's one worker runs the twin on the other 64
(NumPy and BLAS release the GIL; BLAS at 1 thread, set before NumPy loads); the twin's gradients
are then added by hand and both halves halved (each half's loss is a mean over 64).
Batch norm is NOT exact here: each half normalises by its own batch statistics, and each twin
keeps its own running statistics. An exact split needs the per-channel sums of both halves before
either can normalise (forward) and again for sum(g) and sum(g * xhat) (backward): two barriers per
batch-norm layer; `--check` times such a barrier between the two threads.

The driver alternates, each in its own process, round by round: the serial step at BLAS 1 and 2
threads (this file, `--worker serial`), the split step, benchmarks/user_loop.py at --threads 1
and 2, and benchmarks/torch_steps.py at --threads 1 and 2 (torch venv); wall clock, one JSON line
each; prints the median over rounds of each process's median step time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from quiet import load, wait_quiet  # benchmarks/quiet.py: the machine's state beside each table

ROOT = Path(__file__).resolve().parent.parent
TORCH_PYTHON = "/work/venvs/torch/bin/python"
BATCH, LR, MOMENTUM = 128, 0.01, 0.9


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("lenet", "best"), default="lenet")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--worker", choices=("serial", "split", "profile"), default=None,
                        help="one run; profile: the serial step under tinygrad_cnn's Profiler")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (serial, profile)")
    parser.add_argument("--batch", type=int, default=BATCH, help="serial worker: batch size")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="split worker: sys.setswitchinterval (the GIL's hand-over time)")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-torch", action="store_true", help="driver: leave PyTorch out")
    parser.add_argument("--json", default=None, help="driver: also write every run here")
    parser.add_argument("--min-idle", type=float, default=0.85,
                        help="driver: before each run wait until this share of the CPUs is idle")
    parser.add_argument("--patience", type=float, default=60.0, help="... waiting at most this")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.worker is not None or ARGS.check:
    blas = str(1 if ARGS.worker in ("split", None) else ARGS.threads)
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = blas  # read once, when NumPy is imported

    import threading  # noqa: E402
    from concurrent.futures import ThreadPoolExecutor  # noqa: E402

    import numpy as np  # noqa: E402

    sys.path.insert(0, str(ROOT / "models"))
    import mnist  # noqa: E402

    import tinygrad_cnn as tg  # noqa: E402
    from tinygrad_cnn import optim  # noqa: E402
    from tinygrad_cnn.profile import Profiler  # noqa: E402

    BUILD = {"lenet": mnist.lenet, "best": mnist.best_model}


# ---------------------------------------------------------------- the steps

def batch(size: int = BATCH) -> tuple:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((size, 1, 28, 28), dtype=np.float32)
    return x, rng.integers(0, 10, size=size)


def build(name: str):
    tg.manual_seed(0)
    return BUILD[name]()


def serial_step(name: str, size: int = BATCH):
    model = build(name)
    x, y = batch(size)
    x, y = tg.Tensor(x), tg.Tensor(y, dtype=None)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step() -> None:
        loss = tg.ops.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, model


def forward_backward(model, x, y) -> None:
    model.zero_grad()
    tg.ops.cross_entropy(model(x), y).backward()


def split_step(name: str):
    model, twin = build(name), build(name)
    params, twin_params = list(model.parameters()), list(twin.parameters())
    for p, q in zip(params, twin_params):
        q.data = p.data  # one array: the optimizer's in-place update reaches both
    x, y = batch()
    half = BATCH // 2
    first = tg.Tensor(x[:half]), tg.Tensor(y[:half], dtype=None)
    second = tg.Tensor(x[half:]), tg.Tensor(y[half:], dtype=None)
    pool = ThreadPoolExecutor(max_workers=1)  # with the main thread: two threads
    opt = optim.SGD(params, lr=LR, momentum=MOMENTUM)

    def step() -> None:
        other = pool.submit(forward_backward, twin, *second)
        forward_backward(model, *first)
        other.result()
        for p, q in zip(params, twin_params):  # mean over 128 = half the sum of two means
            grad = p.grad.data
            np.add(grad, q.grad.data, out=grad)
            grad *= 0.5
        opt.step()
    return step, model


# ---------------------------------------------------------------- check: gradients, barrier cost

def gradients(name: str, make) -> list:
    step, model = make(name)
    step()  # one step from the seed's parameters; .grad holds that step's gradients
    return [p.grad.data.copy() for p in model.parameters()]


def barrier_cost(rounds: int = 2000) -> float:
    """Microseconds per two-thread barrier (both threads wait; the cost of one sync point)."""
    barrier = threading.Barrier(2)

    def other() -> None:
        for _ in range(rounds):
            barrier.wait()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(other)
        t0 = time.perf_counter()
        for _ in range(rounds):
            barrier.wait()
        elapsed = time.perf_counter() - t0
        future.result()
    return elapsed / rounds * 1e6


def handoff_cost(rounds: int = 2000) -> float:
    """Microseconds per submit + result of a no-op on the persistent pool."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(int).result()
        t0 = time.perf_counter()
        for _ in range(rounds):
            pool.submit(int).result()
        return (time.perf_counter() - t0) / rounds * 1e6


def check() -> None:
    for name in ("lenet", "best"):
        serial, split = gradients(name, serial_step), gradients(name, split_step)
        worst = max(float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))
                    for a, b in zip(serial, split))
        print(f"{name}: split vs serial gradients, largest difference / largest value: "
              f"{worst:.2e}")
        if name == "lenet":
            for a, b in zip(serial, split):
                np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
            print("lenet: equal to float tolerance")
    print(f"barrier between the two threads: {barrier_cost():.1f} us; "
          f"pool hand-off (submit + result): {handoff_cost():.1f} us")


# ---------------------------------------------------------------- worker and driver

def profile() -> None:
    """Per-op forward and backward milliseconds of the serial step (wall clock)."""
    step, model = serial_step(ARGS.model)
    for _ in range(ARGS.warmup):
        step()
    prof = Profiler(model, batch_size=BATCH)
    with prof:
        for _ in range(ARGS.iters):
            step()
    print(prof.table())


def worker() -> None:
    if ARGS.worker == "profile":
        return profile()
    if ARGS.switch_interval is not None:
        sys.setswitchinterval(ARGS.switch_interval)
    if ARGS.worker == "serial":
        step, _ = serial_step(ARGS.model, ARGS.batch)
    else:
        step, _ = split_step(ARGS.model)
    for _ in range(ARGS.warmup):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(ARGS.iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    cpu_ms = (time.process_time() - c0) * 1e3 / ARGS.iters
    print(json.dumps({"mode": ARGS.worker, "model": ARGS.model, "median_ms":
                      statistics.median(times), "cpu_ms": cpu_ms}))


def configurations() -> dict:
    """label -> command line; every run prints one JSON line with median_ms."""
    case, timing = f"{ARGS.model}_step", ["--iters", str(ARGS.iters), "--warmup", str(ARGS.warmup)]
    ours = [sys.executable, __file__, "--model", ARGS.model] + timing
    user_loop = [sys.executable, str(ROOT / "benchmarks" / "user_loop.py"), "--case", case]
    runs = {
        "serial BLAS 1": ours + ["--worker", "serial", "--threads", "1"],
        "serial BLAS 2": ours + ["--worker", "serial", "--threads", "2"],
        "split 2 threads, BLAS 1": ours + ["--worker", "split"],
        "split, GIL switch 0.2 ms": ours + ["--worker", "split", "--switch-interval", "0.0002"],
        "serial half batch (64), BLAS 1": ours + ["--worker", "serial", "--batch", "64"],
        "user_loop 1": user_loop + timing + ["--threads", "1"],
        "user_loop 2": user_loop + timing + ["--threads", "2"],
    }
    if not ARGS.no_torch:
        torch_steps = [TORCH_PYTHON, str(ROOT / "benchmarks" / "torch_steps.py"), "--case", case]
        runs["torch 1"] = torch_steps + timing + ["--threads", "1"]
        runs["torch 2"] = torch_steps + timing + ["--threads", "2"]
    return runs


def run(cmd: list) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def drive() -> None:
    configs = configurations()
    labels = list(configs)
    results: dict = {label: [] for label in labels}
    loads, idles = [load()], []
    for r in range(ARGS.rounds):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        for label in order:
            idles.append(wait_quiet(ARGS.min_idle, ARGS.patience))
            results[label].append(run(configs[label])["median_ms"])
        loads.append(load())
        print(f"round {r + 1}/{ARGS.rounds}: {loads[-1]}", file=sys.stderr)
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"results": results, "loads": loads,
                                               "idles": idles}, indent=1))
    base = statistics.median(results["user_loop 1"])
    print(f"| {ARGS.model} step, batch 128 | median ms | per round (sorted) | vs user_loop 1 |")
    print("|---|---:|---|---:|")
    for label in labels:
        med = statistics.median(results[label])
        rounds = " ".join(f"{t:.1f}" for t in sorted(results[label]))
        print(f"| {label} | {med:.2f} | {rounds} | x{base / med:.2f} |")
    idles.sort()
    print(f"\nload: {loads[0]} -> {loads[-1]}; idle share of the CPUs just before each run: "
          f"{idles[0]:.2f} .. {idles[-1]:.2f} (median {statistics.median(idles):.2f})")


def main() -> None:
    if ARGS.check:
        check()
    elif ARGS.worker is not None:
        worker()
    else:
        drive()


if __name__ == "__main__":
    main()
