"""check_op: one line per op test (forward vs a NumPy reference, backward vs float64 gradcheck)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_cnn import Tensor, gradcheck
from tinygrad_cnn.autograd import observe

Shape = tuple[int, ...]
Domain = tuple[float, float]


def check_op(
    ours: Callable[..., Tensor],
    reference: Callable[..., Any],
    shapes: Sequence[Shape | float],
    domain: Domain | Sequence[Domain] = (-2.0, 2.0),
    margin: float = 0.0,
    grad: bool = True,
    seed: int = 0,
    rtol: float = 2e-5,
    atol: float = 1e-6,
) -> None:
    """Check op `ours` against the NumPy function `reference` on random inputs.

    `shapes` has one entry per input: a tuple is a tensor of that shape, a float is passed as a
    Python scalar (a constant, on whichever side it stands). `domain` is one (low, high) for all
    inputs or one per input; `margin` keeps |x| >= margin (away from kinks at 0). Checks:
    float32 forward equals the reference (computed in float64 on the same values) with dtype
    float32 kept (bool for comparisons, which never require grad); float64 stays float64; the
    float32 backward gives float32 grads of each input's shape; float64 `gradcheck` passes.
    """
    rng = np.random.default_rng(seed)
    domains = [domain] * len(shapes) if isinstance(domain[0], (int, float)) else list(domain)
    values = [s if isinstance(s, (int, float)) else _sample(rng, s, d, margin)
              for s, d in zip(shapes, domains)]
    tensor_at = [i for i, v in enumerate(values) if isinstance(v, np.ndarray)]

    def call(*tensors: Tensor) -> Tensor:
        args = list(values)
        for i, t in zip(tensor_at, tensors):
            args[i] = t
        return ours(*args)

    expected = np.asarray(reference(*values))
    out = call(*[Tensor(values[i], requires_grad=grad) for i in tensor_at])
    assert isinstance(out, Tensor), f"the op returned {type(out).__name__}, not a Tensor"
    assert out.shape == expected.shape, f"shape {out.shape}, reference {expected.shape}"
    if expected.dtype == bool or np.issubdtype(expected.dtype, np.integer):
        assert out.dtype.kind == expected.dtype.kind, f"{out.dtype}, expected {expected.dtype}"
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.data, expected)
        return
    assert out.dtype == np.float32, f"float32 inputs gave {out.dtype}"
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)
    out64 = call(*[Tensor(values[i], dtype=np.float64) for i in tensor_at])
    assert out64.dtype == np.float64, f"float64 inputs gave {out64.dtype}"
    np.testing.assert_allclose(out64.data, expected, rtol=1e-12, atol=1e-12)
    if not grad:
        return
    _check_float32_backward(call, [values[i] for i in tensor_at])
    assert gradcheck(call, [values[i] for i in tensor_at])


def _sample(rng: np.random.Generator, shape: Shape, domain: Domain, margin: float) -> np.ndarray:
    """float64 values that float32 represents exactly, so both precisions see the same input."""
    low, high = domain
    if margin > 0:
        x = rng.uniform(margin, max(abs(low), abs(high)), shape)
        x = np.where(rng.random(shape) < 0.5, -x, x) if low < 0 else x
    else:
        x = rng.uniform(low, high, shape)
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def _check_float32_backward(call: Callable, values: list[np.ndarray]) -> None:
    """The float32 backward yields float32 grads that agree with the float64 backward, and no
    op's backward makes float64 arrays from float32 ones (which the engine would cast back)."""
    grads = {}
    for dtype in (np.float32, np.float64):
        leaves = [Tensor(v, requires_grad=True, dtype=dtype) for v in values]
        with observe(_DtypeWatch(dtype)):
            out = call(*leaves)
            out.backward(np.ones(out.shape, dtype=dtype))
        grads[dtype] = [leaf.grad for leaf in leaves]
    for value, g32, g64 in zip(values, grads[np.float32], grads[np.float64]):
        if g32 is None:
            assert g64 is None
            continue
        assert g32.dtype == np.float32 and g64.dtype == np.float64
        assert g32.shape == value.shape, f"grad shape {g32.shape}, input {value.shape}"
        scale = max(1.0, float(np.abs(g64.data).max(initial=0.0)))
        np.testing.assert_allclose(g32.data, g64.data, rtol=1e-4, atol=1e-5 * scale)


class _DtypeWatch:
    """Observer asserting that every gradient an op's backward returns has the expected dtype."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def on_forward(self, ctx: Any, out: Tensor, seconds: float) -> None:
        pass

    def on_backward(self, ctx: Any, input_grads: Any, seconds: float) -> None:
        grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
        for i, g in enumerate(grads):
            dtype = getattr(g, "dtype", self.dtype)
            assert g is None or dtype == self.dtype, f"{ctx.name} backward gave input {i} {dtype}"


def uniform(*shape: int, low: float = -1.0, high: float = 1.0, seed: int = 0,
            dtype: Any = np.float64) -> np.ndarray:
    """A seeded random array for tests that build their own inputs."""
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)
