"""Issue 19's scaling table: ours and PyTorch's at 1 and 2 threads, in alternating processes.

    python benchmarks/scaling.py --steps lenet seed best --rounds 6
    python benchmarks/scaling.py --train lenet --rounds 3        # to 99% and the first epoch
    python benchmarks/scaling.py --steps lenet --configs ours-1 ours-2 --rounds 8

Steps: benchmarks/user_loop.py (forward, cross_entropy, backward, SGD momentum; the README's API)
and benchmarks/torch_steps.py (the same loop in PyTorch, /work/venvs/torch). Training:
`models/mnist.py train --model M` (the recipe's epochs; its per-epoch training seconds, from the
run's history.json) and benchmarks/torch_train.py (the same recipe; --npz, see docs/benchmarks.md).
Threads: OMP_NUM_THREADS=n for our processes (tg.get_num_threads() and OpenBLAS read it), and
torch.set_num_threads(n) (torch_*.py --threads n) for PyTorch's. Every configuration runs in its
own process, the order rotating each round; before each run the driver waits (at most
--patience seconds) until --min-idle of the CPUs are idle, and prints the idle shares and the
load beside the tables. Medians over rounds; the sorted rounds too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from quiet import load, wait_quiet  # benchmarks/quiet.py

ROOT = Path(__file__).resolve().parent.parent
TORCH_PYTHON = os.environ.get("TORCH_PYTHON", "/work/venvs/torch/bin/python")
CONFIGS = ("ours-1", "ours-2", "torch-1", "torch-2")
ITERS = {"lenet": (100, 10), "seed": (300, 20), "best": (20, 4), "fast": (100, 10)}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", nargs="*", default=[], choices=tuple(ITERS))
    p.add_argument("--train", nargs="*", default=[], choices=tuple(ITERS))
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--min-idle", type=float, default=0.85)
    p.add_argument("--patience", type=float, default=60.0)
    p.add_argument("--npz", default="/work/venvs/mnist.npz")
    p.add_argument("--json", help="write every round's numbers here")
    return p.parse_args()


def step_command(config: str, model: str) -> tuple[list[str], dict]:
    framework, threads = config.split("-")
    iters, warmup = ITERS[model]
    timing = ["--case", f"{model}_step", "--iters", str(iters), "--warmup", str(warmup),
              "--threads", threads]
    if framework == "torch":
        return [TORCH_PYTHON, str(ROOT / "benchmarks" / "torch_steps.py"), *timing], {}
    return ([sys.executable, str(ROOT / "benchmarks" / "user_loop.py"), *timing],
            {"OMP_NUM_THREADS": threads})


def run_step(config: str, model: str) -> float:
    cmd, env = step_command(config, model)
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                          env=os.environ | env)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["median_ms"])


def run_train(config: str, model: str, npz: str) -> dict:
    """Training seconds per epoch (cumulative) and test accuracy per epoch."""
    framework, threads = config.split("-")
    if framework == "torch":
        cmd = [TORCH_PYTHON, str(ROOT / "benchmarks" / "torch_train.py"), "--model", model,
               "--npz", npz, "--threads", threads]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return {"seconds": result["train_seconds"], "acc": result["test_acc"]}
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(ROOT / "models" / "mnist.py"), "train", "--model", model,
               "--out", out, "--overwrite", "--quiet"]
        subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                       env=os.environ | {"OMP_NUM_THREADS": threads})
        history = json.loads((Path(out) / "history.json").read_text())
    seconds, total = [], 0.0
    for s in history["seconds"]:
        total += s
        seconds.append(round(total, 2))
    return {"seconds": seconds, "acc": history["test_acc"]}


def to_target(run: dict, target: float) -> float | None:
    return next((s for s, a in zip(run["seconds"], run["acc"]) if a >= target), None)


def rotate(items: list, r: int) -> list:
    return items[r % len(items):] + items[:r % len(items)]


def sorted_rounds(values: list) -> str:
    return " ".join(f"{v:.1f}" for v in sorted(values))


def amdahl(s2: float, n: int) -> float:
    """Speed-up at n threads from the 2-thread one, serial fraction f = 2 / s2 - 1."""
    f = min(max(2 / s2 - 1, 0.0), 1.0)
    return 1 / (f + (1 - f) / n)


def steps_table(args: argparse.Namespace, conditions: dict) -> dict:
    results = {m: {c: [] for c in args.configs} for m in args.steps}
    jobs = [(m, c) for m in args.steps for c in args.configs]
    for r in range(args.rounds):
        for model, config in rotate(jobs, r):
            conditions["idle"].append(wait_quiet(args.min_idle, args.patience))
            results[model][config].append(run_step(config, model))
        conditions["load"].append(load())
        print(f"steps round {r + 1}/{args.rounds}: {conditions['load'][-1]}", file=sys.stderr)
    print("| step (batch: user_loop.py's) | config | median ms | rounds, sorted |")
    print("|---|---|---:|---|")
    for model in args.steps:
        for config in args.configs:
            values = results[model][config]
            print(f"| {model} | {config} | {statistics.median(values):.2f} | "
                  f"{sorted_rounds(values)} |")
    print("\n| step | ours 1 -> 2 | PyTorch 1 -> 2 | ours / PyTorch at 1 | at 2 "
          "| ours at 4 / 8 (Amdahl projection) |")
    print("|---|---:|---:|---:|---:|---|")
    for model in args.steps:
        med = {c: statistics.median(v) for c, v in results[model].items() if v}
        if len(med) < 4:
            continue
        ours, torch = med["ours-1"] / med["ours-2"], med["torch-1"] / med["torch-2"]
        print(f"| {model} | x{ours:.2f} | x{torch:.2f} | {med['ours-1'] / med['torch-1']:.2f} | "
              f"{med['ours-2'] / med['torch-2']:.2f} | x{amdahl(ours, 4):.2f} / "
              f"x{amdahl(ours, 8):.2f} |")
    return results


def train_table(args: argparse.Namespace, conditions: dict) -> dict:
    results = {m: {c: [] for c in args.configs} for m in args.train}
    jobs = [(m, c) for m in args.train for c in args.configs]
    for r in range(args.rounds):
        for model, config in rotate(jobs, r):
            conditions["idle"].append(wait_quiet(args.min_idle, args.patience))
            results[model][config].append(run_train(config, model, args.npz))
        conditions["load"].append(load())
        print(f"train round {r + 1}/{args.rounds}: {conditions['load'][-1]}", file=sys.stderr)
    print("| training | config | first epoch s (median) | rounds | to 99% s (median) | rounds "
          "| final accuracy |")
    print("|---|---|---:|---|---:|---|---|")
    for model in args.train:
        for config in args.configs:
            runs = results[model][config]
            first = [run["seconds"][0] for run in runs]
            reached = [t for t in (to_target(run, 0.99) for run in runs) if t is not None]
            accs = " ".join(f"{run['acc'][-1]:.4f}" for run in runs)
            to99 = f"{statistics.median(reached):.1f}" if reached else "not reached"
            print(f"| {model} | {config} | {statistics.median(first):.1f} | "
                  f"{sorted_rounds(first)} | {to99} | {sorted_rounds(reached)} | {accs} |")
    return results


def main() -> None:
    args = parse_args()
    conditions: dict = {"load": [load()], "idle": []}
    everything = {}
    if args.steps:
        everything["steps"] = steps_table(args, conditions)
    if args.train:
        everything["train"] = train_table(args, conditions)
    idle = sorted(conditions["idle"]) or [float("nan")]
    print(f"\nload: {conditions['load'][0]} -> {conditions['load'][-1]}; idle share of the CPUs "
          f"just before each run: {idle[0]:.2f} .. {idle[-1]:.2f} "
          f"(median {statistics.median(idle):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(everything | conditions, indent=1))


if __name__ == "__main__":
    main()
