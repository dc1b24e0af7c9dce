"""Allocator tuning: let glibc keep freed memory so every training step reuses warm pages."""

from __future__ import annotations

import ctypes
import ctypes.util

# from <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 512 << 20) -> bool:
    """Ask glibc's malloc to serve arrays below `mmap_threshold` bytes from its heap (not a fresh
    mmap each time) and to keep up to `trim_threshold` bytes of freed memory instead of returning
    it to the kernel.

    Why: a training step allocates and frees the same large arrays every time; by default each one
    is a new mmap whose pages fault in on first touch, a large share of a LeNet-5 step
    (docs/benchmarks.md, "What made it fast"). The setting is process-wide, so
    it is never applied on import: `models/mnist.py` and the benchmarks call it explicitly.
    Returns False where there is no glibc (macOS, musl, Windows), which keeps its defaults.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                    and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):
        return False
