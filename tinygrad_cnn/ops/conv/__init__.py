"""2-D convolution: the Conv2d op, its algorithms, and the one memory layout they return.

The op and `auto`'s choice of algorithm live in `op.py`, the shape checks in `geometry.py`, the
naive reference in `naive.py`, the im2col family (row-per-pixel `im2col`, tap-major `taps`) in
`im2col.py` and the row-Toeplitz GEMM in `toeplitz.py`.

The memory-layout contract, written once here: an algorithm takes x as an NCHW-shaped array in
any memory layout, and returns its output (forward) and grad_x (backward) as NCHW-shaped arrays
in the memory it computed them in: `toeplitz` (N, H, C, W), `taps` (C, N, H, W), `im2col`
(N, H, W, C), `naive` plain NCHW. grad_w and grad_b come in any layout.

Who relies on it: no op for correctness (each reads its input through shape and strides, and
NumPy's ufuncs keep their input's memory order, so relu and pooling pass a layout on). Two for
speed: Toeplitz's input conversion is free when x already has (N, H, C, W) memory (LeNet's second
conv, after relu and pooling), and 2x2 max-pooling runs fastest over that memory. Returning
contiguous NCHW from every algorithm would cost a copy per output and gradient, measured above the
5%-of-a-LeNet-step bar set for paying it (docs/benchmarks.md, "One layout for conv outputs?").
"""

from .geometry import ConvGeometry, conv_geometry, conv_params
from .op import ALGORITHMS, Conv2d, choose_algorithm, conv2d, resolve_algorithm

__all__ = ["ALGORITHMS", "Conv2d", "ConvGeometry", "choose_algorithm", "conv2d", "conv_geometry",
           "conv_params", "resolve_algorithm"]
