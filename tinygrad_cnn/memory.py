"""Allocator tuning: let glibc keep freed memory so every training step reuses warm pages.

Applied once, in one visible place: `import tinygrad_cnn` calls `apply_unless_switched_off()`
(tinygrad_cnn/__init__.py), so a loop written from the README gets it without asking, and the
engine itself never touches the allocator. Switch it off with the environment variable
TINYGRAD_CNN_KEEP_FREED_MEMORY=0 (before the import); `keep_freed_memory()` applies it by hand.
Its measured effect (page faults and step times with and without) is in docs/benchmarks.md,
"Speed without opt-in: the allocator setting, applied by the library".

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


class _Applied:
    """Whether keep_freed_memory() has run in this process (the setting is process-wide)."""

    value = False


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
    _Applied.value = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                    and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):
        return False


def switched_off() -> bool:
    """True when TINYGRAD_CNN_KEEP_FREED_MEMORY says 0, false, no or off."""
    return os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off")


def apply_unless_switched_off() -> None:
    """What `import tinygrad_cnn` runs, once."""
    if not switched_off():
        keep_freed_memory()


def applied() -> bool:
    return _Applied.value
