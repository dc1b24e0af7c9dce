"""The optional compiled tier: numba kernels for the hot loops, built on first use and cached on
disk; the NumPy ops stay the reference and the fallback (numba absent, TINYGRAD_CNN_COMPILED=0,
other dtypes).

    python -c "from tinygrad_cnn.ops import compiled; print(compiled.warm_up())"  # build them now

Nothing here imports numba at import time: `available()` tries once, when an op first asks. The
kernels are plain loops over arrays in any memory layout (numba reads the strides), compiled for
float32 and float64 with `cache=True` (numba's cache directory: `__pycache__` beside this file,
else a user-wide one, or NUMBA_CACHE_DIR) and `nogil=True`, so Python threads can run them side by
side. Not `parallel=True`: numba's OpenMP threads beside OpenBLAS's made training steps several
times slower on two cores (docs/benchmarks.md, issue 19).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np

_enabled = os.environ.get("TINYGRAD_CNN_COMPILED", "1").strip() != "0"
_available: bool | None = None  # None: numba not tried yet
_families: dict[str, SimpleNamespace] = {}
_seconds: dict[str, float] = {}
_lock = threading.Lock()  # two threads asking for a family at once build it once


def available() -> bool:
    """Whether numba imports (tried once, on the first call)."""
    global _available
    if _available is None:
        try:
            import numba  # noqa: F401
            _available = True
        except ImportError:
            _available = False
    return _available


def enabled() -> bool:
    """Whether the ops use the kernels: numba is available and the tier is switched on (the
    default; TINYGRAD_CNN_COMPILED=0 in the environment or set_enabled(False) turns it off)."""
    return _enabled and available()


def set_enabled(flag: bool) -> bool:
    """Switch the tier on or off for the ops called from now on; returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(flag)
    return previous


@contextmanager
def use(flag: bool) -> Iterator[None]:
    """`with compiled.use(False):` runs the NumPy path (tests compare the two), then restores."""
    previous = set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(previous)


def compile_seconds() -> dict[str, float]:
    """Seconds each kernel family took on first use: compiling, or loading numba's disk cache."""
    return dict(_seconds)


def kernels(family: str) -> SimpleNamespace:
    """The compiled kernels of `family` ("pool", "norm", "optim", "conv", "data"), built on the
    first call."""
    if family not in _families:
        with _lock:
            if family not in _families:
                start = time.perf_counter()
                _families[family] = _BUILDERS[family]()
                _seconds[family] = time.perf_counter() - start
    return _families[family]


def warm_up() -> dict[str, float]:
    """Build every family now (e.g. before timing a training run); returns compile_seconds()."""
    if not available():
        raise RuntimeError("the compiled tier needs numba: pip install 'tinygrad_cnn[fast]'")
    for family in _BUILDERS:
        kernels(family)
    return compile_seconds()


def _jit(loops: Callable, signatures: list, fastmath: Any = False,
         error_model: str = "python") -> Callable:
    """loops compiled now for these signatures, and only for them: no later call compiles again
    (numba would for each new layout or dtype). error_model="numpy": x / 0 gives inf or NaN as
    in NumPy, instead of a ZeroDivisionError check on every division (which stops vectorising)."""
    import numba

    options = dict(nogil=True, fastmath=fastmath, error_model=error_model)
    try:
        kernel = numba.njit(cache=True, **options)(loops)
    except RuntimeError as error:  # no writable cache directory: compile in every process
        warnings.warn(f"{error}; set NUMBA_CACHE_DIR to a writable directory", stacklevel=3)
        kernel = numba.njit(**options)(loops)
    for signature in signatures:
        kernel.compile(signature)
    kernel.disable_compile()
    return kernel


def _strided(dtype: Any, ndim: int, readonly: bool = False) -> Any:
    """numba's type of an array in any layout ('A'); a read-only one accepts writable arrays too
    (inputs may be broadcasts, as the gradient of a sum)."""
    from numba import types

    return types.Array(dtype, ndim, "A", readonly=readonly)


# ---------------------------------------------------------------- 2x2 / stride 2 max pooling
# Arrays as (P, Q, 2 OH, R, 2 OW) views: P, Q, R are N, C and a size-1 axis in the order that
# walks the caller's memory contiguously (ops/pool.py picks it); the loops are the same for all.
# The choices are exactly those of pool.py's NumPy path, so both give the same bits:
# out = np.maximum(np.maximum(a, b), np.maximum(c, d)) for the window [[a, b], [c, d]], where
# np.maximum(p, q) is p when p > q or p is NaN, else q; the winner (the uint8 index, 0..3
# row-major) is the top row when max(top) >= max(bottom), then its left element when left >=
# right: the first maximum on ties (PyTorch's rule); with a NaN these comparisons are false.
# Backward writes g at the winner and 0.0 elsewhere, as PyTorch (the NumPy path's g * mask writes
# -0.0 beside some winners when g < 0, and NaN beside them when g is infinite or NaN).

def _max_pool_2x2_loops(x, out, index):  # pragma: no cover (runs compiled)
    p_size, q_size, oh_size, r_size, ow_size = out.shape
    for p in range(p_size):
        for q in range(q_size):
            for oh in range(oh_size):
                h = 2 * oh
                for r in range(r_size):
                    for ow in range(ow_size):
                        w = 2 * ow
                        a, b = x[p, q, h, r, w], x[p, q, h, r, w + 1]
                        c, d = x[p, q, h + 1, r, w], x[p, q, h + 1, r, w + 1]
                        top = a if a > b or a != a else b
                        bottom = c if c > d or c != c else d
                        out[p, q, oh, r, ow] = top if top > bottom or top != top else bottom
                        if top >= bottom:
                            index[p, q, oh, r, ow] = 0 if a >= b else 1
                        else:
                            index[p, q, oh, r, ow] = 2 if c >= d else 3


def _relu_max_pool_2x2_loops(x, out, index, zero):  # pragma: no cover (runs compiled)
    """The same over relu(x) = np.maximum(x, 0): x when x > 0 or NaN, else `zero` (0 in x's
    dtype: a 0.0 literal would turn float32 loops into float64 ones); index 4 when the winner is
    not > 0 (relu' = 0 there: no gradient). The rare case in its own branch keeps the loop
    branch-free where it matters (a winner computed in every window ran several times slower)."""
    p_size, q_size, oh_size, r_size, ow_size = out.shape
    for p in range(p_size):
        for q in range(q_size):
            for oh in range(oh_size):
                h = 2 * oh
                for r in range(r_size):
                    for ow in range(ow_size):
                        w = 2 * ow
                        a, b = x[p, q, h, r, w], x[p, q, h, r, w + 1]
                        c, d = x[p, q, h + 1, r, w], x[p, q, h + 1, r, w + 1]
                        a = a if a > zero or a != a else zero
                        b = b if b > zero or b != b else zero
                        c = c if c > zero or c != c else zero
                        d = d if d > zero or d != d else zero
                        top = a if a > b or a != a else b
                        bottom = c if c > d or c != c else d
                        m = top if top > bottom or top != top else bottom
                        out[p, q, oh, r, ow] = m
                        if top >= bottom:
                            index[p, q, oh, r, ow] = 0 if a >= b else 1
                        else:
                            index[p, q, oh, r, ow] = 2 if c >= d else 3
                        if not m > zero:  # the winner is 0, or a NaN won the max, not g
                            k = index[p, q, oh, r, ow]
                            best = m if m == m else (
                                (a if k == 0 else b) if k < 2 else (c if k == 2 else d))
                            if not best > zero:
                                index[p, q, oh, r, ow] = 4


def _max_unpool_2x2_loops(grad_out, index, grad_x):  # pragma: no cover (runs compiled)
    p_size, q_size, oh_size, r_size, ow_size = grad_out.shape
    for p in range(p_size):
        for q in range(q_size):
            for oh in range(oh_size):
                h = 2 * oh
                for r in range(r_size):
                    for ow in range(ow_size):
                        w = 2 * ow
                        g, k = grad_out[p, q, oh, r, ow], index[p, q, oh, r, ow]
                        grad_x[p, q, h, r, w] = g if k == 0 else 0.0
                        grad_x[p, q, h, r, w + 1] = g if k == 1 else 0.0
                        grad_x[p, q, h + 1, r, w] = g if k == 2 else 0.0
                        grad_x[p, q, h + 1, r, w + 1] = g if k == 3 else 0.0


def _pool_kernels() -> SimpleNamespace:
    from numba import types

    index, saved_index = _strided(types.uint8, 5), _strided(types.uint8, 5, readonly=True)
    forward, relu_forward, backward = [], [], []
    for dtype in (types.float32, types.float64):
        read, write = _strided(dtype, 5, readonly=True), _strided(dtype, 5)
        forward.append((read, write, index))
        relu_forward.append((read, write, index, dtype))
        backward.append((read, saved_index, write))
    return SimpleNamespace(max_pool_2x2=_jit(_max_pool_2x2_loops, forward),
                           relu_max_pool_2x2=_jit(_relu_max_pool_2x2_loops, relu_forward),
                           max_unpool_2x2=_jit(_max_unpool_2x2_loops, backward))


# ---------------------------------------------------------------- batch norm
# x in its own memory order as ops/norm.py's _Planes sees it: "columns" (R, K) for short rows,
# K = C * L with the (C,) vectors repeated L times, so the inner loop runs over a whole row; or
# "planes" (R, C, L) for long L, one (C,) vector entry per plane. C-contiguous arrays only (the
# working arrays of a conv's output are; the caller copies others): over strides ('A') LLVM did
# not vectorise the loops, and they ran slower than NumPy (docs/benchmarks.md). Per-channel
# sums accumulate in float64 (the caller casts back); the apply passes compute in x's dtype in
# NumPy's order, so given the same statistics they give the NumPy path's bits. Only the planes'
# loops that sum over long L (sums, centre) use fastmath's reassociation: without it LLVM keeps
# one serial chain of float64 adds, several times slower (docs/benchmarks.md).

def _column_sums_loops(a, b, mean, sums, products):  # pragma: no cover (runs compiled)
    """sums[k] += a[r, k] and products[k] += a[r, k] * (b[r, k] - mean[k]) over rows r."""
    for r in range(a.shape[0]):
        for k in range(a.shape[1]):
            v = np.float64(a[r, k])
            sums[k] += v
            products[k] += v * (b[r, k] - mean[k])


def _plane_sums_loops(a, b, mean, sums, products):  # pragma: no cover (runs compiled)
    """sums[c] += a[r, c, l] and products[c] += a[r, c, l] * (b[r, c, l] - mean[c])."""
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            m, s, p = mean[c], 0.0, 0.0
            for i in range(a.shape[2]):
                v = np.float64(a[r, c, i])
                s += v
                p += v * (b[r, c, i] - m)
            sums[c] += s
            products[c] += p


def _column_centre_loops(x, mean, out, squares):  # pragma: no cover (runs compiled)
    """out = x - mean; squares[k] += out[r, k] ** 2 over rows r."""
    for r in range(x.shape[0]):
        for k in range(x.shape[1]):
            d = x[r, k] - mean[k]
            out[r, k] = d
            squares[k] += np.float64(d) * np.float64(d)


def _plane_centre_loops(x, mean, out, squares):  # pragma: no cover (runs compiled)
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            m, s = mean[c], 0.0
            for i in range(x.shape[2]):
                d = x[r, c, i] - m
                out[r, c, i] = d
                s += np.float64(d) * np.float64(d)
            squares[c] += s


def _column_affine_loops(a, scale, shift, out):  # pragma: no cover (runs compiled)
    """out = a * scale + shift."""
    for r in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[r, k] = a[r, k] * scale[k] + shift[k]


def _plane_affine_loops(a, scale, shift, out):  # pragma: no cover (runs compiled)
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            s, t = scale[c], shift[c]
            for i in range(a.shape[2]):
                out[r, c, i] = a[r, c, i] * s + t


def _column_grad_loops(g, centered, scale, mean_g, coef, out):  # pragma: no cover (compiled)
    """out = scale * (g - (centered * coef + mean_g)): norm.py's _standardize_grad, one pass."""
    for r in range(g.shape[0]):
        for k in range(g.shape[1]):
            out[r, k] = scale[k] * (g[r, k] - (centered[r, k] * coef[k] + mean_g[k]))


def _plane_grad_loops(g, centered, scale, mean_g, coef, out):  # pragma: no cover (compiled)
    for r in range(g.shape[0]):
        for c in range(g.shape[1]):
            s, m, k = scale[c], mean_g[c], coef[c]
            for i in range(g.shape[2]):
                out[r, c, i] = s * (g[r, c, i] - (centered[r, c, i] * k + m))


def _norm_kernels() -> SimpleNamespace:
    """Two sets of the same four kernels: .columns for (R, K) arrays, .planes for (R, C, L)."""
    from numba import types

    loops = {"columns": (_column_sums_loops, _column_centre_loops, _column_affine_loops,
                         _column_grad_loops),
             "planes": (_plane_sums_loops, _plane_centre_loops, _plane_affine_loops,
                        _plane_grad_loops)}
    found = {}
    for (name, (sums, centre, affine, grad)), ndim in zip(loops.items(), (2, 3)):
        signatures: list[list] = [[], [], [], []]
        acc = types.Array(types.float64, 1, "C")
        for dtype in (types.float32, types.float64):
            read = types.Array(dtype, ndim, "C", readonly=True)
            write = types.Array(dtype, ndim, "C")
            vector = types.Array(dtype, 1, "C", readonly=True)
            signatures[0].append((read, read, vector, acc, acc))
            signatures[1].append((read, vector, write, acc))
            signatures[2].append((read, vector, vector, write))
            signatures[3].append((read, read, vector, vector, vector, write))
        reassoc = {"reassoc"} if name == "planes" else False
        found[name] = SimpleNamespace(
            sums=_jit(sums, signatures[0], reassoc), centre=_jit(centre, signatures[1], reassoc),
            affine=_jit(affine, signatures[2]), grad=_jit(grad, signatures[3]))
    return SimpleNamespace(**found)


# ---------------------------------------------------------------- optimizer updates
# One loop over a parameter's flattened elements (C-contiguous 1-D views: optim/optimizer.py
# flattens them and passes other layouts to its NumPy path) updating the parameter and its state
# in place, instead of NumPy's ten or so whole-array passes with temporaries. The caller passes
# Python floats; numba rounds them to the arrays' dtype at the call, as NumPy casts a Python
# float. Each element follows the NumPy path's operations in its order and precision (no
# fastmath: nothing fused or reordered; NumPy's error model: 0 / 0 is NaN), so both give the
# same bits (tests/test_compiled_optim.py). Loop-invariant flags stay in the loop: LLVM
# unswitches them.

def _sgd_loops(p, grad, buf, lr, weight_decay, momentum, damp, with_decay, with_momentum,
               nesterov, first):  # pragma: no cover (runs compiled)
    """optim.SGD's step: d = g + wd * p; buf = d (first) or momentum * buf + damp * d;
    d = d + momentum * buf (nesterov) or buf; p -= lr * d. buf is unused without momentum."""
    for i in range(p.shape[0]):
        d = grad[i]
        if with_decay:
            d = d + weight_decay * p[i]
        if with_momentum:
            b = d if first else buf[i] * momentum + damp * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


def _adam_loops(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, weight_decay, beta1,
                one_minus_beta1, beta2, one_minus_beta2, bias2_scale, eps, step_size,
                with_l2, amsgrad):  # pragma: no cover (runs compiled)
    """optim.Adam's step: p *= decay (AdamW's, else 1); g += wd * p (with_l2);
    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g g; amsgrad: vmax = max(vmax, v), used for v;
    p -= step_size * m / (sqrt(v) * bias2_scale + eps). max_exp_avg_sq unused without amsgrad."""
    for i in range(p.shape[0]):
        x = p[i] * decay
        g = grad[i]
        if with_l2:
            g = g + weight_decay * p[i]
        m = exp_avg[i] * beta1 + one_minus_beta1 * g
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * (g * g)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            top = max_exp_avg_sq[i]
            v = top if top > v or top != top else v  # np.maximum: NaN wins
            max_exp_avg_sq[i] = v
        p[i] = x - m / (np.sqrt(v) * bias2_scale + eps) * step_size


def _optim_kernels() -> SimpleNamespace:
    from numba import types

    sgd, adam = [], []
    for dtype in (types.float32, types.float64):
        read, write = types.Array(dtype, 1, "C", readonly=True), types.Array(dtype, 1, "C")
        flag = types.boolean
        sgd.append((write, read, write) + (dtype,) * 4 + (flag,) * 4)
        adam.append((write, read, write, write, write) + (dtype,) * 9 + (flag,) * 2)
    return SimpleNamespace(sgd=_jit(_sgd_loops, sgd),
                           adam=_jit(_adam_loops, adam, error_model="numpy"))


# ---------------------------------------------------------------- conv: im2col's col2im
# grad_xp[n, i * sh + kh * dh, j * sw + kw * dw, c] += grad_cols[n, i, j, kh, kw, c]: the NumPy
# path's KH * KW strided adds of whole blocks, as one loop over C-contiguous arrays (the last
# axis, channels, vectorises). Each element gets its terms in the NumPy path's (kh, kw) order, so
# both give the same bits.

def _col2im_loops(grad_cols, grad_xp, sh, sw, dh, dw):  # pragma: no cover (runs compiled)
    n_size, oh_size, ow_size, kh_size, kw_size, c_size = grad_cols.shape
    for n in range(n_size):
        for kh in range(kh_size):
            for kw in range(kw_size):
                for i in range(oh_size):
                    r = i * sh + kh * dh
                    for j in range(ow_size):
                        q = j * sw + kw * dw
                        for c in range(c_size):
                            grad_xp[n, r, q, c] += grad_cols[n, i, j, kh, kw, c]


def _conv_kernels() -> SimpleNamespace:
    from numba import types

    signatures = [(types.Array(dtype, 6, "C", readonly=True), types.Array(dtype, 4, "C"))
                  + (types.intp,) * 4 for dtype in (types.float32, types.float64)]
    return SimpleNamespace(col2im=_jit(_col2im_loops, signatures))


# ---------------------------------------------------------------- data: Normalize of uint8 pixels
# out = float32(float64(x) * scale + shift): data.Normalize's NumPy path (a float64 multiply, an
# add, a cast: three passes and a float64 temporary) as one pass, with the same two float64
# roundings and the final one to float32 (no fastmath: nothing fused), so the same bits.

def _normalize_uint8_loops(x, scale, shift, out):  # pragma: no cover (runs compiled)
    for i in range(x.shape[0]):
        out[i] = np.float64(x[i]) * scale + shift


def _data_kernels() -> SimpleNamespace:
    from numba import types

    signature = (types.Array(types.uint8, 1, "C", readonly=True), types.float64, types.float64,
                 types.Array(types.float32, 1, "C"))
    return SimpleNamespace(normalize_uint8=_jit(_normalize_uint8_loops, [signature]))


_BUILDERS: dict[str, Callable[[], SimpleNamespace]] = {"pool": _pool_kernels,
                                                       "norm": _norm_kernels,
                                                       "optim": _optim_kernels,
                                                       "conv": _conv_kernels,
                                                       "data": _data_kernels}
