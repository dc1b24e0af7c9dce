"""How far the conv kernels are from this machine's ceiling, at one 64-image slice (issue 19).

    .venv/bin/python benchmarks/conv_ceiling.py --rounds 5

At 2 threads a step is split into two 64-image slices, so no split can beat a 1-thread step on
64 images; what is left is the kernels. Prints, at BLAS 1 thread, wall ms (median of --rounds,
each the median of --repeats calls):

1. the matrix products: OpenBLAS's sgemm on 1024^3 (its ceiling here) and the GEMM each layer's
   `auto` algorithm runs (Toeplitz's band, im2col's windows), in GMAC/s;
2. the layers' forward and weight gradient by `auto`'s algorithm, against direct convolutions
   in numba (not in the package; tried for issue 19, not adopted): the output plane
   accumulated over full-width rows (`plane`: each tap one long vectorised loop), and channels
   last with the output channels innermost (`nhwc`).
Needs numba (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"

try:
    import numba
except ImportError:
    raise SystemExit("conv_ceiling.py needs numba: pip install -e '.[test]'") from None
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tinygrad_cnn.ops.conv import im2col, op, toeplitz  # noqa: E402
from tinygrad_cnn.ops.conv.geometry import conv_geometry  # noqa: E402

# name -> (x shape, weight shape, padding): one 64-image slice of each model's conv layers
LAYERS = {
    "lenet conv1": ((64, 1, 28, 28), (6, 1, 5, 5), 0),
    "lenet conv2": ((64, 6, 12, 12), (16, 6, 5, 5), 0),
    "best conv1": ((64, 1, 28, 28), (16, 1, 5, 5), 2),
    "best conv2": ((64, 16, 14, 14), (32, 16, 5, 5), 0),
}


@numba.njit(nogil=True, fastmath={"contract"})
def plane_forward(xf, weight, out, wp):  # pragma: no cover (runs compiled)
    """out[n, o, p] = sum of weight[o, c, kh, kw] * xf[n, c, p + kh * wp + kw] over full-width
    output rows p (the last KW - 1 columns of each row are cropped afterwards). The shifted
    input is a slice, not xf[..., p + s]: an index that may be negative stops numba vectorising."""
    n_size, o_size, p_size = out.shape
    c_size, kh_size, kw_size = weight.shape[1:]
    for n in range(n_size):
        for o in range(o_size):
            acc = out[n, o]
            acc[:] = 0.0
            for c in range(c_size):
                for kh in range(kh_size):
                    for kw in range(kw_size):
                        w = weight[o, c, kh, kw]
                        shifted = xf[n, c, kh * wp + kw:]
                        for p in range(p_size):
                            acc[p] += w * shifted[p]


@numba.njit(nogil=True, fastmath={"contract", "reassoc"})
def plane_grad_weight(xf, gf, grad_w, wp):  # pragma: no cover (runs compiled)
    """grad_w[o, c, kh, kw] = sum over n, p of gf[n, o, p] * xf[n, c, p + kh * wp + kw], gf the
    output gradient on full-width rows (zero in the cropped columns)."""
    n_size, o_size, p_size = gf.shape
    c_size, kh_size, kw_size = grad_w.shape[1:]
    for o in range(o_size):
        for c in range(c_size):
            for kh in range(kh_size):
                for kw in range(kw_size):
                    total = np.float32(0.0)
                    for n in range(n_size):
                        shifted = xf[n, c, kh * wp + kw:]
                        g = gf[n, o]
                        for p in range(p_size):
                            total += g[p] * shifted[p]
                    grad_w[o, c, kh, kw] = total


@numba.njit(nogil=True, fastmath={"contract"})
def nhwc_forward(x, weight, out):  # pragma: no cover (runs compiled)
    """x (N, H, W, C), weight (KH, KW, C, O), out (N, OH, OW, O): the output channels innermost."""
    n_size, oh_size, ow_size, o_size = out.shape
    kh_size, kw_size, c_size = weight.shape[:3]
    for n in range(n_size):
        for i in range(oh_size):
            for j in range(ow_size):
                acc = out[n, i, j]
                acc[:] = 0.0
                for kh in range(kh_size):
                    for kw in range(kw_size):
                        for c in range(c_size):
                            v = x[n, i + kh, j + kw, c]
                            for o in range(o_size):
                                acc[o] += v * weight[kh, kw, c, o]


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def layer_cases(x: np.ndarray, weight: np.ndarray, padding: int) -> dict:
    """name -> (callable, multiply-adds) for one layer; checks the direct kernels first."""
    geom = conv_geometry(x.shape, weight.shape, 1, padding, 1)
    algorithm = op.resolve_algorithm("auto", geom)
    forward, backward = op.ALGORITHMS[algorithm]
    out, saved = forward(x, weight, None, geom, need_w=True)
    grad_out = np.random.default_rng(1).standard_normal(out.shape, dtype=np.float32)
    hp, wp = geom.H + 2 * padding, geom.W + 2 * padding

    def flat_input() -> np.ndarray:  # (N, C, Hp * Wp + KW): padded planes, then room to shift
        xf = np.zeros((geom.N, geom.C_in, hp * wp + geom.KW), np.float32)
        planes = xf[:, :, :hp * wp].reshape(geom.N, geom.C_in, hp, wp)
        planes[:, :, padding:padding + geom.H, padding:padding + geom.W] = x
        return xf

    def plane_fwd() -> np.ndarray:
        full = np.empty((geom.N, geom.C_out, geom.OH * wp), np.float32)
        plane_forward(flat_input(), weight, full, wp)
        return full.reshape(geom.N, geom.C_out, geom.OH, wp)[..., :geom.OW]

    def plane_gw() -> np.ndarray:
        gf = np.zeros((geom.N, geom.C_out, geom.OH, wp), np.float32)
        gf[..., :geom.OW] = grad_out
        grad_w = np.empty(weight.shape, np.float32)
        plane_grad_weight(flat_input(), gf.reshape(geom.N, geom.C_out, -1), grad_w, wp)
        return grad_w

    x_nhwc = np.zeros((geom.N, hp, wp, geom.C_in), np.float32)
    x_nhwc[:, padding:padding + geom.H, padding:padding + geom.W] = x.transpose(0, 2, 3, 1)
    w_nhwc = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
    out_nhwc = np.empty((geom.N, geom.OH, geom.OW, geom.C_out), np.float32)

    grad_w_ref = backward(grad_out, weight, saved, geom, (False, True))[1]
    nhwc_forward(x_nhwc, w_nhwc, out_nhwc)
    scale = float(np.abs(out).max())
    for name, got, want in (("plane forward", plane_fwd(), out),
                            ("nhwc forward", out_nhwc.transpose(0, 3, 1, 2), out),
                            ("plane grad_w", plane_gw(), grad_w_ref)):
        err = float(np.abs(got - want).max()) / max(scale, float(np.abs(want).max()))
        if err > 1e-5:
            raise SystemExit(f"{name} disagrees with {algorithm}: relative error {err:.1e}")
    return {
        f"{algorithm} forward": lambda: forward(x, weight, None, geom, need_w=True),
        f"{algorithm} grad_w": lambda: backward(grad_out, weight, saved, geom, (False, True)),
        "plane forward": plane_fwd,
        "plane grad_w": plane_gw,
        "nhwc forward": lambda: nhwc_forward(x_nhwc, w_nhwc, out_nhwc),
    }


def gemm_cases(x: np.ndarray, weight: np.ndarray, padding: int) -> tuple:
    """The forward GEMM `auto`'s algorithm runs for this layer, its operands built once."""
    geom = conv_geometry(x.shape, weight.shape, 1, padding, 1)
    algorithm = op.resolve_algorithm("auto", geom)
    if algorithm == "toeplitz":
        a, b = toeplitz.prepare(x, geom)[0], toeplitz._band(weight, geom)
    elif algorithm in ("im2col", "hybrid"):
        a, b = im2col.im2col_prepare(x, geom)[0], im2col._weight_matrix(weight).T
    elif algorithm == "taps":
        a, b = weight.reshape(geom.C_out, -1), im2col.taps_prepare(x, geom)[0]
    else:
        return algorithm, None, 0
    return algorithm, (lambda: a @ b), a.shape[0] * a.shape[1] * b.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    for flag, value in (("--rounds", args.rounds), ("--repeats", args.repeats)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    rng = np.random.default_rng(0)
    big = rng.standard_normal((1024, 1024), dtype=np.float32)
    rows: dict[str, list[float]] = {}
    macs: dict[str, int] = {"sgemm 1024^3": 1024 ** 3}
    cases: dict[str, object] = {"sgemm 1024^3": lambda: big @ big}
    for layer, (x_shape, w_shape, padding) in LAYERS.items():
        x = rng.standard_normal(x_shape, dtype=np.float32)
        weight = rng.standard_normal(w_shape, dtype=np.float32)
        algorithm, gemm, mac = gemm_cases(x, weight, padding)
        if gemm is not None:
            cases[f"{layer}: {algorithm} GEMM"], macs[f"{layer}: {algorithm} GEMM"] = gemm, mac
        for name, fn in layer_cases(x, weight, padding).items():
            cases[f"{layer}: {name}"] = fn
    for _ in range(args.rounds):  # interleaved, so drift hits every case alike
        for name, fn in cases.items():
            rows.setdefault(name, []).append(timed(fn, args.repeats))
    print("| case (64 images, BLAS 1 thread) | median ms | GMAC/s |\n|---|---:|---:|")
    for name, times in rows.items():
        ms = statistics.median(times)
        rate = f"{macs[name] / ms / 1e6:.1f}" if name in macs else ""
        print(f"| {name} | {ms:.3f} | {rate} |")


if __name__ == "__main__":
    main()
