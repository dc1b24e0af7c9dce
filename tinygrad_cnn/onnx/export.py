"""export: nn models (layers, Sequentials, classes that chain them) as ONNX via onnx.helper.

The graph is the inference graph, as PyTorch's exporter writes it by default: batch norm uses its
running statistics and dropout is the identity. Initializers carry our state_dict keys
(`0.weight`, `1.running_mean`), the batch dimension is dynamic ("N").
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..fileio import atomic_write
from ..ops._args import as_pair
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

    def __init__(self, onnx: Any) -> None:
        self.onnx, self.nodes, self.initializers = onnx, [], []

    def initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

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
    if m.output_size not in (1, (1, 1), [1, 1]):
        raise OnnxError(f"onnx.export: layer {path} ({m!r}): only output_size 1 exports (as "
                        "GlobalAveragePool)")
    return g.node("GlobalAveragePool", [x], path)


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


def _write(module: nn.Module, path: str, x: str, value: Tensor, g: _Graph) -> tuple[str, Tensor]:
    """Append `module`'s nodes reading tensor `x` (whose example value is `value`)."""
    writer = _WRITERS.get(type(module))
    if writer is not None:
        return writer(module, path, x, tuple(value.shape), g), module(value)
    ours = type(module).__module__.startswith("tinygrad_cnn.nn")
    if ours and not list(module.named_children()):  # one of our layers, without a writer
        raise OnnxError(f"onnx.export: layer {path or '<model>'} ({type(module).__name__}) has "
                        f"no ONNX export here; export supports {', '.join(EXPORTABLE)}")
    children = (list(module.named_children()) if type(module) is nn.Sequential
                else _chain_of_children(module, path, value))
    for name, child in children:
        x, value = _write(child, f"{path}.{name}" if path else name, x, value, g)
    return x, value


def _callable_children(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The children a forward can call: a ModuleList's members count as children ("blocks.0")."""
    children = []
    for name, child in module.named_children():
        if type(child) is nn.ModuleList:
            children += [(f"{name}.{sub}", layer) for sub, layer in child.named_children()]
        else:
            children.append((name, child))
    return children


def _chain_of_children(module: nn.Module, path: str, value: Tensor) -> list[tuple[str, Any]]:
    """The children a custom forward calls, in order, when that forward is only a chain of
    them (each reads the previous one's output); else OnnxError naming the layer."""
    calls: list[tuple[str, nn.Module, tuple, Any]] = []
    handles = [child.register_forward_hook(
        lambda m, args, out, name=name: calls.append((name, m, args, out)))
        for name, child in _callable_children(module)]
    try:
        out = module(value)
    finally:
        for handle in handles:
            handle.remove()
    inputs = [value] + [o for *_, o in calls]
    chain = (calls and all(len(args) == 1 and args[0] is inputs[i]
                           for i, (_, _, args, _) in enumerate(calls))
             and out is inputs[-1] and len({id(m) for _, m, _, _ in calls}) == len(calls))
    if not chain:
        raise OnnxError(f"onnx.export: cannot export layer {path or '<model>'} "
                        f"({type(module).__name__}): a custom forward exports only when it calls "
                        "its layers one after the other, each on the previous one's output (use "
                        f"layers such as nn.ReLU and nn.Flatten for the steps between); export "
                        f"supports {', '.join(EXPORTABLE)}")
    return [(name, child) for name, child, _, _ in calls]


def export(model: nn.Module, example_input: Any, path: str | os.PathLike | None = None,
           opset: int = MIN_OPSET) -> Any:
    """Write `model` as an ONNX file at `path` (atomically) and return the onnx.ModelProto.
    `example_input` (an array or Tensor of the input's shape) fixes every dimension but the
    batch; the graph reads "input" and writes "output". The model is run once on it in eval
    mode (each module's training flag is restored); onnx.checker validates the result."""
    onnx = onnx_library()
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise OnnxError(f"onnx.export: opset must be in [{MIN_OPSET}, {newest}], got {opset}")
    x = example_input if isinstance(example_input, Tensor) else Tensor(example_input)
    g = _Graph(onnx)
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            out_name, out = _write(model, "", INPUT, x, g)
    finally:
        for m in model.modules():
            m.training = modes[id(m)]
    proto = _model_proto(onnx, g, out_name, x.shape, out.shape, opset)
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
