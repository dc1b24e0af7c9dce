"""draw_graph's DOT source against the recorded graph, grouping, rendering and missing Graphviz."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import graphviz
import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn.autograd import toposort
from tinygrad_cnn.ops.elementwise import Log, Mul
from tinygrad_cnn.viz import (
    GraphvizNotFoundError,
    draw_graph,
    render_graph,
    retain_grads,
    summarize,
)

EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.MULTILINE)
NODE = re.compile(r"^\s*(\w+) \[label=", re.MULTILINE)


def node_ids(dot: graphviz.Digraph) -> list[str]:
    return NODE.findall(dot.source)


def position(nodes: list[Tensor], tensor: Tensor) -> int:
    """Index by identity (Tensor == Tensor is elementwise, so list.index does not work)."""
    return next(i for i, t in enumerate(nodes) if t is tensor)


def label_of(dot: graphviz.Digraph, node: str) -> str:
    match = re.search(rf"^\s*{node} \[label=<(.*)> ", dot.source, re.MULTILINE)
    assert match, node
    return match.group(1)


def seed_model() -> nn.Module:
    """The `seed` model of models/mnist.py (loaded from the script, so the test follows it)."""
    path = Path(__file__).resolve().parents[1] / "models" / "mnist.py"
    spec = importlib.util.spec_from_file_location("mnist_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.seed_model()


@pytest.fixture
def seed_loss():
    tg.manual_seed(0)
    model = seed_model()
    x = Tensor(np.random.default_rng(0).random((2, 1, 28, 28)), name="images")
    loss = tg.ops.cross_entropy(model(x), np.array([3, 7]))
    loss.backward()
    return model, loss


def test_small_graph_has_one_op_node_per_op_and_edges_input_op_output():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    w = Tensor([0.5, -1.0, 2.0], requires_grad=True, name="w")
    loss = (x * w).relu().sum().log()
    dot = draw_graph(loss)
    nodes = toposort(loss)
    ids = {id(t): i for i, t in enumerate(nodes)}
    ops = [t for t in nodes if t._ctx is not None]
    assert sorted(n for n in node_ids(dot) if n.startswith("op")) == sorted(
        f"op{ids[id(t)]}" for t in ops)
    expected = set()
    for t in ops:
        expected.add((f"op{ids[id(t)]}", f"t{ids[id(t)]}"))
        expected.update((f"t{ids[id(p)]}", f"op{ids[id(t)]}") for p in t._ctx.parents)
    assert set(EDGE.findall(dot.source)) == expected
    assert len(ops) == 4
    assert "<B>Mul</B>" in label_of(dot, f"op{ids[id(ops[0])]}")


def test_tensor_labels_show_name_shape_dtype_values_and_grads():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    big = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4), name="big")
    loss = (x.sum() * big).mean()
    before = draw_graph(loss)
    assert "grad" not in label_of(before, "t0")
    loss.backward()
    label = label_of(draw_graph(loss), "t0")
    assert "x  3" in label and "float32" in label and "[1., 2., 3.]" in label
    assert "grad [5.5, 5.5, 5.5]" in label  # d mean(sum(x) * big) / dx = mean(big)
    big_label = label_of(draw_graph(loss), f"t{position(toposort(loss), big)}")
    assert "big  3x4" in big_label and "min 0  mean 5.5  max 11" in big_label
    hidden = draw_graph(loss, show_values=False, show_grads=False)
    assert "[1., 2., 3.]" not in hidden.source and "grad" not in label_of(hidden, "t0")


def test_parameters_stand_out_and_root_is_marked():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    data = Tensor([3.0, 4.0], name="data")
    dot = draw_graph((x * data).sum())
    assert "#cfe3ff" in label_of(dot, "t0") and "penwidth=2" in dot.source  # the parameter x
    assert "#ececec" in label_of(dot, "t1")  # a plain input
    assert "#ffd9d9" in label_of(dot, "t3")  # the root


def test_retain_grads_shows_every_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    loss = y.sum()
    assert retain_grads(loss) == 3
    loss.backward()
    np.testing.assert_allclose(y.grad.data, [1.0, 1.0])
    assert "grad [1., 1.]" in label_of(draw_graph(loss), "t2")


def test_derivative_rule_is_the_op_attribute():
    assert Log.rule == "grad_x = g / x"
    assert Mul.rule == "grad_x = g * y, grad_y = g * x"

    class NoRule(tg.Function):
        """Does something."""

    assert NoRule.rule is None
    x = Tensor([2.0], requires_grad=True)
    dot = draw_graph(x.log(), show_rules=True)
    assert "grad_x = g / x" in dot.source
    assert "grad_x = g / x" not in draw_graph(x.log()).source


def test_summarize_counts_non_finite_values():
    assert summarize(np.array([1.0, np.nan, 3.0, 5.0, 7.0])) == (
        "min 1  mean 4  max 7  non-finite 1")
    assert summarize(np.array([True, False, True])) == "true 2/3"
    assert summarize(np.zeros((0, 3))) == "empty"


def test_seed_model_graph_names_parameters_and_has_one_op_node_per_op(seed_loss):
    model, loss = seed_loss
    dot = draw_graph(loss, model)
    ops = [t for t in toposort(loss) if t._ctx is not None]
    assert sum(n.startswith("op") for n in node_ids(dot)) == len(ops)
    nodes = toposort(loss)
    for name, param in model.named_parameters():
        label = label_of(dot, f"t{position(nodes, param)}")
        assert f"<B>{name}  " in label
        assert "grad " in label  # backward ran: the gradient summary is drawn
    assert "images  2x1x28x28" in dot.source
    assert any(t._ctx.name.startswith("Conv2d[") for t in ops)


def test_group_by_module_has_one_cluster_per_layer(seed_loss):
    model, loss = seed_loss
    dot = draw_graph(loss, model, group_by_module=True)
    clusters = re.findall(r"subgraph (cluster_\d+) \{", dot.source)
    layers = [name for name, m in model.named_modules() if name]
    assert len(clusters) == len(set(clusters)) == len(layers) == 7
    labels = re.findall(r" label=\"([^\"]+)\"", dot.source)
    assert labels == [f"{name} ({type(m).__name__})" for name, m in model.named_modules() if name]
    # each cluster holds its layer's parameters: the conv cluster names 0.weight and 0.bias
    conv_cluster = dot.source.split("subgraph cluster_0 {")[1].split("}")[0]
    assert "0.weight" in conv_cluster and "0.bias" in conv_cluster and "Conv2d[" in conv_cluster


def test_module_level_view_has_one_node_per_layer(seed_loss):
    model, loss = seed_loss
    dot = draw_graph(loss, model, module_level=True)
    module_nodes = [n for n in node_ids(dot) if re.fullmatch(r"m\d+", n)]
    assert len(module_nodes) == 7
    titles = [re.search(r"<B>(.*?)</B>", label_of(dot, n)).group(1) for n in module_nodes]
    assert titles == [f"{name} ({type(m).__name__})" for name, m in model.named_modules() if name]
    assert "30 parameters" in label_of(dot, "m0")  # conv 3x1x3x3 weight + 3 biases
    edges = re.findall(r"(\w+) -> (\w+) \[label=\" ([0-9x]+|scalar)\"\]", dot.source)
    assert ("m0", "m1", "2x3x26x26") in edges and ("m3", "m4", "2x2028") in edges
    assert not any(n.startswith("t") and "weight" in label_of(dot, n) for n in node_ids(dot))


def test_deep_graph_draws_without_recursion_and_max_nodes_truncates():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    dot = draw_graph(y, max_nodes=None, show_values=False)
    assert sum(n.startswith("op") for n in node_ids(dot)) == 10_000
    small = draw_graph(y, max_nodes=100)
    assert sum(n.startswith("op") for n in node_ids(small)) == 100
    assert "9900 more ops not drawn" in small.source


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_writes_the_image(tmp_path, seed_loss, fmt):
    model, loss = seed_loss
    path = render_graph(draw_graph(loss, model, group_by_module=True), tmp_path / f"g.{fmt}")
    head = path.read_bytes()[:400]
    assert {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}[fmt] in head


def test_missing_dot_writes_the_source_and_says_how_to_install(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot", "-Tsvg"))

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    dot = draw_graph(Tensor([2.0], requires_grad=True).log())
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        render_graph(dot, tmp_path / "out" / "graph.svg")
    assert "brew install graphviz" in str(info.value)
    assert "https://graphviz.org/download/" in str(info.value)
    assert info.value.dot_path == tmp_path / "out" / "graph.dot"
    assert info.value.dot_path.read_text() == dot.source
    assert not (tmp_path / "out" / "graph.svg").exists()


def test_render_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="svg, png or pdf"):
        render_graph(draw_graph(Tensor([1.0], requires_grad=True).exp()), tmp_path / "g.gif")


# ----- a gradient's own graph (create_graph) ----------------------------------------------------
def clusters_of(dot: graphviz.Digraph) -> dict[str, list[str]]:
    """Each cluster's label and the node ids drawn inside it."""
    out = {}
    for body in dot.source.split("subgraph cluster_")[1:]:
        body = body.split("\n\t}")[0]
        label = re.search(r" label=\"?([^\"\n]+?)\"? labeljust", body).group(1)
        out[label] = NODE.findall(body)
    return out


def tanh_gradients(order: int) -> tuple[Tensor, list[Tensor]]:
    x = Tensor(0.5, requires_grad=True, name="x")
    grads = [x.tanh()]
    for _ in range(order):
        grads += tg.autograd.grad(grads[-1], x, create_graph=True)
    return x, grads


def test_gradient_graph_puts_backward_ops_in_a_cluster_named_after_the_forward_op():
    x, (y, dy) = tanh_gradients(1)
    dot = draw_graph(dy)
    nodes = toposort(dy)
    ops = {f"op{i}": t for i, t in enumerate(nodes) if t._ctx is not None}
    backward = {n for n, t in ops.items() if t._ctx.backward_of is y._ctx}
    assert len(backward) >= 2  # grad_out * (1 - out * out): Mul, Sub, Mul
    assert set(clusters_of(dot)) == {"TanhBackward"}
    inside = set(clusters_of(dot)["TanhBackward"])
    assert backward <= inside and {"t" + n[2:] for n in backward} <= inside
    for n in backward:  # first order: orange
        assert 'fillcolor="#ffdcb8"' in re.search(rf"^\s*{n} \[.*$", dot.source, re.M).group(0)
    # the forward op is drawn greyed, outside the cluster, and its output feeds the backward ops
    tanh_op, tanh_out = f"op{position(nodes, y)}", f"t{position(nodes, y)}"
    assert tanh_op not in inside and "#f3f3f3" in label_of(dot, tanh_op)
    assert 'fontcolor="#9a9a9a"' in re.search(rf"^\s*{tanh_out} \[.*$", dot.source, re.M).group(0)
    readers = {dst for src, dst in EDGE.findall(dot.source) if src == tanh_out}
    assert readers and readers <= backward
    assert "#cfe3ff" in label_of(dot, f"t{position(nodes, x)}")  # the leaf x drawn as usual


def test_second_derivative_graph_names_the_backward_of_a_backward_and_its_order():
    _, (y, _, d2y) = tanh_gradients(2)
    dot = draw_graph(d2y)
    clusters = clusters_of(dot)
    assert set(clusters) == {"TanhBackward", "TanhBackward › MulBackward"}
    nodes = toposort(d2y)
    second = [f"op{i}" for i, t in enumerate(nodes) if t._ctx is not None
              and t._ctx.backward_of is not None and t._ctx.backward_of.backward_of is y._ctx]
    assert second and set(second) <= set(clusters["TanhBackward › MulBackward"])
    for n in second:  # second order: purple
        assert "#e4d4f7" in label_of(dot, n)
    # the sum of the two contributions out * g + g * out is the engine's, not a backward's op:
    # drawn as a usual op, outside the clusters
    adds = [f"op{i}" for i, t in enumerate(nodes) if t._ctx is not None
            and t._ctx.name == "Add" and t._ctx.backward_of is None]
    assert adds and all("#fff3c4" in label_of(dot, n) for n in adds)
    assert not any(n in c for n in adds for c in clusters.values())


def test_plain_graph_has_no_backward_clusters_or_greyed_nodes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    dot = draw_graph(x.tanh().sum())
    assert "subgraph" not in dot.source and "#f3f3f3" not in dot.source


def test_numpy_only_backward_is_drawn_as_first_order_only():
    class Cube(tg.Function):
        """out = x**3;  grad_x = g * 3 x**2 (NumPy only: no second order)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 3 * x**2

    x = Tensor([2.0], requires_grad=True)
    (dx,) = tg.autograd.grad(Cube.apply(x), x, create_graph=True)
    np.testing.assert_allclose(dx.data, [12.0])
    dot = draw_graph(dx)
    assert set(clusters_of(dot)) == {"CubeBackward"}
    assert "Cube&#x27;s NumPy backward" in dot.source and "first order only" in dot.source


def test_masks_a_backward_reads_are_drawn_as_constants_not_inputs():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True, name="x")
    (dx,) = tg.autograd.grad((x.relu() * x).sum(), x, create_graph=True)
    nodes = toposort(dx)
    mask = next(t for t in nodes if t._ctx is None and t is not x and t.data[1] == 0)
    assert "<B>const  3</B>" in label_of(draw_graph(dx), f"t{position(nodes, mask)}")
    data = Tensor([4.0, 5.0, 6.0])  # read by the forward Mul: an input, also in the gradient
    (dx,) = tg.autograd.grad((x * data).tanh().sum(), x, create_graph=True)
    nodes = toposort(dx)
    assert "<B>input  3</B>" in label_of(draw_graph(dx), f"t{position(nodes, data)}")
