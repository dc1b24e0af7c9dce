"""load: an ONNX graph that is a chain of layers (as our export and PyTorch's exporter write CNNs)
as an nn.Sequential, ready to train, render and profile here.

Each node becomes one nn layer (MatMul + Add become one Linear); constants (initializers,
Constant nodes and Transposes of them) become the layers' parameters. A Shape of the chain's
value and the index moves on it fold into the Reshape that reads them (PyTorch's
x.view(x.size(0), -1)). Layers are named from their parameters' names ("conv1.weight" -> conv1)
or node names ("/0/Relu" -> 0), so our exports load back with the same state_dict keys;
otherwise "0", "1", ...
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor
from .common import BATCH, OnnxError, is_constant_name, onnx_library
from .readers import READERS as BASIC_READERS
from .readers import Node
from .readers_more import MORE_READERS

READERS = {**BASIC_READERS, **MORE_READERS}

_FOLDABLE = ("Constant", "Identity", "Transpose", "Cast", "Gather", "Unsqueeze", "Squeeze",
             "Concat", "Slice")


def load(source: str | os.PathLike | Any) -> nn.Sequential:
    """The model in the ONNX file `source` (or an onnx.ModelProto) as an nn.Sequential in
    training mode. Raises OnnxError naming the node for operators or graph shapes that have no
    nn layer, with the list of supported operators."""
    onnx = onnx_library()
    where = "the model" if isinstance(source, onnx.ModelProto) else repr(os.fspath(source))
    proto = source if isinstance(source, onnx.ModelProto) else _read(onnx, os.fspath(source))
    graph = proto.graph
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 1)
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxError(f"onnx.load: {where} has inputs {[i.name for i in inputs]} and outputs "
                        f"{[o.name for o in graph.output]}; only one input and one output load")
    current, value = inputs[0].name, Tensor(_example(inputs[0], where))
    layers: list[tuple[str, nn.Module]] = []
    for proto_node in graph.node:
        node = Node(onnx, proto_node, constants, opset)
        if node.op_type == "Shape" and node.inputs == [current]:
            constants[node.outputs[0]] = _shape(node, tuple(value.shape))
            continue
        if all(name in constants for name in node.inputs) and node.op_type in _FOLDABLE:
            constants[node.outputs[0]] = node.fold()
            continue
        data = [name for name in node.inputs if name not in constants]
        if not data:
            raise OnnxError(f"onnx.load: node {node.name!r} ({node.op_type}) reads only "
                            f"constants, and only {', '.join(_FOLDABLE)} of constants fold here")
        if data != [current]:
            raise OnnxError(f"onnx.load: node {node.name!r} ({node.op_type}) reads {data}, not "
                            f"only the previous layer's output {current!r}: only chains load")
        layer = _read_layer(node, tuple(value.shape), layers)
        if layer is not None:  # else it folded into the previous layer, the shape unchanged
            layers.append((_layer_path(node, constants), layer))
            with no_grad():
                value = _probe(layer, value)
        current = node.outputs[0]
    if current != graph.output[0].name:
        raise OnnxError(f"onnx.load: {where}: the chain ends at {current!r}, not at the output "
                        f"{graph.output[0].name!r}")
    return _sequential(layers).train()


def _read(onnx: Any, path: str) -> Any:
    if not os.path.exists(path):
        raise FileNotFoundError(f"ONNX file {path!r} does not exist")
    try:
        return onnx.load(path)
    except Exception as error:  # protobuf's DecodeError and friends
        raise OnnxError(f"onnx.load: {path!r} is not a readable ONNX file: {error}") from None


def _example(value_info: Any, where: str) -> np.ndarray:
    """A zero input of the graph input's shape, batch 2 (any symbolic first dim)."""
    dims = value_info.type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if not shape or None in shape[1:]:
        raise OnnxError(f"onnx.load: {where}: input {value_info.name!r} needs a known rank and "
                        f"every dimension but the batch known, got {shape}")
    return np.zeros([2, *shape[1:]], np.float32)


def _shape(node: Node, shape: tuple) -> np.ndarray:
    """A Shape node of the chain's value: its sizes, the batch as the BATCH marker (the example's
    batch of 2 is no size of the model), `start`/`end` as ONNX's opset 15."""
    dims = np.array([BATCH, *shape[1:]], np.int64)
    return dims[node.attr("start", 0):node.attr("end", len(dims))]


def _read_layer(node: Node, shape: tuple, layers: list) -> nn.Module | None:
    """The node's layer; None when it folds into the previous one (MatMul's bias Add)."""
    bias = _bias_of(layers[-1][1], node) if node.op_type == "Add" and layers else None
    if bias is not None:
        layers[-1][1].bias = nn.Parameter(bias.reshape(-1).astype(np.float32))
        return None
    reader = READERS.get(node.op_type)
    if reader is None:
        raise OnnxError(f"onnx.load: node {node.name!r} has op type {node.op_type!r}, which has "
                        f"no nn layer here; supported: {', '.join(sorted(READERS))}, Add (a "
                        f"MatMul's bias), Shape, and {', '.join(_FOLDABLE)} of constants")
    return reader(node, shape)


def _bias_of(layer: nn.Module, node: Node) -> np.ndarray | None:
    """The constant operand of an Add that follows a bias-free Linear (MatMul), if it is one."""
    if not isinstance(layer, nn.Linear) or layer.bias is not None or len(node.inputs) != 2:
        return None
    constant = [name for name in node.inputs if name in node.constants]
    bias = node.constants[constant[0]] if len(constant) == 1 else None
    return bias if bias is not None and bias.size == layer.out_features else None


def _probe(layer: nn.Module, value: Tensor) -> Tensor:
    """The layer's output on the example (eval mode, so batch statistics stay untouched)."""
    layer.eval()
    return layer(value)


def _layer_path(node: Node, constants: dict) -> str:
    """"conv1" from a parameter "conv1.weight", "0" from a node named "/0/Conv", "relu_1" from
    "/Relu_1" (PyTorch's name for a functional call); "" for an unnamed node."""
    for name in node.inputs[1:]:
        if name in constants and not is_constant_name(name) and "." in name:
            prefix, _, last = name.rpartition(".")
            if last in ("weight", "bias", "running_mean", "running_var"):
                return prefix
    parts = node.proto.name.split("/")
    if len(parts) >= 3 and not parts[0]:
        return parts[-2]
    return parts[-1].lower() if len(parts) == 2 and parts[-1].isidentifier() else ""


def _sequential(layers: list[tuple[str, nn.Module]]) -> nn.Sequential:
    """Nested Sequentials from dotted names ("features.0", "features.1", "fc"), when every
    layer has a distinct name whose groups are contiguous; else children "0", "1", ..."""
    paths = [path for path, _ in layers]
    tree = _tree(paths) if all(paths) and len(set(paths)) == len(paths) else None
    if tree is None:
        return nn.Sequential(*[layer for _, layer in layers])
    return _build(tree, dict(layers), "")


def _tree(paths: list[str]) -> dict | None:
    """{"features": {"0": {}, "1": {}}, "fc": {}}, or None when the tree's layers in order are
    not `paths` (a group split by another layer, a name both a layer and a group)."""
    tree: dict = {}
    for path in paths:
        level = tree
        for part in path.split("."):
            level = level.setdefault(part, {})
    return tree if _leaves(tree, "") == paths else None


def _leaves(tree: dict, prefix: str) -> list[str]:
    paths = []
    for name, sub in tree.items():
        path = f"{prefix}.{name}" if prefix else name
        paths += _leaves(sub, path) if sub else [path]
    return paths


def _build(tree: dict, modules: dict[str, nn.Module], prefix: str) -> nn.Sequential:
    children = {}
    for name, sub in tree.items():
        path = f"{prefix}.{name}" if prefix else name
        children[name] = modules[path] if not sub else _build(sub, modules, path)
    return nn.Sequential(children)
