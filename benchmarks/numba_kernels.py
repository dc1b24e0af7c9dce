"""Numba kernels for issue 19's hot loops, checked and timed against the NumPy ops (numba venv).

    /work/venvs/numba/bin/python benchmarks/numba_kernels.py --check
    /work/venvs/numba/bin/python benchmarks/numba_kernels.py --rounds 7 --json /tmp/kernels.json

Measurement only: nothing here is imported by tinygrad_cnn. Each kernel is a readable loop nest,
`@njit(parallel=True, cache=True, nogil=True)`, `prange` over the batch, reading and writing
arrays in the memory layout our conv returns (ops/conv/__init__.py: Toeplitz (N, H, C, W), taps
(C, N, H, W)) through their NCHW shape and strides, so no layout is copied. Cases:

- `pool_*`: 2x2 max-pool forward + backward (the NumPy side: ops/pool.py's MaxPool2d);
- `relu_pool_*`: ReLU then the pool, forward + backward, fused into one kernel each way
  (max commutes with relu; one uint8 index per window is saved instead of relu's output);
- `bn_*`: batch norm in training mode, forward + backward (ops/norm.py's BatchNorm), over x's
  memory as contiguous rows (prange over rows: batch x height for Toeplitz's layout, channels for
  taps'); per-row partial sums (float64) reduced once per call, where a cross-slice reduction
  would sit;
- `sgd_lenet`: SGD with momentum over LeNet's ten parameters (optim.SGD.step), one call per
  parameter, and `sgd_lenet_flat`, one call over all of them laid end to end.

--check compares every kernel with the NumPy op (np.testing.assert_allclose). The timing driver
runs one process per configuration (NumPy; numba at NUMBA_NUM_THREADS=1 and 2; BLAS at 1 thread
everywhere), alternating them round by round, and prints per case the median over rounds of each
process's median wall milliseconds per call and its CPU milliseconds per call (process_time of all
threads over the timed loop, divided by the calls). The first process uses an empty cache
directory (first-call compile time), the others load the cache (cached-load time).

--step lenet|best times whole user-loop training steps (SGD momentum, batch 128) with the fused
ReLU + pool and (best) the batch norm kernels in them, against models/mnist.py's NumPy models
(STEP_CONFIGS: numba and BLAS threads 1 + 1, 2 + 2 and 2 + 1; NumPy at BLAS 1 and 2), and each
split in two halves on two Python threads (BLAS and numba at 1 thread; batch_split.py's split):

    /work/venvs/numba/bin/python benchmarks/numba_kernels.py --step lenet --rounds 8 --iters 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quiet import load, wait_quiet  # benchmarks/quiet.py: the machine's state beside each table

ROOT = Path(__file__).resolve().parent.parent
TOEPLITZ, TAPS = (0, 2, 1, 3), (1, 0, 2, 3)  # memory order of the NCHW axes
POOL_CASES = {"lenet1": ((128, 6, 24, 24), TOEPLITZ), "lenet2": ((128, 16, 8, 8), TOEPLITZ),
              "best1": ((128, 16, 28, 28), TAPS), "best2": ((128, 32, 10, 10), TOEPLITZ)}
BN_CASES = {"16x24": ((128, 16, 24, 24), TOEPLITZ), "32x8": ((128, 32, 8, 8), TOEPLITZ),
            "best1": ((128, 16, 28, 28), TAPS), "best2": ((128, 32, 10, 10), TOEPLITZ)}
CONFIGS = (("numpy", 1, 1), ("numba", 1, 1), ("numba", 2, 1))  # (impl, numba, BLAS threads)
EPS, MOMENTUM = 1e-5, 0.1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the NumPy ops, exit")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="timed seconds per case")
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--worker", choices=("numpy", "numba", "numpy-split", "numba-split"),
                        default=None)
    parser.add_argument("--threads", type=int, default=1, help="numba threads (worker)")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (--step worker)")
    parser.add_argument("--step", choices=("lenet", "best"), default=None,
                        help="time whole training steps with the kernels in them instead")
    parser.add_argument("--iters", type=int, default=100, help="--step: timed steps")
    parser.add_argument("--min-idle", type=float, default=0.85,
                        help="driver: before each run wait until this share of the CPUs is idle")
    parser.add_argument("--patience", type=float, default=60.0, help="... waiting at most this")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.worker is not None or ARGS.check:  # read once, at import: BLAS and numba threads
    blas = ARGS.blas_threads if ARGS.step else 1
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(blas)
    os.environ["NUMBA_NUM_THREADS"] = str(ARGS.threads if ARGS.worker != "numpy" else 2)

import numpy as np  # noqa: E402

_t0 = time.perf_counter()
from numba import njit, prange  # noqa: E402

NUMBA_IMPORT_S = time.perf_counter() - _t0

sys.path.insert(0, str(ROOT / "models"))
import mnist  # noqa: E402  (models/mnist.py: lenet and best_model)

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import nn, optim  # noqa: E402
from tinygrad_cnn.engine import Function  # noqa: E402
from tinygrad_cnn.ops.activation import ReLU  # noqa: E402
from tinygrad_cnn.ops.norm import BatchNorm  # noqa: E402
from tinygrad_cnn.ops.pool import MaxPool2d  # noqa: E402

# ---------------------------------------------------------------- kernels: 2x2 max-pool (+ReLU)
# index: which of the window's four elements won (0..3 row-major, the first maximum: PyTorch's
# tie rule), 4 when a fused ReLU zeroed the window (its maximum <= 0, relu'(0) = 0).

@njit(parallel=True, cache=True, nogil=True)
def max_pool_2x2(x, out, index, relu):
    n_size, c_size, oh_size, ow_size = out.shape
    for n in prange(n_size):
        for c in range(c_size):
            for oh in range(oh_size):
                for ow in range(ow_size):
                    h, w = 2 * oh, 2 * ow
                    best, k = x[n, c, h, w], 0
                    if x[n, c, h, w + 1] > best:
                        best, k = x[n, c, h, w + 1], 1
                    if x[n, c, h + 1, w] > best:
                        best, k = x[n, c, h + 1, w], 2
                    if x[n, c, h + 1, w + 1] > best:
                        best, k = x[n, c, h + 1, w + 1], 3
                    if relu and not best > 0:
                        best, k = 0.0, 4
                    out[n, c, oh, ow] = best
                    index[n, c, oh, ow] = k


@njit(parallel=True, cache=True, nogil=True)
def max_pool_2x2_backward(grad_out, index, grad_x):
    n_size, c_size, oh_size, ow_size = grad_out.shape
    for n in prange(n_size):
        for c in range(c_size):
            for oh in range(oh_size):
                for ow in range(ow_size):
                    g, k = grad_out[n, c, oh, ow], index[n, c, oh, ow]
                    h, w = 2 * oh, 2 * ow
                    grad_x[n, c, h, w] = g if k == 0 else 0.0
                    grad_x[n, c, h, w + 1] = g if k == 1 else 0.0
                    grad_x[n, c, h + 1, w] = g if k == 2 else 0.0
                    grad_x[n, c, h + 1, w + 1] = g if k == 3 else 0.0


# ---------------------------------------------------------------- kernels: batch norm (training)
# x in its own memory order as (A, C, L): A the axes before the channel there, L those after (taps:
# (1, C, N*H*W); Toeplitz: (N*H, C, W)). Long L: the (A*C, L) rows, row r in channel r % C.
# Short L (Toeplitz's W = 8..24): the (A, C*L) rows, summed element-wise per block of rows, with
# the (C,) vectors repeated L times (ops/norm.py's _Planes does the same for NumPy). Partial sums in
# float64 (fastmath lets LLVM vectorise them), reduced per channel afterwards.

@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def row_sums(x, y, mean, partial):
    """partial[r] = (sum of x[r], sum of x[r] * (y[r] - mean of r's channel)) over long rows."""
    c_size = mean.size
    for r in prange(x.shape[0]):
        m = mean[r % c_size]
        s = 0.0
        sxy = 0.0
        for k in range(x.shape[1]):
            v = np.float64(x[r, k])
            s += v
            sxy += v * (y[r, k] - m)
        partial[r, 0] = s
        partial[r, 1] = sxy


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def block_sums(x, y, mean, sums, products):
    """sums[b, k] = sum of x[r, k], products[b, k] = sum of x[r, k] * (y[r, k] - mean[k]) over
    block b's rows (mean repeated per element)."""
    blocks, rows = sums.shape[0], x.shape[0]
    for b in prange(blocks):
        for r in range(b * rows // blocks, (b + 1) * rows // blocks):
            for k in range(x.shape[1]):
                v = np.float64(x[r, k])
                sums[b, k] += v
                products[b, k] += v * (y[r, k] - mean[k])


@njit(parallel=True, cache=True, nogil=True)
def row_affine(x, a, y, b, c, out):
    """out[r] = a[ch] * x[r] + b[ch] * y[r] + c[ch], ch = r % C (long rows)."""
    c_size = a.size
    for r in prange(x.shape[0]):
        ch = r % c_size
        ac, bc, cc = a[ch], b[ch], c[ch]
        for k in range(x.shape[1]):
            out[r, k] = ac * x[r, k] + bc * y[r, k] + cc


@njit(parallel=True, cache=True, nogil=True)
def tiled_affine(x, a, y, b, c, out):
    """out[r, k] = a[k] * x[r, k] + b[k] * y[r, k] + c[k] (vectors repeated per element)."""
    for r in prange(x.shape[0]):
        for k in range(x.shape[1]):
            out[r, k] = a[k] * x[r, k] + b[k] * y[r, k] + c[k]


# ---------------------------------------------------------------- kernels: SGD with momentum

@njit(parallel=True, cache=True, nogil=True)
def sgd_momentum(p, grad, buf, lr, momentum):
    """buf = momentum * buf + grad; p -= lr * buf (flat float32 arrays)."""
    for i in prange(p.size):
        buf[i] = momentum * buf[i] + grad[i]
        p[i] -= lr * buf[i]


# ---------------------------------------------------------------- the ops around the kernels

def empty_in_layout(shape: tuple, order: tuple, dtype) -> np.ndarray:
    """An uninitialised NCHW-shaped array whose memory runs in `order` (as the conv's outputs)."""
    memory = np.empty(tuple(shape[axis] for axis in order), dtype)
    return memory.transpose(np.argsort(order))


def memory_order(x: np.ndarray) -> tuple:
    return tuple(sorted(range(x.ndim), key=lambda axis: -x.strides[axis]))


def pool_forward(x: np.ndarray, relu: bool) -> tuple:
    n, c, h, w = x.shape
    order = memory_order(x)
    out = empty_in_layout((n, c, h // 2, w // 2), order, x.dtype)
    index = empty_in_layout(out.shape, order, np.uint8)
    max_pool_2x2(x, out, index, relu)
    return out, index


def pool_backward(grad_out: np.ndarray, index: np.ndarray, x_shape: tuple, order: tuple):
    grad_x = empty_in_layout(x_shape, order, grad_out.dtype)  # every element written (even H, W)
    max_pool_2x2_backward(grad_out, index, grad_x)
    return grad_x


class ChannelRows:
    """x (N, C, H, W) as the rows of its memory described above, and back."""

    def __init__(self, x: np.ndarray) -> None:
        self.order = memory_order(x)
        self.memory_shape = tuple(x.shape[axis] for axis in self.order)
        self.channels = x.shape[1]
        self.inner = int(np.prod(self.memory_shape[self.order.index(1) + 1:]))
        self.tiled = self.inner < 64
        self.blocks = 32  # partial sums per block of rows (tiled): a few per thread

    def rows(self, a: np.ndarray) -> np.ndarray:
        """A view for arrays in x's layout (a copy for any other)."""
        memory = np.ascontiguousarray(a.transpose(self.order))
        return memory.reshape(-1, self.channels * self.inner if self.tiled else self.inner)

    def restore(self, rows: np.ndarray) -> np.ndarray:
        return rows.reshape(self.memory_shape).transpose(np.argsort(self.order))

    def vector(self, v: np.ndarray) -> np.ndarray:
        return np.repeat(v, self.inner).astype(np.float32) if self.tiled else v.astype(np.float32)

    def sums(self, x: np.ndarray, y: np.ndarray, mean: np.ndarray) -> tuple:
        """Per channel: sum of x and sum of x * (y - mean). The reduction over the partial sums
        is the cross-sample (and, with the batch split, the cross-slice) one."""
        if self.tiled:
            sums, products = np.zeros((2, self.blocks, x.shape[1]))
            block_sums(x, y, self.vector(mean), sums, products)
            total = np.stack([sums.sum(axis=0), products.sum(axis=0)], axis=1)
            total = total.reshape(self.channels, self.inner, 2).sum(axis=1)
        else:
            partial = np.empty((x.shape[0], 2))
            row_sums(x, y, self.vector(mean), partial)
            total = partial.reshape(-1, self.channels, 2).sum(axis=0)
        return total[:, 0], total[:, 1]

    def affine(self, x: np.ndarray, a, y: np.ndarray, b, c) -> np.ndarray:
        """a * x + b * y + c per channel, as rows."""
        out = np.empty_like(x)
        kernel = tiled_affine if self.tiled else row_affine
        kernel(x, self.vector(a), y, self.vector(b), self.vector(c), out)
        return out


def bn_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple:
    planes = ChannelRows(x)
    rows = planes.rows(x)
    count = x.size // x.shape[1]
    zero = np.zeros(x.shape[1])
    total, total_sq = planes.sums(rows, rows, zero)  # sum of x, sum of x * x
    mean = total / count
    var = np.maximum(total_sq / count - mean * mean, 0.0)
    inv_std = 1.0 / np.sqrt(var + EPS)
    scale = inv_std * weight
    out = planes.affine(rows, scale, rows, zero, bias - mean * scale)
    return planes.restore(out), (planes, rows, mean, inv_std, count)


def bn_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple) -> tuple:
    planes, rows, mean, inv_std, count = saved
    g = planes.rows(grad_out)
    sum_g, sum_gc = planes.sums(g, rows, mean)
    # grad_x = w inv_std (g - sum_g / count - (x - mean) inv_std^2 sum_gc / count)
    a = weight * inv_std
    b = -a * inv_std * inv_std * sum_gc / count
    grad_x = planes.affine(g, a, rows, b, -a * sum_g / count - b * mean)
    return (planes.restore(grad_x), (sum_gc * inv_std).astype(np.float32),
            sum_g.astype(np.float32))


# ---------------------------------------------------------------- cases: NumPy side and numba side

def context(op: type, needs: tuple) -> object:
    ctx = op()
    ctx.needs_input_grad = needs
    return ctx


def in_layout(rng: np.random.Generator, shape: tuple, order: tuple) -> np.ndarray:
    memory = rng.standard_normal(tuple(shape[axis] for axis in order), dtype=np.float32)
    return memory.transpose(np.argsort(order))


def pool_case(shape: tuple, order: tuple, relu: bool):
    rng = np.random.default_rng(0)
    x = in_layout(rng, shape, order)
    if not relu:  # the pool's input is a ReLU's output: a quarter of the windows all zero
        x = np.maximum(x, 0)
    g = in_layout(rng, (shape[0], shape[1], shape[2] // 2, shape[3] // 2), order)

    def numpy_step() -> tuple:
        pool = context(MaxPool2d, (True,))
        if relu:
            act = context(ReLU, (True,))
            out = MaxPool2d.forward(pool, ReLU.forward(act, x), 2)
            return out, ReLU.backward(act, MaxPool2d.backward(pool, g))
        out = MaxPool2d.forward(pool, x, 2)
        return out, MaxPool2d.backward(pool, g)

    def numba_step() -> tuple:
        out, index = pool_forward(x, relu)
        return out, pool_backward(g, index, x.shape, order)
    return numpy_step, numba_step


def bn_case(shape: tuple, order: tuple):
    rng = np.random.default_rng(0)
    x = in_layout(rng, shape, order) * 2 + 0.5
    g = in_layout(rng, shape, order)
    weight = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
    bias = rng.standard_normal(shape[1]).astype(np.float32)

    def numpy_step() -> tuple:
        ctx = context(BatchNorm, (True, True, True))
        running = np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32)
        out = BatchNorm.forward(ctx, x, weight, bias, running_mean=running[0],
                                running_var=running[1], training=True, momentum=MOMENTUM,
                                eps=EPS, has_weight=True, has_bias=True)
        return (out,) + tuple(BatchNorm.backward(ctx, g))

    def numba_step() -> tuple:
        out, saved = bn_forward(x, weight, bias)
        return (out,) + bn_backward(g, weight, saved)
    return numpy_step, numba_step


def sgd_case(flat: bool):
    """Two LeNets with equal parameters and gradients; each step updates one in place."""
    def build() -> tuple:
        tg.manual_seed(0)
        model = mnist.lenet()
        params = list(model.parameters())
        rng = np.random.default_rng(1)
        for p in params:
            p.grad = tg.Tensor(rng.standard_normal(p.shape, dtype=np.float32))
        return params
    ours, theirs = build(), build()
    opt = optim.SGD(ours, lr=0.01, momentum=0.9)
    opt.step()  # the first step copies grad into the momentum buffer (PyTorch's rule)
    flats = [(p.data.reshape(-1), p.grad.data.reshape(-1), p.grad.data.reshape(-1).copy())
             for p in theirs]
    for p, grad, _ in flats:
        p -= np.float32(0.01) * grad
    size = sum(p.data.size for p in theirs)
    flat_p, flat_g, flat_buf = (np.concatenate([f[i] for f in flats]) for i in range(3))
    assert flat_p.size == size

    def numpy_step() -> tuple:
        opt.step()
        return tuple(p.data for p in ours)

    def numba_step() -> tuple:
        if flat:
            sgd_momentum(flat_p, flat_g, flat_buf, np.float32(0.01), np.float32(0.9))
            return tuple(np.split(flat_p, np.cumsum([p.data.size for p in theirs])[:-1]))
        for p, grad, buf in flats:
            sgd_momentum(p, grad, buf, np.float32(0.01), np.float32(0.9))
        return tuple(p.data.reshape(-1) for p in theirs)
    return numpy_step, numba_step


def all_cases() -> dict:
    cases = {}
    for name, (shape, order) in POOL_CASES.items():
        cases[f"pool_{name}"] = lambda s=shape, o=order: pool_case(s, o, relu=False)
        cases[f"relu_pool_{name}"] = lambda s=shape, o=order: pool_case(s, o, relu=True)
    for name, (shape, order) in BN_CASES.items():
        cases[f"bn_{name}"] = lambda s=shape, o=order: bn_case(s, o)
    cases["sgd_lenet"] = lambda: sgd_case(flat=False)
    cases["sgd_lenet_flat"] = lambda: sgd_case(flat=True)
    return cases


# ---------------------------------------------------------------- whole steps with the kernels in
# LeNet and `best` as models/mnist.py builds them, with each ReLU + 2x2 max-pool pair replaced by
# one fused op and (best) each BatchNorm2d in training by the numba one; convs, Linear, BatchNorm1d,
# cross-entropy and SGD stay NumPy. Same initial parameters (tg.manual_seed(0), same layer order).

class ReluMaxPool2x2(Function):
    """out = max(0, max of each 2x2 window); grad_x = g at the window's first maximum if that
    maximum is > 0, else 0. ReLU then 2x2 max-pool, one numba kernel each way (benchmark only)."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        out, ctx.index = pool_forward(x, relu=True)
        ctx.x_shape, ctx.order = x.shape, memory_order(x)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return pool_backward(grad_out, ctx.index, ctx.x_shape, ctx.order)


class TrainBatchNorm2d(Function):
    """Batch norm with the batch's statistics (ops/norm.py's BatchNorm in training), numba
    kernels both ways; the running statistics are not updated (benchmark only)."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray):
        out, ctx.stats = bn_forward(x, weight, bias)
        ctx.weight = weight
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return bn_backward(grad_out, ctx.weight, ctx.stats)


class FusedReluPool(nn.Module):
    def forward(self, x):
        return ReluMaxPool2x2.apply(x)


class NumbaBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x):
        return TrainBatchNorm2d.apply(x, self.weight, self.bias)


def lenet_numba() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), FusedReluPool(), nn.Conv2d(6, 16, 5), FusedReluPool(), nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def best_numba() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2, bias=False), NumbaBatchNorm2d(16), FusedReluPool(),
        nn.Conv2d(16, 32, 5, bias=False), NumbaBatchNorm2d(32), FusedReluPool(),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


STEP_MODELS = {("lenet", "numpy"): mnist.lenet, ("lenet", "numba"): lenet_numba,
               ("best", "numpy"): mnist.best_model, ("best", "numba"): best_numba}
# (implementation, numba threads, BLAS threads)
STEP_CONFIGS = (("numpy", 1, 1), ("numba", 1, 1), ("numpy", 1, 2), ("numba", 2, 2), ("numba", 2, 1),
                ("numpy-split", 1, 1), ("numba-split", 1, 1))


def step_batch(size: int) -> tuple:
    """user_loop.py's batch: random images and labels from seed 0."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((size, 1, 28, 28), dtype=np.float32)
    return x, rng.integers(0, 10, size=size)


def build_step(model_name: str, impl: str):
    """One SGD-momentum step, as user_loop.py; '-split' runs half the batch on a second thread
    (batch_split.py's split: a twin sharing the parameters' arrays, gradients added by hand)."""
    def build() -> nn.Module:
        tg.manual_seed(0)
        return STEP_MODELS[(model_name, impl.split("-")[0])]()
    model = build()
    params = list(model.parameters())
    opt = optim.SGD(params, lr=0.01, momentum=0.9)
    x, y = step_batch(128)

    def forward_backward(net, images, labels) -> None:
        net.zero_grad()
        tg.ops.cross_entropy(net(images), labels).backward()
    if not impl.endswith("split"):
        whole = tg.Tensor(x), tg.Tensor(y, dtype=None)

        def step() -> None:
            forward_backward(model, *whole)
            opt.step()
        return step, model
    twin = build()
    twin_params = list(twin.parameters())
    for p, q in zip(params, twin_params):
        q.data = p.data
    first = tg.Tensor(x[:64]), tg.Tensor(y[:64], dtype=None)
    second = tg.Tensor(x[64:]), tg.Tensor(y[64:], dtype=None)
    pool = ThreadPoolExecutor(max_workers=1)

    def split_step() -> None:
        other = pool.submit(forward_backward, twin, *second)
        forward_backward(model, *first)
        other.result()
        for p, q in zip(params, twin_params):
            np.add(p.grad.data, q.grad.data, out=p.grad.data)
            p.grad.data *= 0.5
        opt.step()
    return split_step, model


def check_steps() -> None:
    """One step of each numba model against models/mnist.py's: the same gradients."""
    for name in ("lenet", "best"):
        grads = []
        for impl in ("numpy", "numba"):
            step, model = build_step(name, impl)
            step()
            grads.append([p.grad.data for p in model.parameters()])
        for e, a in zip(*grads):
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * float(np.abs(e).max()))
        print(f"{name} step: the numba model's gradients equal models/mnist.py's")


def time_step(model_name: str, impl: str, iters: int) -> dict:
    step, _ = build_step(model_name, impl)
    t0 = time.perf_counter()
    step()
    first_s = time.perf_counter() - t0
    for _ in range(10):
        step()
    wall = []
    c0 = time.process_time()
    for _ in range(iters):
        w0 = time.perf_counter()
        step()
        wall.append((time.perf_counter() - w0) * 1e3)
    return {"first_s": first_s, "wall_ms": statistics.median(wall),
            "cpu_ms": (time.process_time() - c0) * 1e3 / iters}


# ---------------------------------------------------------------- check, worker, driver

def check(names: list) -> None:
    cases = all_cases()
    for name in names:
        numpy_step, numba_step = cases[name]()
        for _ in range(3):  # sgd: three momentum steps from the same state on both sides
            expected, got = numpy_step(), numba_step()
        for e, a in zip(expected, got):
            # batch norm's parameter gradients are sums over 10^5 elements: NumPy's float32 sums
            # are off by up to 4e-6 of the largest (the float64 ones here by 5e-8)
            tol = 2e-5 * max(1.0, float(np.abs(e).max())) if name.startswith("bn") else 1e-6
            np.testing.assert_allclose(a.reshape(np.shape(e)), e, rtol=tol, atol=tol)
        print(f"{name}: equal to the NumPy op ({len(expected)} arrays)")


def time_worker(names: list, impl: str, seconds: float) -> dict:
    cases, results = all_cases(), {"numba_import_s": NUMBA_IMPORT_S}
    for name in names:
        fn = cases[name]()[0 if impl == "numpy" else 1]
        t0 = time.perf_counter()
        fn()
        first_s = time.perf_counter() - t0
        for _ in range(5):
            fn()
        t0 = time.perf_counter()
        fn()
        iters = max(20, int(seconds / max(time.perf_counter() - t0, 1e-6)))
        wall = []
        # CPU time as the loop's total: a running worker thread's time reaches the process
        # clock only at scheduler ticks, so per-call CPU medians would count the main thread only
        c0 = time.process_time()
        for _ in range(iters):
            w0 = time.perf_counter()
            fn()
            wall.append((time.perf_counter() - w0) * 1e3)
        cpu_ms = (time.process_time() - c0) * 1e3 / iters
        results[name] = {"first_s": first_s, "wall_ms": statistics.median(wall),
                         "cpu_ms": cpu_ms, "iters": iters}
    return results


def run_worker(impl: str, threads: int, blas: int, extra: list, cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    cmd = [sys.executable, __file__, "--worker", impl, "--threads", str(threads),
           "--blas-threads", str(blas), *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def label(impl: str, threads: int, blas: int) -> str:
    return f"{impl} {threads}, BLAS {blas}"


def drive(configs: tuple, extra: list, rounds: int, compile_first: bool) -> dict:
    """Each configuration in its own process, the order rotated every round; a first run with
    an empty numba cache records the compile times."""
    cache = tempfile.mkdtemp(prefix="numba_cache_issue19_")
    runs: dict = {label(*config): [] for config in configs}
    loads = [load()]
    compile_run = run_worker("numba", 1, 1, extra, cache) if compile_first else None
    for r in range(rounds):
        for config in configs[r % len(configs):] + configs[:r % len(configs)]:
            idle = wait_quiet(ARGS.min_idle, ARGS.patience)
            run = run_worker(*config, extra, cache)
            runs[label(*config)].append(dict(run, idle_before=idle))
        loads.append(load())
        print(f"round {r + 1}/{rounds}: {loads[-1]}", file=sys.stderr)
    return {"compile_run": compile_run, "runs": runs, "loads": loads}


def print_conditions(result: dict) -> None:
    idles = sorted(run["idle_before"] for value in result["runs"].values() for run in value)
    print(f"\nidle share of the CPUs just before each run: {idles[0]:.2f} .. {idles[-1]:.2f} "
          f"(median {statistics.median(idles):.2f}); load: {result['loads'][0]} -> "
          f"{result['loads'][-1]}")


def summarise_steps(result: dict) -> None:
    runs = result["runs"]
    base = statistics.median(run["wall_ms"] for run in runs[NUMPY])
    print(f"| {ARGS.step} step, batch 128 | wall ms (median of rounds) | rounds, sorted | CPU ms "
          f"| speed-up vs NumPy, 1 thread |")
    print("|---|---:|---|---:|---:|")
    for key, value in runs.items():
        wall = sorted(run["wall_ms"] for run in value)
        cpu = statistics.median(run["cpu_ms"] for run in value)
        print(f"| {key} | {statistics.median(wall):.2f} | {' '.join(f'{t:.1f}' for t in wall)} "
              f"| {cpu:.2f} | x{base / statistics.median(wall):.2f} |")
    print_conditions(result)


NUMPY, NUMBA1, NUMBA2 = (label(*config) for config in CONFIGS)


def summarise(result: dict, names: list) -> None:
    runs, compile_run = result["runs"], result["compile_run"]
    print("| case | NumPy wall | numba 1 wall | numba 2 wall | NumPy CPU | numba 1 CPU | numba 2 "
          "CPU | NumPy / numba 2 (wall) | compile s | cached load s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        med = {key: {clock: statistics.median(run[name][clock] for run in value)
                     for clock in ("wall_ms", "cpu_ms")} for key, value in runs.items()}
        cached = statistics.median(run[name]["first_s"] for run in runs[NUMBA1])
        print(f"| {name} | {med[NUMPY]['wall_ms']:.3f} | {med[NUMBA1]['wall_ms']:.3f} | "
              f"{med[NUMBA2]['wall_ms']:.3f} | {med[NUMPY]['cpu_ms']:.3f} | "
              f"{med[NUMBA1]['cpu_ms']:.3f} | {med[NUMBA2]['cpu_ms']:.3f} | "
              f"{med[NUMPY]['wall_ms'] / med[NUMBA2]['wall_ms']:.2f} | "
              f"{compile_run[name]['first_s']:.2f} | {cached:.3f} |")
    imports = [run["numba_import_s"] for run in runs[NUMBA1]]
    print(f"\n`import numba`: {statistics.median(imports):.3f} s (median)")
    print_conditions(result)


def main() -> None:
    names = ARGS.cases or list(all_cases())
    if ARGS.check:
        check(names)
        check_steps()
    elif ARGS.worker is not None and ARGS.step:
        print(json.dumps(time_step(ARGS.step, ARGS.worker, ARGS.iters)))
    elif ARGS.worker is not None:
        print(json.dumps(time_worker(names, ARGS.worker, ARGS.seconds)))
    elif ARGS.step:
        extra = ["--step", ARGS.step, "--iters", str(ARGS.iters)]
        result = drive(STEP_CONFIGS, extra, ARGS.rounds, compile_first=False)
        summarise_steps(result)
    else:
        extra = ["--seconds", str(ARGS.seconds), "--cases", *names]
        result = drive(CONFIGS, extra, ARGS.rounds, compile_first=True)
        summarise(result, names)
    if ARGS.json and ARGS.worker is None and not ARGS.check:
        Path(ARGS.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
