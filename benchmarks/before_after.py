"""1-thread user-loop steps of an older checkout against this tree, compiled tier on and off.

    git worktree add /tmp/before 0853761
    python benchmarks/before_after.py --before /tmp/before --rounds 6
    python benchmarks/before_after.py --before /tmp/before --rounds 10 --cases seed_step

Each run is benchmarks/user_loop.py --threads 1 --clock cpu in its own process (PYTHONPATH set
to the checkout it measures), the three configurations rotating every round, each after a wait
for 85% idle CPUs (benchmarks/quiet.py). Prints the medians over rounds and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from quiet import load, wait_quiet

ROOT = Path(__file__).resolve().parent.parent
CASES = {"lenet_step": (60, 10), "seed_step": (200, 20), "best_step": (12, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="a checkout (worktree) of the older tree")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = p.parse_args()
    configs = {"before": (Path(args.before).resolve(), {}), "now": (ROOT, {}),
               "now, NumPy only": (ROOT, {"TINYGRAD_CNN_COMPILED": "0"})}
    results = {c: {k: [] for k in configs} for c in args.cases}
    print(load())
    for r in range(args.rounds):
        for case in args.cases:
            iters, warmup = CASES[case]
            keys = list(configs)[r % 3:] + list(configs)[:r % 3]
            for key in keys:
                root, env = configs[key]
                wait_quiet(0.85, 30)
                cmd = [sys.executable, str(root / "benchmarks" / "user_loop.py"), "--case", case,
                       "--iters", str(iters), "--warmup", str(warmup), "--threads", "1",
                       "--clock", "cpu"]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=root,
                                      env=os.environ | env | {"PYTHONPATH": str(root),
                                                              "OMP_NUM_THREADS": "1"})
                results[case][key].append(
                    json.loads(done.stdout.strip().splitlines()[-1])["median_ms"])
    print(load())
    for case in args.cases:
        med = {k: statistics.median(v) for k, v in results[case].items()}
        print(case, {k: round(v, 2) for k, v in med.items()},
              f"now/before {med['now'] / med['before']:.3f}",
              f"NumPy only/before {med['now, NumPy only'] / med['before']:.3f}")


if __name__ == "__main__":
    main()
