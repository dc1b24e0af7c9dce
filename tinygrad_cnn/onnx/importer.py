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
from ..fileio import open_regular
from ..tensor import Tensor
from .common import BATCH, OnnxError, is_constant_name, onnx_library
from .readers import READERS, Node
from .wire import WireError, count_entries

_FOLDABLE = ("Constant", "Identity", "Transpose", "Cast", "Gather", "Unsqueeze", "Squeeze",
             "Concat", "Slice")
# The largest value the importer's probe (a batch of 2 run through each layer as it is read)
# may hold: 2**26 float32 is 256 MiB. Every shape the graph declares or implies is checked
# against it before any array exists, so a declared (N, 1, 100000, 100000) input fails at once.
MAX_PROBE_VALUES = 2**26
PROBE_BATCH = 2
# The most protobuf entries (messages, repeated names, numbers) a file may hold: parsing builds
# an object per entry, and 2**19 of them stay under 100 MB; LeNet's export holds a few hundred.
MAX_ENTRIES = 2**19


def load(source: str | os.PathLike | Any) -> nn.Sequential:
    """The model in the ONNX file `source` (or an onnx.ModelProto) as an nn.Sequential in
    training mode. Raises OnnxError naming the node for operators or graph shapes that have no
    nn layer, with the list of supported operators."""
    onnx = onnx_library()
    where = "the model" if isinstance(source, onnx.ModelProto) else repr(os.fspath(source))
    proto = source if isinstance(source, onnx.ModelProto) else _read(onnx, os.fspath(source))
    opset = _check(onnx, proto, where)
    graph = proto.graph
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
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
        value = _add_layer(node, value, layers, constants)
        current = node.outputs[0]
    if current != graph.output[0].name:
        raise OnnxError(f"onnx.load: {where}: the chain ends at {current!r}, not at the output "
                        f"{graph.output[0].name!r}")
    return _sequential(layers).train()


def _read(onnx: Any, path: str) -> Any:
    """The file's ModelProto, from a regular file only; external data is never followed."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"ONNX file {path!r} does not exist")
    with open_regular(path, OnnxError) as f:
        data = f.read()
    try:  # counted on the bytes first: a crafted file of millions of tiny entries never parses
        entries = count_entries(data, onnx.ModelProto.DESCRIPTOR, MAX_ENTRIES)
    except WireError as error:
        raise OnnxError(f"onnx.load: {path!r} is not a readable ONNX file: {error}") from None
    if entries > MAX_ENTRIES:
        raise OnnxError(f"onnx.load: {path!r} holds more than {MAX_ENTRIES:,} protobuf entries "
                        "(nodes, attributes, names, ...); parsing it would take more memory than "
                        "any model this library loads needs, so it is refused unparsed")
    try:
        return onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError and friends
        raise OnnxError(f"onnx.load: {path!r} is not a readable ONNX file: {error}") from None


def _check(onnx: Any, proto: Any, where: str) -> int:
    """The graph's opset, after the checks that come before any array exists: an opset the onnx
    library knows, no external data, each initializer's data matching its dims (onnx's checker),
    nodes in topological order writing each value once (so no cycles), and every declared shape
    within the probe's limit. OnnxError naming the model otherwise."""
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 1)
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise OnnxError(f"onnx.load: {where} uses opset {opset}; the installed onnx knows "
                        f"opsets up to {newest}, whose operators this importer reads")
    tensors = _tensors(proto.graph)
    external = [t.name for t in tensors if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise OnnxError(f"onnx.load: {where} keeps {external[:3]} in external data files, "
                        "which are not read; save the model as one file "
                        "(onnx.save_model(model, path, save_as_external_data=False))")
    for tensor in tensors:
        try:
            onnx.checker.check_tensor(tensor)
        except Exception as error:  # onnx.checker.ValidationError
            raise OnnxError(f"onnx.load: {where}: initializer {tensor.name!r} is malformed: "
                            f"{str(error).strip():.300}") from None
    _check_order(proto.graph, where)
    for value in _declared_values(onnx, proto):
        _check_size(value, where)
    return opset


def _tensors(graph: Any) -> list[Any]:
    """The graph's stored tensors: its initializers and its nodes' tensor attributes (a
    Constant's value), each of which numpy_helper would read, external data included."""
    attributes = [a for node in graph.node for a in node.attribute]
    return [*graph.initializer, *(a.t for a in attributes if a.HasField("t")),
            *(t for a in attributes for t in a.tensors)]


def _check_order(graph: Any, where: str) -> None:
    """Each node reads only values written before it and writes names not yet written."""
    written = {value.name for value in graph.input} | {t.name for t in graph.initializer}
    for i, node in enumerate(graph.node):
        name = node.name or f"#{i} ({node.op_type})"
        unknown = [value for value in node.input if value and value not in written]
        if unknown:
            raise OnnxError(f"onnx.load: {where}: node {name!r} reads {unknown}, which no "
                            "earlier node writes: the graph is not in order or has a cycle")
        again = [value for value in node.output if value in written]
        if again:
            raise OnnxError(f"onnx.load: {where}: node {name!r} writes {again} again; each "
                            "value of an ONNX graph is written once")
        written.update(value for value in node.output if value)


def _declared_values(onnx: Any, proto: Any) -> list[Any]:
    """The graph's inputs and outputs, with the shapes onnx's shape inference derives from the
    input's, and the inferred shapes of the values between (inference that fails leaves the
    declared ones; the probe is then checked layer by layer)."""
    try:
        graph = onnx.shape_inference.infer_shapes(proto).graph
    except Exception:  # onnx.shape_inference.InferenceError: the readers say what is wrong
        graph = proto.graph
    return [*graph.input, *graph.output, *graph.value_info]


def _check_size(value_info: Any, where: str) -> None:
    dims = value_info.type.tensor_type.shape.dim
    known = [d.dim_value for d in dims[1:] if d.HasField("dim_value")]
    values = PROBE_BATCH * int(np.prod(known, dtype=object))
    if values > MAX_PROBE_VALUES:
        shape = ["N", *known] if dims else known
        raise OnnxError(f"onnx.load: {where}: {value_info.name!r} of shape {shape} would hold "
                        f"{values:,} values for a batch of {PROBE_BATCH}, more than the limit "
                        f"of {MAX_PROBE_VALUES:,} ({MAX_PROBE_VALUES * 4 // 2**20} MiB)")


def _example(value_info: Any, where: str) -> np.ndarray:
    """A zero input of the graph input's shape, batch 2 (any symbolic first dim)."""
    dims = value_info.type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if any(d is not None and d < 0 for d in shape):
        raise OnnxError(f"onnx.load: {where}: input {value_info.name!r} has a negative "
                        f"dimension in {shape}")
    if not shape or None in shape[1:]:
        raise OnnxError(f"onnx.load: {where}: input {value_info.name!r} needs a known rank and "
                        f"every dimension but the batch known, got {shape}")
    return np.zeros([PROBE_BATCH, *shape[1:]], np.float32)


def _shape(node: Node, shape: tuple) -> np.ndarray:
    """A Shape node of the chain's value: its sizes, the batch as the BATCH marker (the example's
    batch of 2 is no size of the model), `start`/`end` as ONNX's opset 15."""
    dims = np.array([BATCH, *shape[1:]], np.int64)
    return dims[node.attr("start", 0):node.attr("end", len(dims))]


def _add_layer(node: Node, value: Tensor, layers: list, constants: dict) -> Tensor:
    """Read the node's layer into `layers` and run the example through it. What the layer
    refuses (groups that do not divide, a kernel larger than its input, a bias of another size)
    becomes an OnnxError naming the node."""
    try:
        layer = _read_layer(node, tuple(value.shape), layers)
        if layer is None:  # it folded into the previous layer, the shape unchanged
            return value
        layers.append((_layer_path(node, constants), layer))
        with no_grad():
            return _probe(layer, value, node)
    except OnnxError:
        raise
    except (ValueError, TypeError, IndexError) as error:
        raise node.error(f"cannot be loaded as an nn layer: {error}") from None


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


def _probe(layer: nn.Module, value: Tensor, node: Node) -> Tensor:
    """The layer's output on the example (eval mode, so batch statistics stay untouched); the
    output's size is checked against the limit as each layer's is, when inference could not."""
    layer.eval()
    output = layer(value)
    if output.data.size > MAX_PROBE_VALUES:
        raise node.error(f"its output {tuple(output.shape)} is larger than the limit of "
                         f"{MAX_PROBE_VALUES:,} values")
    return output


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
