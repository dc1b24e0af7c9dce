"""Allocator tuning: let glibc keep freed memory so every training step reuses warm pages.

The library applies it by itself, once, at the first `backward()` or `no_grad()` block of the
process, so a loop written from the README gets it without asking. Turn that off with the
environment variable TINYGRAD_CNN_KEEP_FREED_MEMORY=0 or `set_automatic(False)` before the first
step; `keep_freed_memory()` applies it by hand.

Why it is safe: it changes where freed memory waits (glibc's own free lists instead of the
kernel), never what any array holds, and glibc still returns memory above `trim_threshold`. The
cost is a resident set that stays near the step's peak after a step ends (docs/benchmarks.md has
the peaks), which a process that trains wants anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# from <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

ENV = "TINYGRAD_CNN_KEEP_FREED_MEMORY"


class _Auto:
    """Whether the automatic call is still to come: read on every backward(), so one flag."""

    pending = os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 512 << 20) -> bool:
    """Ask glibc's malloc to serve arrays below `mmap_threshold` bytes from its heap (not a fresh
    mmap each time) and to keep up to `trim_threshold` bytes of freed memory instead of returning
    it to the kernel.

    Why: a training step allocates and frees the same large arrays every time; when one of them is
    a new mmap (or heap memory that was trimmed back to the kernel), its pages fault in again on
    first touch, one 4 KB page at a time (docs/benchmarks.md has the fault counts per step). The
    setting is process-wide. Returns False where there is no glibc (macOS, musl, Windows), which
    keeps its defaults.
    """
    _Auto.pending = False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                    and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):
        return False


def set_automatic(enabled: bool) -> None:
    """Whether the next backward() / no_grad() block applies keep_freed_memory() (default: the
    first one does, unless TINYGRAD_CNN_KEEP_FREED_MEMORY=0). Off never undoes a setting that
    was already applied: glibc keeps it for the life of the process."""
    _Auto.pending = bool(enabled)


def automatic_pending() -> bool:
    return _Auto.pending


def apply_automatic() -> None:
    """Called by the engine at the first backward() and no_grad() block; later calls return at
    the first check."""
    if _Auto.pending:
        keep_freed_memory()
