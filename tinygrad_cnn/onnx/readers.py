"""One reader per ONNX operator: the node's attributes and constant inputs as an nn layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..nn.module import Parameter
from .common import BATCH, NORMALIZATION_SCALE, OnnxError, is_constant_name


class Node:
    """An ONNX node with its attributes as Python values and its constant inputs as arrays."""

    def __init__(self, onnx: Any, proto: Any, constants: dict[str, np.ndarray],
                 opset: int) -> None:
        self.onnx, self.proto, self.constants, self.opset = onnx, proto, constants, opset
        self.name = proto.name or f"<unnamed {proto.op_type}>"
        self.op_type, self.inputs, self.outputs = proto.op_type, list(proto.input), proto.output
        try:
            self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}
        except (ValueError, TypeError) as error:  # an attribute of no known type
            raise self.error(f"malformed attribute: {error}") from None

    def attr(self, name: str, default: Any) -> Any:
        value = self.attrs.get(name, default)
        if isinstance(value, float):  # stored as float32: 1e-05, not 9.999999747378752e-06
            return float(str(np.float32(value)))
        return value.decode() if isinstance(value, bytes) else value

    def constant_or_none(self, i: int) -> np.ndarray | None:
        if i >= len(self.inputs) or not self.inputs[i]:
            return None  # an optional input left out
        if self.inputs[i] not in self.constants:
            raise self.error(f"input {i} ({self.inputs[i]!r}) must be a constant")
        return self.constants[self.inputs[i]]

    def constant(self, i: int) -> np.ndarray:
        value = self.constant_or_none(i)
        if value is None:
            raise self.error(f"needs input {i}")
        return value

    def is_marker(self, i: int, fill: float) -> bool:
        """Input i is absent, or a constant of `fill` named as our export names non-state."""
        value = self.constant_or_none(i)
        return value is None or (is_constant_name(self.inputs[i]) and bool(np.all(value == fill)))

    def error(self, problem: str) -> OnnxError:
        return OnnxError(f"onnx.load: node {self.name!r} ({self.op_type}): {problem}")

    def fold(self) -> np.ndarray:
        """The value of a node of constants: Constant, Identity, Transpose, Cast, and the index
        moves of a shape computation (Gather, Unsqueeze, Squeeze, Concat, Slice). NumPy's
        complaints about the node's attributes (an axis out of range, an index past the end)
        become OnnxError naming the node."""
        try:
            return self._fold()
        except OnnxError:
            raise
        except (ValueError, IndexError, TypeError) as error:
            raise self.error(f"cannot be computed: {error}") from None

    def _fold(self) -> np.ndarray:
        if self.op_type == "Constant":
            return self._constant_value()
        value = self.constant(0)
        if self.op_type == "Transpose":
            perm = self.attr("perm", None)
            if perm is not None and sorted(perm) != list(range(value.ndim)):
                raise self.error(f"perm={list(perm)} is not a permutation of the "
                                 f"{value.ndim} axes of {value.shape}")
            return value.transpose(perm)
        if self.op_type == "Cast":
            return value.astype(self._cast_dtype())
        if self.op_type == "Gather":
            return np.take(value, self.constant(1), axis=self.attr("axis", 0))
        if self.op_type == "Concat":
            parts = [np.atleast_1d(self.constant(i)) for i in range(len(self.inputs))]
            return np.concatenate(parts, axis=self.attr("axis", 0))
        if self.op_type in ("Unsqueeze", "Squeeze"):
            axes = self._axes(1)
            if self.op_type == "Unsqueeze":
                if axes is None:
                    raise self.error("an Unsqueeze needs its axes")
                return np.expand_dims(value, [a % (value.ndim + len(axes)) for a in axes])
            return np.squeeze(value, None if axes is None else tuple(axes))
        if self.op_type == "Slice":
            return self._slice(value)
        return value

    def _cast_dtype(self) -> np.dtype:
        to = self.attr("to", 1)
        try:
            dtype = np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(to))
        except (KeyError, TypeError, ValueError):
            dtype = None
        if dtype is None or dtype.kind not in "biuf":
            raise self.error(f"to={to} is not a numeric ONNX data type this importer reads")
        return dtype

    def _axes(self, i: int) -> list[int] | None:
        """`axes`: an attribute before opset 13, input i from 13 on (absent: None)."""
        if self.opset < 13:
            axes = self.attr("axes", None)
            return None if axes is None else list(axes)
        axes = self.constant_or_none(i)
        return None if axes is None else [int(a) for a in np.atleast_1d(axes)]

    def _slice(self, value: np.ndarray) -> np.ndarray:
        if self.opset < 10:
            starts, ends = self.attr("starts", []), self.attr("ends", [])
            axes, steps = self.attr("axes", list(range(len(starts)))), [1] * len(starts)
        else:
            starts, ends = self.constant(1), self.constant(2)
            axes_in, steps_in = self.constant_or_none(3), self.constant_or_none(4)
            axes = list(range(len(starts))) if axes_in is None else axes_in
            steps = [1] * len(starts) if steps_in is None else steps_in
        index = [slice(None)] * value.ndim
        for start, end, axis, step in zip(starts, ends, axes, steps):
            index[int(axis)] = slice(int(start), int(end), int(step))  # Python clamps as ONNX
        return value[tuple(index)]

    def _constant_value(self) -> np.ndarray:
        if "value" in self.attrs:
            return self.onnx.numpy_helper.to_array(self.attrs["value"])
        for key in ("value_float", "value_floats", "value_int", "value_ints"):
            if key in self.attrs:
                return np.array(self.attrs[key], np.float32 if "float" in key else np.int64)
        raise self.error(f"a Constant with {sorted(self.attrs)} is not supported")


def _float(array: np.ndarray) -> Parameter:
    return Parameter(np.array(array, dtype=np.float32))


def _pads(node: Node, rank: int = 2) -> tuple[int, int]:
    """(ph, pw) from ONNX pads (begins then ends), which must be symmetric."""
    if node.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise node.error(f"auto_pad={node.attr('auto_pad', '')!r} is not supported")
    pads = list(node.attr("pads", [0] * 2 * rank))
    if pads[:rank] != pads[rank:]:
        raise node.error(f"pads {pads} are not symmetric; nn layers pad both sides equally")
    return tuple(pads[:rank])


def _pair(node: Node, name: str, default: int = 1) -> tuple[int, int]:
    value = list(node.attr(name, [default, default]))
    if len(value) != 2:
        raise node.error(f"{name}={value}: only 2-D (N, C, H, W) layers are supported")
    return tuple(value)


def conv(node: Node, shape: tuple) -> nn.Module:
    weight, bias = node.constant(1), node.constant_or_none(2)
    if weight.ndim != 4:
        raise node.error(f"weight {weight.shape} is not 2-D conv's (C_out, C_in/groups, KH, KW)")
    groups = node.attr("group", 1)
    layer = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], weight.shape[2:],
                      stride=_pair(node, "strides"), padding=_pads(node),
                      dilation=_pair(node, "dilations"), groups=groups, bias=bias is not None)
    layer.weight = _float(weight)
    if bias is not None:
        layer.bias = _float(bias)
    return layer


def _linear(weight: np.ndarray, bias: np.ndarray | None) -> nn.Linear:
    """A Linear with weight (out, in) and bias (out,) or none."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight = _float(weight)
    if bias is not None:
        layer.bias = _float(np.broadcast_to(bias.reshape(-1), (weight.shape[0],)))
    return layer


def gemm(node: Node, shape: tuple) -> nn.Module:
    """Y = alpha * X @ op(B) + beta * C with X (N, in): a Linear (PyTorch writes transB=1)."""
    if node.attr("transA", 0):
        raise node.error("transA=1 (a transposed input) has no nn layer")
    weight = node.constant(1)
    weight = weight if node.attr("transB", 0) else weight.T
    bias = node.constant_or_none(2)
    bias = None if bias is None else node.attr("beta", 1.0) * bias
    return _linear(node.attr("alpha", 1.0) * weight, bias)


def matmul(node: Node, shape: tuple) -> nn.Module:
    """X @ W with a constant W (in, out): a Linear without bias (a following Add gives it one)."""
    weight = node.constant(1)
    if weight.ndim != 2:
        raise node.error(f"MatMul by a {weight.shape} constant has no nn layer (needs 2-D)")
    return _linear(weight.T, None)


def batch_norm(node: Node, shape: tuple) -> nn.Module:
    if node.attr("training_mode", 0):
        raise node.error("training_mode=1 is not supported (export the inference graph)")
    layers = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}
    if len(shape) not in layers:
        raise node.error(f"input rank {len(shape)}: nn has BatchNorm1d (2-D, 3-D) and 2d (4-D)")
    affine = not (node.is_marker(1, 1.0) and node.is_marker(2, 0.0))
    layer = layers[len(shape)](shape[1], eps=node.attr("epsilon", 1e-5),
                               momentum=round(1.0 - node.attr("momentum", 0.9), 7), affine=affine)
    if affine:
        layer.weight, layer.bias = _float(node.constant(1)), _float(node.constant(2))
    layer.running_mean.data[...] = node.constant(3)
    layer.running_var.data[...] = node.constant(4)
    return layer


def layer_norm(node: Node, shape: tuple) -> nn.Module:
    axis = node.attr("axis", -1) % len(shape)
    eps = node.attr("epsilon", 1e-5)
    if node.is_marker(1, 1.0) and node.is_marker(2, 0.0):
        if axis == 1 and node.inputs[1].endswith(NORMALIZATION_SCALE):
            return nn.Normalization(eps)
        return nn.LayerNorm(shape[axis:], eps, False)
    layer = nn.LayerNorm(shape[axis:], eps)
    layer.weight = _float(np.broadcast_to(node.constant(1), shape[axis:]))
    bias = node.constant_or_none(2)
    layer.bias = _float(np.broadcast_to(0.0 if bias is None else bias, shape[axis:]))
    return layer


def _pool_args(node: Node) -> dict[str, Any]:
    if any(d != 1 for d in node.attr("dilations", [1, 1])):
        raise node.error("dilations are not supported by nn's pooling")
    if "kernel_shape" not in node.attrs:
        raise node.error("needs its kernel_shape attribute (ONNX requires it)")
    kernel = _pair(node, "kernel_shape")
    return dict(kernel_size=kernel, stride=_pair(node, "strides"), padding=_pads(node),
                ceil_mode=bool(node.attr("ceil_mode", 0)))


def max_pool(node: Node, shape: tuple) -> nn.Module:
    if len(node.outputs) > 1 and node.outputs[1]:
        raise node.error("the Indices output is not supported")
    return nn.MaxPool2d(**_pool_args(node))


def average_pool(node: Node, shape: tuple) -> nn.Module:
    return nn.AvgPool2d(**_pool_args(node), count_include_pad=bool(node.attr("count_include_pad",
                                                                             0)))


def flatten(node: Node, shape: tuple) -> nn.Module:
    if node.attr("axis", 1) % len(shape) != 1:
        raise node.error(f"axis={node.attr('axis', 1)}: only axis=1 keeps the batch (nn.Flatten)")
    return nn.Flatten()


def reshape(node: Node, shape: tuple) -> nn.Module:
    """A reshape that merges consecutive non-batch axes for every batch size: an nn.Flatten.
    A literal first dimension is taken as the batch size an exporter baked in (PyTorch's does
    for a static batch: x.view(1, -1))."""
    given = [int(d) for d in node.constant(1)]
    if BATCH in given:  # the batch size read by a Shape node: only as the first dimension
        if given.index(BATCH) != 0 or given.count(BATCH) != 1:
            where = [i for i, d in enumerate(given) if d == BATCH]
            raise node.error(f"the input's batch size goes to dimension(s) {where} of the "
                             "Reshape; only a reshape that keeps the batch first loads")
        given[0] = 0
    target = [0, *given[1:]] if given and given[0] > 0 else given
    for start in range(1, len(shape)):
        for end in range(start, len(shape)):
            merged = (*shape[:start], int(np.prod(shape[start:end + 1])), *shape[end + 1:])
            if all(_resolve(target, (n, *shape[1:])) == (n, *merged[1:]) for n in (2, 3)):
                return nn.Flatten(start, end)
    raise node.error(f"Reshape of {shape} to {given} is not a flatten that keeps the batch")


def _resolve(target: list[int], shape: tuple) -> tuple | None:
    """ONNX Reshape's output shape (0 copies a dim, -1 is inferred), None if impossible."""
    dims = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(target)]
    known = int(np.prod([d for d in dims if d != -1]))
    if dims.count(-1) == 1 and known and int(np.prod(shape)) % known == 0:
        dims[dims.index(-1)] = int(np.prod(shape)) // known
    return tuple(dims) if int(np.prod(dims)) == int(np.prod(shape)) else None


def softmax_axis(node: Node, shape: tuple) -> int:
    """The one axis of a Softmax or LogSoftmax (before opset 13 they flatten from `axis` on)."""
    axis = node.attr("axis", -1 if node.opset >= 13 else 1)
    if not -len(shape) <= axis < len(shape):
        raise node.error(f"axis={axis} is outside the input's {len(shape)} dimensions")
    axis %= len(shape)
    if node.opset < 13 and axis != len(shape) - 1:
        raise node.error(f"opset {node.opset} {node.op_type} over axes {axis}.. has no nn layer")
    return axis


def softmax(node: Node, shape: tuple) -> nn.Module:
    return nn.Softmax(softmax_axis(node, shape))


def dropout(node: Node, shape: tuple) -> nn.Module:
    training = node.constant_or_none(2)
    if training is not None and bool(training):
        raise node.error("training_mode=True is not supported")
    ratio = node.constant_or_none(1)
    return nn.Dropout(float(node.attr("ratio", 0.5) if ratio is None else ratio))


def leaky_relu(node: Node, shape: tuple) -> nn.Module:
    return nn.LeakyReLU(node.attr("alpha", 0.01))


# ------------------------------------------------------------------ what PyTorch models add:
# Elu, Softplus, LogSoftmax, Clip (ReLU6 or Hardtanh), GlobalAveragePool (AdaptiveAvgPool2d(1))

def elu(node: Node, shape: tuple) -> nn.Module:
    return nn.ELU(node.attr("alpha", 1.0))


def softplus(node: Node, shape: tuple) -> nn.Module:
    return nn.Softplus()


def log_softmax(node: Node, shape: tuple) -> nn.Module:
    return nn.LogSoftmax(softmax_axis(node, shape))


def clip(node: Node, shape: tuple) -> nn.Module:
    """Clip with constant bounds (inputs since opset 11): ReLU6 for [0, 6], else Hardtanh."""
    bounds = [node.constant_or_none(i) for i in (1, 2)]
    if any(b is None or np.asarray(b).size != 1 for b in bounds):
        raise node.error("Clip needs both bounds as one-number constants to become ReLU6 or "
                         "Hardtanh")
    low, high = (float(np.asarray(b)) for b in bounds)
    return nn.ReLU6() if (low, high) == (0.0, 6.0) else nn.Hardtanh(low, high)


def global_average_pool(node: Node, shape: tuple) -> nn.Module:
    if len(shape) != 4:
        raise node.error(f"GlobalAveragePool of a {len(shape)}-D input has no nn layer (4-D only)")
    return nn.AdaptiveAvgPool2d(1)


def _plain(layer: type) -> Any:
    def read(node: Node, shape: tuple) -> nn.Module:
        return layer()
    return read


READERS = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm, "MaxPool": max_pool, "AveragePool": average_pool,
    "Flatten": flatten, "Reshape": reshape, "Softmax": softmax, "Dropout": dropout,
    "LeakyRelu": leaky_relu, "Relu": _plain(nn.ReLU), "Sigmoid": _plain(nn.Sigmoid),
    "Tanh": _plain(nn.Tanh), "Identity": _plain(nn.Identity),
    "Elu": elu, "Softplus": softplus, "LogSoftmax": log_softmax, "Clip": clip,
    "GlobalAveragePool": global_average_pool,
}
