"""The machine's state for benchmark tables on a shared machine: its load line, the idle share of
its CPUs, and a bounded wait for a quieter moment (benchmarks/batch_split.py and
benchmarks/numba_kernels.py report both beside each table)."""

from __future__ import annotations

import subprocess
import time


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def idle_fraction(seconds: float = 0.3) -> float:
    """Share of the machine's CPU time left idle over `seconds` (/proc/stat)."""
    def sample() -> tuple:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values)
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(total1 - total0, 1)


def wait_quiet(min_idle: float, patience_s: float) -> float:
    """Wait (at most patience_s) until other jobs leave min_idle of the CPUs free; returns the
    idle share last seen, which the tables report."""
    deadline = time.monotonic() + patience_s
    idle = idle_fraction()
    while idle < min_idle and time.monotonic() < deadline:
        idle = idle_fraction()
    return idle
