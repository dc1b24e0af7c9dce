"""export: a model as ONNX, by tracing. One forward pass on the example input records our autograd
graph, which is the trace: any model made of our ops exports (a custom forward, functional calls,
residual adds, reshapes, AdaptiveAvgPool2d where the input size makes it a fixed pooling).

A call of a layer with an ONNX counterpart (Conv2d, Linear, BatchNorm2d, ...) is written as that
node, named after the layer as PyTorch's exporter names it ("/conv1/Conv"); every other op in the
graph through its op writer ("/Relu", "/Add", "/Reshape"). The graph is the inference graph, as
PyTorch's exporter writes it by default: batch norm uses its running statistics and dropout is
the identity. Initializers carry our state_dict keys (`0.weight`, `1.running_mean`), the batch
dimension is dynamic ("N").
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn
from ..autograd import enable_grad, toposort
from ..fileio import atomic_write
from ..ops import (
    activation,
    compare,
    copy,
    elementwise,
    movement,
    pool,
    reduce,
)
from ..ops._args import as_pair
from ..ops.conv.op import Conv2d as ConvOp
from ..ops.matmul import Linear as LinearOp
from ..ops.matmul import MatMul
from ..tensor import Tensor
from .common import (
    INPUT,
    MIN_OPSET,
    NORMALIZATION_SCALE,
    OUTPUT,
    OnnxError,
    constant_name,
    onnx_library,
)


class _Graph:
    """Nodes and initializers of the graph being written; each node names its output after
    itself, "/<layer path>/<Op>_output_0", as PyTorch's exporter does."""

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx, self.opset, self.nodes, self.initializers = onnx, opset, [], []
        self.names: set[str] = set()

    def initializer(self, name: str, array: np.ndarray) -> str:
        """Add a constant once (a layer called twice reads its weights twice)."""
        if name not in self.names:
            self.names.add(name)
            self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def constant(self, array: Any) -> str:
        """An unnamed constant the trace needs (a scalar operand, a shape)."""
        return self.initializer(f"/Constant_{len(self.initializers)}_output_0", np.asarray(array))

    def param(self, path: str, name: str, tensor: Tensor) -> str:
        return self.initializer(f"{path}.{name}" if path else name, tensor.data)

    def node(self, op_type: str, inputs: list[str], path: str, **attrs: Any) -> str:
        name = f"/{path}/{op_type}" if path else f"/{op_type}"
        taken = sum(n.name.startswith(name) for n in self.nodes)
        name += f"_{taken}" if taken else ""
        output = f"{name}_output_0"
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=name,
                                                     **attrs))
        return output


def _pads(padding: Any) -> list[int]:
    ph, pw = as_pair(padding, "padding")
    return [ph, pw, ph, pw]  # ONNX: begins of every axis, then ends


def _conv(m: nn.Conv2d, path: str, x: str, shape: tuple, g: _Graph) -> str:
    inputs = [x, g.param(path, "weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.param(path, "bias", m.bias))
    return g.node("Conv", inputs, path, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=_pads(m.padding), dilations=list(m.dilation), group=m.groups)


def _linear(m: nn.Linear, path: str, x: str, shape: tuple, g: _Graph) -> str:
    weight = g.param(path, "weight", m.weight)
    bias = [] if m.bias is None else [g.param(path, "bias", m.bias)]
    if len(shape) == 2:  # PyTorch's choice for (N, in) inputs
        return g.node("Gemm", [x, weight, *bias], path, alpha=1.0, beta=1.0, transB=1)
    out = g.node("MatMul", [x, g.node("Transpose", [weight], path, perm=[1, 0])], path)
    return g.node("Add", [out, *bias], path) if bias else out


def _ones_or(param: Tensor | None, path: str, name: str, shape: tuple, fill: float,
             g: _Graph) -> str:
    """The parameter's initializer, or a constant of `fill` when the layer has none."""
    if param is not None:
        return g.param(path, name, param)
    return g.initializer(constant_name(path, name), np.full(shape, fill, np.float32))


def _batch_norm(m: nn.BatchNorm2d, path: str, x: str, shape: tuple, g: _Graph) -> str:
    if not m.track_running_stats:
        raise OnnxError(f"onnx.export: {path or 'the model'} ({m!r}) has no running statistics "
                        "(track_running_stats=False), so it has no inference form to export")
    c = (m.num_features,)
    inputs = [x, _ones_or(m.weight, path, "weight", c, 1.0, g),
              _ones_or(m.bias, path, "bias", c, 0.0, g),
              g.param(path, "running_mean", m.running_mean),
              g.param(path, "running_var", m.running_var)]
    momentum = {} if m.momentum is None else {"momentum": 1.0 - m.momentum}  # ONNX's convention
    return g.node("BatchNormalization", inputs, path, epsilon=m.eps, **momentum)


def _layer_norm(m: nn.LayerNorm, path: str, x: str, shape: tuple, g: _Graph) -> str:
    dims = m.normalized_shape
    inputs = [x, _ones_or(m.weight, path, "weight", dims, 1.0, g),
              _ones_or(m.bias, path, "bias", dims, 0.0, g)]
    return g.node("LayerNormalization", inputs, path, axis=-len(dims), epsilon=m.eps)


def _normalization(m: nn.Normalization, path: str, x: str, shape: tuple, g: _Graph) -> str:
    """A layer norm over every axis but the batch axis, without parameters; its constants'
    names tell the importer it was a Normalization, not a LayerNorm without affine."""
    inputs = [x, _ones_or(None, path, NORMALIZATION_SCALE, shape[1:], 1.0, g),
              _ones_or(None, path, "normalization_bias", shape[1:], 0.0, g)]
    return g.node("LayerNormalization", inputs, path, axis=1, epsilon=m.eps)


def _pool(op_type: str) -> Any:
    def write(m: nn.MaxPool2d, path: str, x: str, shape: tuple, g: _Graph) -> str:
        extra = {}
        if op_type == "AveragePool":
            if m.divisor_override is not None:
                raise OnnxError(f"onnx.export: layer {path} ({m!r}): ONNX AveragePool has no "
                                "divisor_override")
            extra["count_include_pad"] = int(m.count_include_pad)
        return g.node(op_type, [x], path, kernel_shape=list(as_pair(m.kernel_size, "kernel")),
                      strides=list(as_pair(m.stride, "stride")), pads=_pads(m.padding),
                      ceil_mode=int(m.ceil_mode), **extra)
    return write


def _flatten(m: nn.Flatten, path: str, x: str, shape: tuple, g: _Graph) -> str:
    start, end = m.start_dim % len(shape), m.end_dim % len(shape)
    if start == 1 and end == len(shape) - 1:
        return g.node("Flatten", [x], path, axis=1)  # PyTorch's choice for torch.flatten(x, 1)
    # Reshape: 0 keeps a leading dim (the dynamic batch), -1 is the merged one
    target = [0] * start + [-1] + list(shape[end + 1:])
    return g.node("Reshape", [x, g.initializer(constant_name(path, "shape"),
                                               np.array(target, np.int64))], path)


def _dropout(m: nn.Dropout, path: str, x: str, shape: tuple, g: _Graph) -> str:
    """ONNX Dropout is the identity at inference; its ratio keeps p for a round trip."""
    ratio = g.initializer(constant_name(path, "ratio"), np.array(m.p, np.float32))
    return g.node("Dropout", [x, ratio], path)


def _leaky_relu(m: nn.LeakyReLU, path: str, x: str, shape: tuple, g: _Graph) -> str:
    return g.node("LeakyRelu", [x], path, alpha=m.negative_slope)


def _softmax(m: nn.Softmax, path: str, x: str, shape: tuple, g: _Graph) -> str:
    return g.node("Softmax", [x], path, axis=m.dim)  # one axis, as PyTorch's (opset >= 13)


def _log_softmax(m: nn.LogSoftmax, path: str, x: str, shape: tuple, g: _Graph) -> str:
    if m.dim is None:
        raise OnnxError(f"onnx.export: layer {path} ({m!r}) needs an explicit dim")
    return g.node("LogSoftmax", [x], path, axis=m.dim)


def _elu(m: nn.ELU, path: str, x: str, shape: tuple, g: _Graph) -> str:
    return g.node("Elu", [x], path, alpha=m.alpha)


def _softplus(m: nn.Softplus, path: str, x: str, shape: tuple, g: _Graph) -> str:
    if m.beta != 1:  # ONNX Softplus is log(1 + e**x); its large-x limit is PyTorch's threshold
        raise OnnxError(f"onnx.export: layer {path} ({m!r}): ONNX Softplus has no beta")
    return g.node("Softplus", [x], path)


def _clip(m: nn.Hardtanh, path: str, x: str, shape: tuple, g: _Graph) -> str:
    low, high = (0.0, 6.0) if isinstance(m, nn.ReLU6) else (m.min_val, m.max_val)
    bounds = [g.initializer(constant_name(path, name), np.array(value, np.float32))
              for name, value in (("min", low), ("max", high))]
    return g.node("Clip", [x, *bounds], path)


def _adaptive_avg_pool(m: nn.AdaptiveAvgPool2d, path: str, x: str, shape: tuple,
                       g: _Graph) -> str:
    return _fixed_pooling(as_pair(m.output_size, "output_size"), path, x, shape, g, repr(m))


def _fixed_pooling(out_size: tuple, path: str, x: str, shape: tuple, g: _Graph,
                   what: str) -> str:
    """Adaptive average pooling is a fixed one when each input size is a multiple of the
    output size: GlobalAveragePool for 1x1, else AveragePool with kernel = stride = in / out."""
    (OH, OW), (H, W) = out_size, shape[2:]
    if (OH, OW) == (1, 1):
        return g.node("GlobalAveragePool", [x], path)
    if H % OH or W % OW:
        raise OnnxError(f"onnx.export: {path or '<model>'} ({what}): adaptive pooling of "
                        f"{H}x{W} to {OH}x{OW} has windows of different sizes, which ONNX "
                        "pooling cannot express (exports when the input size is a multiple of "
                        "the output size)")
    kernel = [H // OH, W // OW]
    return g.node("AveragePool", [x], path, kernel_shape=kernel, strides=kernel,
                  pads=[0, 0, 0, 0])


def _simple(op_type: str) -> Any:
    def write(m: nn.Module, path: str, x: str, shape: tuple, g: _Graph) -> str:
        return g.node(op_type, [x], path)
    return write


_WRITERS = {
    nn.Conv2d: _conv, nn.Linear: _linear, nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm, nn.LayerNorm: _layer_norm, nn.Normalization: _normalization,
    nn.MaxPool2d: _pool("MaxPool"), nn.AvgPool2d: _pool("AveragePool"),
    nn.Flatten: _flatten, nn.Dropout: _dropout, nn.Identity: _simple("Identity"),
    nn.ReLU: _simple("Relu"), nn.Sigmoid: _simple("Sigmoid"), nn.Tanh: _simple("Tanh"),
    nn.LeakyReLU: _leaky_relu, nn.Softmax: _softmax, nn.LogSoftmax: _log_softmax, nn.ELU: _elu,
    nn.Softplus: _softplus, nn.ReLU6: _clip, nn.Hardtanh: _clip,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
}
EXPORTABLE = ["Sequential", *sorted(cls.__name__ for cls in _WRITERS)]


# ----- op writers: one traced op -> ONNX nodes ----------------------------------------------------
# Each takes (ctx, input names, output Tensor, layer path, graph) and returns the output's name.
def _op(op_type: str) -> Any:
    def write(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
        return g.node(op_type, xs, path)
    return write


def _op_leaky_relu(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("LeakyRelu", xs, path, alpha=float(ctx.negative_slope))


def _op_softmax(op_type: str) -> Any:
    def write(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
        return g.node(op_type, xs, path, axis=int(ctx.axis))
    return write


def _op_elu(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("Elu", xs, path, alpha=float(ctx.alpha))


def _op_silu(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("Mul", [xs[0], g.node("Sigmoid", xs, path)], path)  # x * sigmoid(x)


def _op_hardtanh(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    low, high = ctx.bounds
    dtype = out.dtype
    return g.node("Clip", [xs[0], g.constant(np.asarray(low, dtype)),
                           g.constant(np.asarray(high, dtype))], path)


def _op_clip(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    bounds = ["" if b is None else g.constant(np.asarray(b, out.dtype))
              for b in (ctx.low, ctx.high)]
    return g.node("Clip", [xs[0], *bounds], path)


def _op_linear(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    if out.ndim == 2:
        return g.node("Gemm", xs, path, alpha=1.0, beta=1.0, transB=1)
    product = g.node("MatMul", [xs[0], g.node("Transpose", [xs[1]], path, perm=[1, 0])], path)
    return g.node("Add", [product, xs[2]], path) if len(xs) > 2 else product


def _op_conv(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    geom = ctx.geom
    (ph, pw) = geom.padding
    return g.node("Conv", xs, path, kernel_shape=[geom.KH, geom.KW], strides=list(geom.stride),
                  pads=[ph, pw, ph, pw], dilations=list(geom.dilation), group=1)


def _pool_attrs(geom: Any) -> dict[str, Any]:
    """kernel, strides, pads, and ceil_mode read off the output size the op computed."""
    (ph, pw), (kh, kw), (sh, sw) = geom.padding, geom.kernel, geom.stride
    floor_oh = (geom.shape[2] + 2 * ph - kh) // sh + 1
    floor_ow = (geom.shape[3] + 2 * pw - kw) // sw + 1
    return {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [ph, pw, ph, pw],
            "ceil_mode": int((geom.OH, geom.OW) != (floor_oh, floor_ow))}


def _op_max_pool(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("MaxPool", xs, path, **_pool_attrs(ctx.geom))


def _op_avg_pool(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    geom, divisor = ctx.geom, np.asarray(ctx.divisor)
    area = geom.kernel[0] * geom.kernel[1]
    if divisor.ndim == 0 and divisor != area:
        raise OnnxError(f"onnx.export: avg_pool2d in {path or '<model>'}: ONNX AveragePool has "
                        "no divisor_override")
    counts_pad = divisor.ndim == 0 or geom.padding == (0, 0)
    return g.node("AveragePool", xs, path, count_include_pad=int(counts_pad),
                  **_pool_attrs(geom))


def _op_adaptive_avg_pool(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    shape = ctx.parents[0].shape
    return _fixed_pooling(tuple(out.shape[2:]), path, xs[0], shape, g, "adaptive_avg_pool2d")


def _op_reshape(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    """0 keeps the (dynamic) batch dimension when the reshape keeps it first."""
    target = list(out.shape)
    if target and ctx.in_shape and target[0] == ctx.in_shape[0]:
        target[0] = 0
    return g.node("Reshape", [xs[0], g.constant(np.array(target, np.int64))], path)


def _op_permute(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("Transpose", xs, path, perm=[int(d) for d in ctx.dims])


def _op_expand(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("Expand", [xs[0], g.constant(np.array(out.shape, np.int64))], path)


def _op_concat(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    return g.node("Concat", xs, path, axis=int(ctx.axis))


def _op_stack(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
    axes = g.constant(np.array([ctx.axis], np.int64))
    return g.node("Concat", [g.node("Unsqueeze", [x, axes], path) for x in xs], path,
                  axis=int(ctx.axis))


def _op_reduce(op_type: str, axes_input_from: int) -> Any:
    """ReduceSum takes its axes as an input from opset 13, ReduceMean/Max/Min from opset 18."""
    def write(ctx: Any, xs: list[str], out: Tensor, path: str, g: _Graph) -> str:
        axes = [int(a) for a in ctx.axes]
        keepdims = int(bool(ctx.keepdims))
        if g.opset >= axes_input_from:
            return g.node(op_type, [xs[0], g.constant(np.array(axes, np.int64))], path,
                          keepdims=keepdims)
        return g.node(op_type, xs, path, axes=axes, keepdims=keepdims)
    return write


_OP_WRITERS = {
    elementwise.Add: _op("Add"), elementwise.Sub: _op("Sub"), elementwise.Mul: _op("Mul"),
    elementwise.Div: _op("Div"), elementwise.Pow: _op("Pow"), elementwise.Neg: _op("Neg"),
    elementwise.Exp: _op("Exp"), elementwise.Log: _op("Log"), elementwise.Sqrt: _op("Sqrt"),
    elementwise.Abs: _op("Abs"), compare.Maximum: _op("Max"), compare.Minimum: _op("Min"),
    compare.Clip: _op_clip, activation.ReLU: _op("Relu"), activation.Sigmoid: _op("Sigmoid"),
    activation.Tanh: _op("Tanh"), activation.LeakyReLU: _op_leaky_relu,
    activation.Softmax: _op_softmax("Softmax"), activation.LogSoftmax: _op_softmax("LogSoftmax"),
    activation.Hardtanh: _op_hardtanh, activation.ELU: _op_elu,
    activation.SiLU: _op_silu, MatMul: _op("MatMul"), LinearOp: _op_linear,
    ConvOp: _op_conv, pool.MaxPool2d: _op_max_pool, pool.AvgPool2d: _op_avg_pool,
    pool.AdaptiveAvgPool2d: _op_adaptive_avg_pool, movement.Reshape: _op_reshape,
    movement.Permute: _op_permute, movement.Expand: _op_expand,
    movement.Concatenate: _op_concat, movement.Stack: _op_stack, copy.Clone: _op("Identity"),
    reduce.Sum: _op_reduce("ReduceSum", 13), reduce.Mean: _op_reduce("ReduceMean", 18),
    reduce.Max: _op_reduce("ReduceMax", 18), reduce.Min: _op_reduce("ReduceMin", 18),
}
EXPORTABLE_OPS = sorted({cls.__name__ for cls in _OP_WRITERS})


# ----- the trace: one forward pass, its graph, the layer calls in it ------------------------------
class _Trace:
    """What one forward pass recorded: the graph from `x` to `out`, and each call of a layer that
    has a writer (`calls`: id(output) -> (layer, input); `aliases`: id(tensor) -> the layers
    that returned that very tensor, such as Dropout and Identity in eval mode)."""

    def __init__(self, model: nn.Module, x: Tensor) -> None:
        self.calls: dict[int, tuple[nn.Module, Tensor]] = {}
        self.aliases: dict[int, list[nn.Module]] = {}
        handles = [m.register_forward_hook(self._record) for m in model.modules()
                   if type(m) in _WRITERS]
        try:
            with enable_grad():  # the graph is the trace, also when called under no_grad
                self.out = model(x)
        finally:
            for handle in handles:
                handle.remove()
        if not isinstance(self.out, Tensor):
            raise OnnxError(f"onnx.export: the model returned {type(self.out).__name__}; "
                            "export writes models with one Tensor output")

    def _record(self, layer: nn.Module, args: tuple, out: Any) -> None:
        if len(args) != 1 or not isinstance(args[0], Tensor) or not isinstance(out, Tensor):
            return
        if out is args[0]:
            self.aliases.setdefault(id(out), []).append(layer)
        elif id(out) not in self.calls:  # the innermost layer that made it
            self.calls[id(out)] = (layer, args[0])

    def inputs_of(self, node: Tensor) -> list[Tensor]:
        """What the ONNX node of `node` reads: the layer's input, or the op's parents."""
        if id(node) in self.calls:
            return [self.calls[id(node)][1]]
        return list(node._ctx.parents) if node._ctx is not None else []

    def needed(self, x: Tensor) -> list[Tensor]:
        """The tensors the export writes, inputs first: the graph's one topological order,
        keeping only what the output reads through layers (not their insides) and ops."""
        order = toposort(self.out)
        wanted = {id(self.out)}
        for node in reversed(order):
            if id(node) in wanted and node is not x:
                wanted.update(id(parent) for parent in self.inputs_of(node))
        return [node for node in order if id(node) in wanted]


def _write_trace(model: nn.Module, x: Tensor, trace: _Trace, g: _Graph) -> str:
    """Write every needed tensor of the trace in order; return the output's name."""
    paths = {id(m): path for path, m in model.named_modules()}
    state = {id(t): key for key, t in [*model.named_parameters(), *model.named_buffers()]}
    names: dict[int, str] = {}
    for node in trace.needed(x):
        if node is x:
            name = INPUT
        elif id(node) in trace.calls:
            layer, value = trace.calls[id(node)]
            name = _WRITERS[type(layer)](layer, paths[id(layer)], names[id(value)],
                                         tuple(value.shape), g)
        elif node._ctx is None:
            name = g.initializer(state[id(node)], node.data) if id(node) in state else (
                g.constant(node.data))
        else:
            name = _write_op(node, [names[id(p)] for p in node._ctx.parents], paths, g)
        for layer in trace.aliases.get(id(node), []):
            name = _WRITERS[type(layer)](layer, paths[id(layer)], name, tuple(node.shape), g)
        names[id(node)] = name
    return names[id(trace.out)]


def _write_op(node: Tensor, inputs: list[str], paths: dict[int, str], g: _Graph) -> str:
    ctx = node._ctx
    path = paths.get(id(ctx.module), "")
    writer = _OP_WRITERS.get(type(ctx))
    if writer is None:
        where = f"in layer {path}" if path else "in the model's forward"
        raise OnnxError(f"onnx.export: op {ctx.name} ({where}) has no ONNX export here; ops "
                        f"that export: {', '.join(EXPORTABLE_OPS)}; layers: "
                        f"{', '.join(EXPORTABLE)}")
    return writer(ctx, inputs, node, path, g)


def export(model: nn.Module, example_input: Any, path: str | os.PathLike | None = None,
           opset: int = MIN_OPSET) -> Any:
    """Write `model` as an ONNX file at `path` (atomically) and return the onnx.ModelProto.
    `example_input` (an array or Tensor of the input's shape) fixes every dimension but the
    batch; the graph reads "input" and writes "output". The model is run once on it in eval
    mode (each module's training flag is restored) and its recorded graph is written;
    onnx.checker validates the result."""
    onnx = onnx_library()
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise OnnxError(f"onnx.export: opset must be in [{MIN_OPSET}, {newest}], got {opset}")
    data = example_input.data if isinstance(example_input, Tensor) else example_input
    x = Tensor(np.array(data, np.float32), requires_grad=True)
    g = _Graph(onnx, opset)
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        trace = _Trace(model, x)
        out_name = _write_trace(model, x, trace, g)
    finally:
        for m in model.modules():
            m.training = modes[id(m)]
    proto = _model_proto(onnx, g, out_name, x.shape, trace.out.shape, opset)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        with atomic_write(path) as f:
            f.write(proto.SerializeToString())
    return proto


def _model_proto(onnx: Any, g: _Graph, out_name: str, in_shape: tuple, out_shape: tuple,
                 opset: int) -> Any:
    helper, dtype = onnx.helper, onnx.TensorProto.FLOAT
    if out_name == INPUT:  # an empty model still needs a node between input and output
        out_name = g.node("Identity", [INPUT], "")
    g.nodes[-1].output[0] = OUTPUT
    batch_kept = len(out_shape) > 0 and out_shape[0] == in_shape[0]
    inputs = [helper.make_tensor_value_info(INPUT, dtype, ["N", *in_shape[1:]])]
    out_dims = ["N", *out_shape[1:]] if batch_kept else list(out_shape)
    outputs = [helper.make_tensor_value_info(OUTPUT, dtype, out_dims)]
    graph = helper.make_graph(g.nodes, "tinygrad_cnn", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="tinygrad_cnn",
                             ir_version=helper.find_min_ir_version_for(opsets))
