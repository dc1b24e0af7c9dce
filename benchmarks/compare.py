"""Our NumPy framework against PyTorch on the step benchmarks, each in its own process.

    python benchmarks/compare.py --cases conv1 conv2 lenet_step seed_step --rounds 3 --iters 50

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
OURS = ROOT / "benchmarks" / "steps_tinygrad.py"
TORCH = ROOT / "benchmarks" / "torch_steps.py"
CASES = ("conv1", "conv2", "lenet_step", "seed_step")


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
            "--threads", str(args.threads), *extra]


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
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None, help="default: per case")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--python", default=sys.executable, help="python for our side")
    parser.add_argument("--torch-python",
                        default=os.environ.get("TORCH_PYTHON", "/work/venvs/torch/bin/python"))
    parser.add_argument("--json", help="also write the results (with all times) to this file")
    args = parser.parse_args()

    sides = {}
    if OURS.exists():
        sides["ours"] = [args.python, str(OURS)]
    else:
        print(f"{OURS.relative_to(ROOT)} not found; reporting PyTorch only")
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
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
