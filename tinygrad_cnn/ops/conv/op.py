"""The conv ops: Conv2d, GroupedConv2d, their gradients as ops of their own (ConvTransposeInput,
ConvWeightGrad), and `auto`'s choice among the algorithms.

The gradient ops close the loop that makes n-th derivatives work: conv's input gradient is a
transposed convolution of g with the weight, its weight gradient a correlation of x with g, and
the gradients of those two are again conv2d and each other. Each runs the algorithm's own fast
kernel forward; a first-order backward never builds them (it calls the kernels directly), only
`backward(create_graph=True)` does. They live in one module because their backwards call each
other."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import Function, Node
from . import im2col, naive, toeplitz
from .geometry import ConvGeometry, conv_geometry
from .grouped import group_slice, grouped_geometry


def _hybrid_backward(grad_out: np.ndarray, weight: np.ndarray, saved: tuple, geom: ConvGeometry,
                     needs: tuple[bool, ...]) -> tuple:
    """`hybrid`: grad_x by Toeplitz (it needs only g and the weight), grad_w and grad_b by im2col
    on the windows the im2col forward saved."""
    grad_x = toeplitz.backward(grad_out, weight, (None,), geom, (True, False))[0] if needs[0] \
        else None
    rest = im2col.im2col_backward(grad_out, weight, saved, geom, (False, *needs[1:]))[1:]
    return (grad_x, *rest)


# name -> (forward, backward); each keeps the layout contract of the package docstring
ALGORITHMS = {
    "naive": (naive.forward, naive.backward),
    "im2col": (im2col.im2col_forward, im2col.im2col_backward),
    "taps": (im2col.taps_forward, im2col.taps_backward),
    "toeplitz": (toeplitz.forward, toeplitz.backward),
    "hybrid": (im2col.im2col_forward, _hybrid_backward),
}
# name -> what its forward saves of x for grad_w, from x alone (ConvWeightGrad's input)
PREPARE = {"naive": naive.prepare, "im2col": im2col.im2col_prepare,
           "taps": im2col.taps_prepare, "toeplitz": toeplitz.prepare,
           "hybrid": im2col.im2col_prepare}

# Row-Toeplitz multiplies waste = Wp / KW times im2col's work but in BLAS-friendly shapes; the
# im2col family does no wasted work and wins once C_out is wide, and of that family `taps` beat
# `im2col` on every shape measured (docs/benchmarks.md, "Per-layer algorithms").
TOEPLITZ_MAX_WASTE_X_COUT = 96
TOEPLITZ_MAX_BAND = 1 << 22  # entries of the band matrix (16 MB in float32)
# Below this many im2col entries (2 MB of float32) the tap copies stay in cache and Toeplitz's
# wasted multiply-adds dominate (the seed model's conv; docs/benchmarks.md has the steps), unless
# the band wastes little: then Toeplitz's KH line copies beat KH*KW tap copies even here (5x5
# kernels on 8+ channels, "Small problems" in docs/benchmarks.md).
TAPS_SMALL_COLS = 1 << 19
SMALL_TOEPLITZ_MAX_WASTE = 4
SMALL_TOEPLITZ_MAX_WASTE_X_COUT = 64
# Where Toeplitz is chosen on a problem that is not small, im2col's forward and grad_w beat the
# band's once a window (C_in*KH*KW values) is this long; so does its grad_x when its col2im runs
# compiled, else Toeplitz's grad_x is the fastest: `im2col`, else `hybrid`, which runs each pass by
# its faster algorithm (`best`'s conv2; docs/benchmarks.md, "Issue 19, round 3").
HYBRID_MIN_WINDOW = 200


# ----- the conv ops ------------------------------------------------------------------------------
class Conv2d(Function):
    """out[n, o] = bias[o] + sum over c, kh, kw of weight[o, c, kh, kw] * x[n, c, window]
    (cross-correlation); grad_x = full conv of g with the weight, grad_w = g (*) x, grad_b = sum g.
    x (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out,) -> (N, C_out, OH, OW).
    `ctx.algorithm` (and the op's name, e.g. 'Conv2d[toeplitz]') records the algorithm that ran."""
    rule = "grad_x = full conv of g with the weight, grad_w = g (*) x, grad_b = sum g"
    graph_backward = True

    algorithm = "auto"
    groups = 1

    @property
    def name(self) -> str:
        return f"Conv2d[{self.algorithm}]"

    def flops(self, out: np.ndarray) -> int:
        weight = self.parents[1]
        bias = out.size if len(self.parents) > 2 else 0
        return 2 * out.size * int(np.prod(weight.shape[1:])) + bias

    def backward_flops(self, forward_flops: int, input_grads: tuple) -> int:
        # the bias gradient is a cheap sum, not another product
        return forward_flops * sum(g is not None for g in input_grads[:2])

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                algorithm: str = "auto") -> np.ndarray:
        geom = conv_geometry(x.shape, weight.shape, stride, padding, dilation)
        if bias is not None and bias.shape != (geom.C_out,):
            raise ValueError(f"conv2d: bias has shape {bias.shape}, expected ({geom.C_out},) "
                             f"for weight {weight.shape}")
        ctx.algorithm = resolve_algorithm(algorithm, geom)
        ctx.geom = geom
        forward_fn = ALGORITHMS[ctx.algorithm][0]
        out, saved = forward_fn(x, weight, bias, geom, need_w=ctx.needs_input_grad[1])
        ctx.save_for_backward(weight, *saved)
        return out

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):  # create_graph: the gradients as ops
            return graph_grads(ctx, grad_out)
        weight, *saved = ctx.saved_tensors
        backward_fn = ALGORITHMS[ctx.algorithm][1]
        grads = backward_fn(grad_out, weight, tuple(saved), ctx.geom, ctx.needs_input_grad)
        return grads[:len(ctx.needs_input_grad)]  # (grad_x, grad_w) when there is no bias


class GroupedConv2d(Function):
    """out[:, group k] = conv2d(x[:, group k], weight[group k]) + bias[group k] for k < groups;
    grad_x, grad_w, grad_b are conv2d's, group by group. x (N, C_in, H, W), weight
    (C_out, C_in / groups, KH, KW), bias (C_out,) -> (N, C_out, OH, OW). The chosen algorithm
    runs once per group (`ctx.geom` is one group's), so every algorithm supports groups."""

    algorithm = "auto"
    rule = "grad_x, grad_w, grad_b are conv2d's, group by group"
    flops = Conv2d.flops  # weight holds C_in / groups channels: the same count holds
    backward_flops = Conv2d.backward_flops
    graph_backward = True

    @property
    def name(self) -> str:
        return f"GroupedConv2d[{self.algorithm}]"

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                algorithm: str = "auto") -> np.ndarray:
        geom = grouped_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d: bias has shape {bias.shape}, expected ({weight.shape[0]},) "
                             f"for weight {weight.shape}")
        ctx.algorithm = resolve_algorithm(algorithm, geom)
        ctx.geom, ctx.groups = geom, groups
        forward_fn = ALGORITHMS[ctx.algorithm][0]
        outs, saved = [], []
        for k in range(groups):
            b_k = None if bias is None else bias[group_slice(k, geom.C_out)]
            out_k, saved_k = forward_fn(x[:, group_slice(k, geom.C_in)],
                                        weight[group_slice(k, geom.C_out)], b_k, geom,
                                        need_w=ctx.needs_input_grad[1])
            outs.append(out_k)
            saved.append(saved_k)
        ctx.save_for_backward(weight, *saved)
        return np.concatenate(outs, axis=1)

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        if isinstance(grad_out, Node):  # create_graph: the gradients as ops
            return graph_grads(ctx, grad_out)
        weight, *saved = ctx.saved_tensors
        geom, needs = ctx.geom, ctx.needs_input_grad
        backward_fn = ALGORITHMS[ctx.algorithm][1]
        per_group = [backward_fn(grad_out[:, group_slice(k, geom.C_out)],
                                 weight[group_slice(k, geom.C_out)], saved[k], geom, needs)
                     for k in range(ctx.groups)]
        grads = []
        for i, need in enumerate(needs):  # grad_x joins on channels, grad_w and grad_b on axis 0
            parts = [group_grads[i] for group_grads in per_group]
            grads.append(np.concatenate(parts, axis=1 if i == 0 else 0) if need else None)
        return tuple(grads)


def graph_grads(ctx: Function, grad_out: Node) -> tuple:
    """A conv's gradients as recorded ops (create_graph), read from the op's own inputs: what
    forward saved may be x in another memory layout, which is no graph node."""
    x, weight = ctx.parents[:2]
    needs = ctx.needs_input_grad
    grad_x = _transpose(grad_out, weight, ctx) if needs[0] else None
    grad_w = _weight_grad(x, grad_out, ctx) if needs[1] else None
    if len(needs) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, grad_out.sum((0, 2, 3)) if needs[2] else None


# ----- the gradients as ops ----------------------------------------------------------------------
class ConvTransposeInput(Function):
    """out = conv2d's grad_x: g transposed-convolved with weight;  grad_g = conv2d(gg, weight),
    grad_w = ConvWeightGrad(gg, g). g (N, C_out, OH, OW), weight (C_out, C_in / groups, KH, KW)
    -> (N, C_in, H, W), in the geometry (`geom`, one group's), algorithm and groups of the conv."""
    rule = "grad_g = conv2d(gg, weight), grad_w = ConvWeightGrad(gg, g)"
    graph_backward = True
    algorithm = "auto"

    @property
    def name(self) -> str:
        return f"ConvTransposeInput[{self.algorithm}]"

    def flops(self, out: np.ndarray) -> int:
        grad_out, weight = self.parents
        return 2 * grad_out.data.size * int(np.prod(weight.shape[1:]))

    @staticmethod
    def forward(ctx: Function, grad_out: np.ndarray, weight: np.ndarray, geom: ConvGeometry,
                algorithm: str, groups: int = 1) -> np.ndarray:
        ctx.geom, ctx.algorithm, ctx.groups = geom, algorithm, groups
        ctx.save_for_backward(grad_out, weight)
        return transpose_kernel(grad_out, weight, geom, algorithm, groups)

    @staticmethod
    def backward(ctx: Function, grad_grad: np.ndarray) -> tuple:
        grad_out, weight = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        return (_conv(grad_grad, weight, ctx) if need_g else None,
                _weight_grad(grad_grad, grad_out, ctx) if need_w else None)


class ConvWeightGrad(Function):
    """out = conv2d's grad_w: the correlation of x with g;  grad_x = ConvTransposeInput(g, gg),
    grad_g = conv2d(x, gg). x (N, C_in, H, W), g (N, C_out, OH, OW) -> (C_out, C_in / groups,
    KH, KW), in the geometry (`geom`, one group's), algorithm and groups of the conv."""
    rule = "grad_x = ConvTransposeInput(g, gg), grad_g = conv2d(x, gg)"
    graph_backward = True
    algorithm = "auto"

    @property
    def name(self) -> str:
        return f"ConvWeightGrad[{self.algorithm}]"

    def flops(self, out: np.ndarray) -> int:
        return 2 * self.parents[1].data.size * int(np.prod(out.shape[1:]))

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, grad_out: np.ndarray, geom: ConvGeometry,
                algorithm: str, groups: int = 1) -> np.ndarray:
        ctx.geom, ctx.algorithm, ctx.groups = geom, algorithm, groups
        ctx.save_for_backward(x, grad_out)
        return weight_grad_kernel(x, grad_out, geom, algorithm, groups)

    @staticmethod
    def backward(ctx: Function, grad_grad: np.ndarray) -> tuple:
        x, grad_out = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        return (_transpose(grad_out, grad_grad, ctx) if need_x else None,
                _conv(x, grad_grad, ctx) if need_g else None)


# Each of conv, its transpose and its weight gradient in ctx's geometry: the recorded op on graph
# nodes (a backward under create_graph), the bare kernel on arrays (a first-order backward).
def _conv(x: Any, weight: Any, ctx: Function) -> Any:
    if not isinstance(x, Node):
        return conv_kernel(x, weight, ctx.geom, ctx.algorithm, ctx.groups)
    geom = ctx.geom
    params = dict(stride=geom.stride, padding=geom.padding, dilation=geom.dilation,
                  algorithm=ctx.algorithm)
    if ctx.groups == 1:
        return Conv2d.apply(x, weight, **params)
    return GroupedConv2d.apply(x, weight, groups=ctx.groups, **params)


def _transpose(grad_out: Any, weight: Any, ctx: Function) -> Any:
    if not isinstance(grad_out, Node):
        return transpose_kernel(grad_out, weight, ctx.geom, ctx.algorithm, ctx.groups)
    return ConvTransposeInput.apply(grad_out, weight, geom=ctx.geom, algorithm=ctx.algorithm,
                                    groups=ctx.groups)


def _weight_grad(x: Any, grad_out: Any, ctx: Function) -> Any:
    if not isinstance(x, Node):
        return weight_grad_kernel(x, grad_out, ctx.geom, ctx.algorithm, ctx.groups)
    return ConvWeightGrad.apply(x, grad_out, geom=ctx.geom, algorithm=ctx.algorithm,
                                groups=ctx.groups)


# ----- the kernels on arrays, group by group (`geom` is one group's) ----------------------------
def conv_kernel(x: np.ndarray, weight: np.ndarray, geom: ConvGeometry, algorithm: str,
                groups: int) -> np.ndarray:
    """conv2d(x, weight) without bias, by the algorithm's forward."""
    forward_fn = ALGORITHMS[algorithm][0]
    parts = [forward_fn(x[:, group_slice(k, geom.C_in)], weight[group_slice(k, geom.C_out)],
                        None, geom, need_w=False)[0] for k in range(groups)]
    return parts[0] if groups == 1 else np.concatenate(parts, axis=1)


def transpose_kernel(grad_out: np.ndarray, weight: np.ndarray, geom: ConvGeometry,
                     algorithm: str, groups: int) -> np.ndarray:
    """conv2d's grad_x for grad_out, by the algorithm's backward (it needs no saved input)."""
    backward_fn = ALGORITHMS[algorithm][1]
    parts = [backward_fn(grad_out[:, group_slice(k, geom.C_out)],
                         weight[group_slice(k, geom.C_out)], (None,), geom, (True, False))[0]
             for k in range(groups)]
    return parts[0] if groups == 1 else np.concatenate(parts, axis=1)


def weight_grad_kernel(x: np.ndarray, grad_out: np.ndarray, geom: ConvGeometry, algorithm: str,
                       groups: int) -> np.ndarray:
    """conv2d's grad_w, by the algorithm's backward on x prepared as its forward saves it."""
    backward_fn, prepare = ALGORITHMS[algorithm][1], PREPARE[algorithm]
    parts = [backward_fn(grad_out[:, group_slice(k, geom.C_out)], None,
                         prepare(x[:, group_slice(k, geom.C_in)], geom), geom, (False, True))[1]
             for k in range(groups)]
    return parts[0] if groups == 1 else np.concatenate(parts, axis=0)


# ----- the choice of algorithm ----------------------------------------------------------------
def choose_algorithm(geom: ConvGeometry) -> str:
    """'toeplitz' for narrow layers on small images (LeNet's), with a stricter limit on the
    band's waste for small problems, and among those that are not small, when a window is long,
    'im2col' with the compiled tier on (float32 assumed: the models' dtype), 'hybrid' without;
    else 'taps'."""
    wp = geom.W + 2 * geom.padding[1]
    waste = wp / geom.KW
    band = geom.KH * wp * geom.C_in * geom.OW * geom.C_out
    if geom.C_in * geom.KH * geom.KW * geom.N * geom.OH * geom.OW <= TAPS_SMALL_COLS:
        narrow = (waste <= SMALL_TOEPLITZ_MAX_WASTE
                  and waste * geom.C_out <= SMALL_TOEPLITZ_MAX_WASTE_X_COUT)
    else:
        narrow = waste * geom.C_out <= TOEPLITZ_MAX_WASTE_X_COUT
        if narrow and band <= TOEPLITZ_MAX_BAND and \
                geom.C_in * geom.KH * geom.KW >= HYBRID_MIN_WINDOW:
            return "im2col" if im2col.compiled_col2im(np.dtype(np.float32)) else "hybrid"
    return "toeplitz" if narrow and band <= TOEPLITZ_MAX_BAND else "taps"


def resolve_algorithm(algorithm: str, geom: ConvGeometry) -> str:
    """The algorithm to run: `auto`'s choice for this geometry, or the one named (ValueError
    listing them when it names none)."""
    if algorithm == "auto":
        return choose_algorithm(geom)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: unknown algorithm {algorithm!r}; choose one of "
                         f"{sorted(ALGORITHMS)} or 'auto'")
    return algorithm
