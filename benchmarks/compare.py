"""Our NumPy framework against PyTorch on the step benchmarks, each in its own process.

    python benchmarks/compare.py --cases conv1 conv2 lenet_step seed_step --rounds 3 --iters 50
    python benchmarks/compare.py --mode user --rounds 5 --iters 100   # the README-style loop

--mode user times benchmarks/user_loop.py (a loop written like a user's, public API only, no
allocator call) against the same cases of torch_steps.py: the LeNet-5, seed, best and fast
training steps and the 10,000-image no-grad inference (`*_infer`, one pass per iteration).

Alternates `python benchmarks/steps_tinygrad.py` and `<torch python> benchmarks/torch_steps.py`
with the same arguments, so neither library's thread pool runs beside the other's and slow drift
of the machine hits both sides alike. Imports neither torch nor tinygrad_cnn. Ratio = ours / torch
of the medians over all timed iterations of all rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"bench": ROOT / "benchmarks" / "steps_tinygrad.py",
        "user": ROOT / "benchmarks" / "user_loop.py"}
TORCH = ROOT / "benchmarks" / "torch_steps.py"
CASES = {"bench": ("conv1", "conv2", "lenet_step", "seed_step"),
         "user": ("lenet_step", "seed_step", "best_step", "fast_step", "seed_infer",
                  "lenet_infer", "best_infer")}


def torch_available(python: str) -> bool:
    if not Path(python).exists():
        return False
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True)
    return probe.returncode == 0


def run_side(command: list[str], threads: int) -> dict:
    """Run one benchmark process and parse the JSON line it prints last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def case_args(case: str, args: argparse.Namespace) -> list[str]:
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    return ["--case", case, "--iters", str(args.iters), "--warmup", str(args.warmup),
            "--threads", str(args.threads), "--clock", args.clock, *extra]


def median(times: list[float]) -> float | None:
    return statistics.median(times) if times else None


def compare_case(case: str, sides: dict[str, list[str]], args: argparse.Namespace) -> dict:
    """Alternate the sides for --rounds rounds; pool every timed iteration per side."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    round_medians: dict[str, list[float]] = {name: [] for name in sides}
    batch = None
    for _ in range(args.rounds):
        for name, command in sides.items():
            result = run_side([*command, *case_args(case, args)], args.threads)
            times[name] += result["times_ms"]
            round_medians[name].append(result["median_ms"])
            batch = result["batch_size"]
    ours, torch = median(times.get("ours", [])), median(times.get("torch", []))
    ratio = ours / torch if ours and torch else None
    return {"case": case, "batch_size": batch, "ours_median_ms": ours,
            "torch_median_ms": torch, "ratio": ratio,
            "round_medians_ms": round_medians, "times_ms": times}


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict]) -> None:
    print(f"{'case':<12}{'batch':>6}{'ours ms':>11}{'torch ms':>11}{'ours/torch':>12}")
    for row in rows:
        print(f"{row['case']:<12}{fmt(row['batch_size'], 'd'):>6}"
              f"{fmt(row['ours_median_ms'], '.3f'):>11}{fmt(row['torch_median_ms'], '.3f'):>11}"
              f"{fmt(row['ratio'], '.2f'):>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=CASES, default="bench",
                        help="bench: steps_tinygrad.py; user: user_loop.py (see above)")
    parser.add_argument("--cases", nargs="+", help="default: every case of --mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None, help="default: per case")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: each process's CPU time; use with --threads 1 on a busy "
                        "machine, where wall time mostly measures the neighbours")
    parser.add_argument("--python", default=sys.executable, help="python for our side")
    parser.add_argument("--torch-python",
                        default=os.environ.get("TORCH_PYTHON", "/work/venvs/torch/bin/python"))
    parser.add_argument("--json", help="also write the results (with all times) to this file")
    args = parser.parse_args()
    args.cases = args.cases or list(CASES[args.mode])
    unknown = sorted(set(args.cases) - set(CASES[args.mode]))
    if unknown:
        parser.error(f"--mode {args.mode} has no case {', '.join(unknown)}; "
                     f"choose from {', '.join(CASES[args.mode])}")

    sides = {}
    ours = OURS[args.mode]
    if ours.exists():
        sides["ours"] = [args.python, str(ours)]
    else:
        print(f"{ours.relative_to(ROOT)} not found; reporting PyTorch only")
    if torch_available(args.torch_python):
        sides["torch"] = [args.torch_python, str(TORCH)]
    else:
        print(f"PyTorch is not available at {args.torch_python}; reporting our side only")
    if not sides:
        sys.exit("nothing to run")

    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.1f}; other processes on the cores make these "
              "timings noisy (PyTorch's 2-thread runs suffer most)")
    rows = [compare_case(case, sides, args) for case in args.cases]
    print_table(rows)
    print(f"{args.mode} mode, {args.threads} thread(s), {args.clock} clock; load average "
          f"{load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
