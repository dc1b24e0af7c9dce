"""Misuse corpus, ONNX import (issue 20): malformed graphs that raised a raw NumPy or protobuf
traceback, or loaded silently, now raise OnnxError naming the node or the model. One case each."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tinygrad_cnn.onnx import OnnxError  # noqa: E402
from tinygrad_cnn.onnx import load as onnx_load  # noqa: E402

# ----------------------------------------------------------------------------- ONNX graphs

def onnx_model(nodes, inits=(), opset=17):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


SHAPE = numpy_helper.from_array(np.array([0, -1], np.int64), "s")


def reshape_after(*nodes):
    """x -> Reshape(x, <constant computed by nodes into "t">) -> y."""
    return [*nodes, helper.make_node("Reshape", ["x", "t"], ["y"], name="/Reshape")]


@pytest.mark.parametrize("nodes, message", [
    ([helper.make_node("Cast", ["s"], ["t"], name="/Cast", to=999)],
     r"node '/Cast' \(Cast\): to=999 is not a numeric ONNX data type"),
    ([helper.make_node("Transpose", ["s"], ["t"], name="/T", perm=[0, 0])],
     r"node '/T' \(Transpose\): perm=\[0, 0\] is not a permutation of the 1 axes"),
    ([helper.make_node("Gather", ["s", "i"], ["t"], name="/G", axis=0)],
     r"node '/G' \(Gather\): cannot be computed: index 7 is out of bounds"),
    ([helper.make_node("Squeeze", ["s", "i"], ["t"], name="/Sq")],
     r"node '/Sq' \(Squeeze\): cannot be computed"),
])
def test_malformed_constant_nodes_name_the_node(nodes, message) -> None:
    index = numpy_helper.from_array(np.array([7], np.int64), "i")
    with pytest.raises(OnnxError, match=message):
        onnx_load(onnx_model(reshape_after(*nodes), [SHAPE, index]))


def test_an_opset_newer_than_onnx_knows_is_refused() -> None:
    with pytest.raises(OnnxError, match=r"uses opset 99; the installed onnx knows opsets up to"):
        onnx_load(onnx_model([helper.make_node("Relu", ["x"], ["y"])], opset=99))


def test_a_cyclic_graph_is_refused() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="/A"),
             helper.make_node("Add", ["a", "y"], ["b"], name="/B"),
             helper.make_node("Relu", ["b"], ["y"], name="/C")]
    with pytest.raises(OnnxError, match=r"node '/B' reads \['y'\], which no earlier node writes: "
                                        r"the graph is not in order or has a cycle"):
        onnx_load(onnx_model(nodes))


def test_a_value_written_twice_is_refused() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="/A"),
             helper.make_node("Relu", ["y"], ["y"], name="/B")]
    with pytest.raises(OnnxError, match=r"node '/B' writes \['y'\] again"):
        onnx_load(onnx_model(nodes))


def test_an_initializer_of_unknown_type_is_refused() -> None:
    bad = TensorProto(name="w", data_type=999, dims=[2])
    with pytest.raises(OnnxError, match=r"initializer 'w' is malformed"):
        onnx_load(onnx_model([helper.make_node("Relu", ["x"], ["y"])], [bad]))


WEIGHT = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")


def one_layer(node, inits=(), shape=("N", 1, 5, 5)):
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("node, inits, shape, message", [
    (helper.make_node("Conv", ["x", "w"], ["y"], name="/c", group=3), [WEIGHT], ("N", 1, 5, 5),
     r"node '/c' \(Conv\): cannot be loaded as an nn layer: .*divisible by groups=3"),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="/c", strides=[0, 0]), [WEIGHT],
     ("N", 1, 5, 5), r"node '/c' \(Conv\): cannot be loaded .*stride must be >= 1"),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="/c"), [WEIGHT], ("N", 1, 2, 2),
     r"node '/c' \(Conv\): cannot be loaded .*larger"),
    (helper.make_node("MaxPool", ["x"], ["y"], name="/p"), [], ("N", 1, 5, 5),
     r"node '/p' \(MaxPool\): needs its kernel_shape attribute"),
    (helper.make_node("Softmax", ["x"], ["y"], name="/s", axis=9), [], ("N", 1, 5, 5),
     r"node '/s' \(Softmax\): axis=9 is outside the input's 4 dimensions"),
    (helper.make_node("Relu", ["x"], ["y"], name="/r"), [], ("N", 1, -3, 5),
     r"input 'x' has a negative dimension"),
])
def test_layers_an_nn_layer_refuses_name_their_node(node, inits, shape, message) -> None:
    with pytest.raises(OnnxError, match=message):
        onnx_load(one_layer(node, inits, shape))
