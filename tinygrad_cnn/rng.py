"""The one random generator behind every factory, initialiser and dropout mask."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by `Tensor.randn/rand/uniform`, nn initialisation and dropout."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The current generator (replaced, not mutated, by `manual_seed`)."""
    return _generator


def get_rng_state() -> np.ndarray:
    """The generator's full state as a uint64 array (savable in .npz without pickle)."""
    state = _generator.bit_generator.state
    inner = state["state"]
    mask = 2**64 - 1
    words = [inner["state"] >> 64, inner["state"] & mask, inner["inc"] >> 64, inner["inc"] & mask,
             state["has_uint32"], state["uinteger"]]
    return np.array(words, dtype=np.uint64)


def set_rng_state(words: np.ndarray) -> None:
    """Restore a state returned by `get_rng_state`."""
    w = [int(v) for v in np.asarray(words, dtype=np.uint64)]
    state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }
    fresh = np.random.default_rng()
    fresh.bit_generator.state = state
    global _generator
    _generator = fresh
