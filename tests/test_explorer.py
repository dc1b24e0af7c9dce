"""The explorer's computation: layer outputs, gradients and saliency equal the engine's (checked
with gradcheck), conv-cell arithmetic, backprop steps in the engine's order, refusals."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest
from explorer_digits import mnist, sample_digits

import tinygrad_cnn as tg
from tinygrad_cnn import nn, runs
from tinygrad_cnn.autograd import toposort
from tinygrad_cnn.data import Normalize
from tinygrad_cnn.explorer import (
    ExplorerApp,
    ExplorerError,
    conv_cell,
    kernels,
    record_backprop,
    trace,
)
from tinygrad_cnn.explorer.page import static_data

MODELS = {"seed": mnist.seed_model, "lenet": mnist.lenet, "best": mnist.best_model}


def _model(name: str) -> nn.Module:
    tg.manual_seed(1)
    model = MODELS[name]()
    if name == "best":  # running statistics that are not the identity, so eval mode matters
        for layer in model.modules():
            if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = layer.running_mean.shape[0]
                layer.running_mean.data[:] = np.linspace(-0.5, 0.5, n)
                layer.running_var.data[:] = np.linspace(0.5, 2.0, n)
    return model


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    return sample_digits(1)[0][0]


def _float64(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model).eval()
    for t in [*model.parameters(), *model.buffers()]:
        t.data = t.data.astype(np.float64)
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layer_outputs_are_the_models_own(name, digit):
    model = _model(name)
    seen = []
    for layer in model.children():
        layer.register_forward_hook(lambda m, args, out: seen.append(out.data[0].copy()))
    t = trace(model, digit)
    seen_by_hooks = seen[:]
    probs = runs.predict_proba(model, digit[None], Normalize())[0]
    assert len(t.layers) == len(seen_by_hooks)
    for row, expected in zip(t.layers, seen_by_hooks):
        np.testing.assert_array_equal(row.output, expected, err_msg=row.name)
    np.testing.assert_allclose(t.probs, probs, rtol=1e-6, atol=1e-7)
    assert t.prediction == int(probs.argmax()) and t.target == t.prediction
    np.testing.assert_array_equal(t.input, Normalize()(digit[None]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_saliency_is_the_engines_gradient_and_passes_gradcheck(name, digit):
    """On the digit itself for the smooth seed model; with ReLU and max pooling, the digit's
    flat black background makes exact ties (no derivative there), so a little noise first."""
    model = _model(name)
    target = 3
    image = digit if name == "seed" else np.clip(
        digit / 255 + np.random.default_rng(0).uniform(0, 0.05, digit.shape), 0, 1)
    t = trace(model, image, target=target)
    model64 = _float64(model)

    def score(x):
        return model64(x)[:, target].sum()

    x64 = tg.Tensor(Normalize()(image[None, None]).astype(np.float64), requires_grad=True,
                    dtype=np.float64)
    if name != "best":  # best's 1,568 float64 forwards for central differences take 10 s
        assert tg.gradcheck(score, [x64], atol=1e-5, rtol=1e-3)
    score(x64).backward()
    np.testing.assert_allclose(t.saliency, x64.grad.data[0], rtol=2e-3, atol=1e-5)
    assert t.objective == pytest.approx(float(score(x64).item()), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_layers_gradient_is_d_score_d_output(name, digit):
    """Checked for every layer by running the rest of the model on that layer's output."""
    model = _model(name)
    t = trace(model, digit, target=7)
    layers = list(_float64(model).children())
    for k, row in enumerate(t.layers):
        h = tg.Tensor(row.output[None].astype(np.float64), requires_grad=True, dtype=np.float64)
        out = h
        for layer in layers[k + 1:]:
            out = layer(out)
        out[0, 7].backward()
        np.testing.assert_allclose(row.grad, h.grad.data[0], rtol=2e-3, atol=1e-6,
                                   err_msg=row.name)


def test_gradient_of_the_loss_for_a_label(digit):
    model = _model("lenet")
    t = trace(model, digit, label=4)
    x = tg.Tensor(Normalize()(digit[None, None]), requires_grad=True)
    loss = tg.ops.cross_entropy(model.eval()(x), tg.Tensor(np.array([4]), dtype=None))
    loss.backward()
    assert t.label == 4 and t.objective == pytest.approx(loss.item(), rel=1e-6)
    np.testing.assert_allclose(t.saliency, x.grad.data[0], rtol=1e-5, atol=1e-8)


def test_the_callers_model_is_left_as_it_was(digit):
    model = _model("best").train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    trace(model, digit)
    record_backprop(model, digit, 2)
    assert all(m.training for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.mark.parametrize("name,cells", [("seed", [(0, 0, 0, 0), (0, 2, 25, 25), (0, 1, 7, 13)]),
                                        ("lenet", [(0, 5, 23, 0), (3, 15, 4, 7)]),
                                        ("best", [(0, 0, 0, 0), (0, 9, 27, 14), (4, 31, 9, 9)])])
def test_conv_cell_arithmetic_equals_the_engines_conv(name, cells, digit):
    """Loops over the window (zeros over padding) against the engine's conv output, and the
    value after the following per-value layers (batch norm, the activation)."""
    model = _model(name)
    t = trace(model, digit)
    for layer, channel, row, col in cells:
        cell = conv_cell(t, layer, channel, row, col)
        expected = t.layers[layer].output[channel, row, col]
        assert cell["value"] == pytest.approx(float(expected), abs=1e-5)
        np.testing.assert_allclose(cell["products"], cell["window"] * cell["kernel"])
        assert cell["sum"] + cell["bias"] == cell["value"]
        followers = [r for r in t.layers[layer + 1:layer + 3]
                     if isinstance(r.module, (nn.ReLU, nn.Sigmoid, nn.BatchNorm2d))]
        assert [v for _, _, v in cell["then"]] == [float(r.output[channel, row, col])
                                                   for r in followers]
    if name == "best":  # padding 2: the corner cell's window is zero outside the image
        corner = conv_cell(t, 0, 0, 0, 0)
        assert corner["rows"][:2] == [-2, -1] and not corner["window"][:, :2].any()


def test_conv_cell_refuses_a_cell_outside_the_map_and_a_non_conv_layer(digit):
    t = trace(_model("seed"), digit)
    with pytest.raises(ExplorerError, match=r"cell \(3, 0, 0\) is outside the map \(3, 26, 26\)"):
        conv_cell(t, 0, 3, 0, 0)
    with pytest.raises(ExplorerError, match="layer 1 is a Sigmoid, not Conv2d"):
        conv_cell(t, 1, 0, 0, 0)


def test_kernels_are_each_conv_layers_weights():
    model = _model("best")
    found = kernels(model)
    assert list(found) == ["0", "4"]
    np.testing.assert_array_equal(found["4"]["weight"], model[4].weight.data)
    np.testing.assert_array_equal(found["0"]["bias"], np.zeros(16))  # bias=False shows zeros


def test_backprop_steps_are_the_engines_order_and_gradients(digit):
    """The seed model's loss, step by step: the order is the engine's (reversed toposort, ops
    only), each step's incoming gradient is what the engine hands that op (retained grads of an
    independent run), and the leaves' gradients add up to their `.grad`."""
    model = _model("seed")
    record = record_backprop(model, digit, 5)
    order = toposort(record.loss)
    assert [s.node for s in record.steps] == [i for i in reversed(range(len(order)))
                                             if order[i]._ctx is not None]
    assert [s.op for s in record.steps][:3] == ["CrossEntropy", "Linear", "Sigmoid"]

    again = copy.deepcopy(model).eval()  # the same loss, with every tensor keeping its grad
    x = tg.Tensor(Normalize()(digit[None, None]), requires_grad=True)
    loss = tg.ops.cross_entropy(again(x), tg.Tensor(np.array([5]), dtype=None))
    nodes = toposort(loss)
    for node in nodes:
        if node.requires_grad and node._ctx is not None:
            node.retain_grad()
    loss.backward()
    assert [n._ctx.name if n._ctx else None for n in nodes] == \
        [n._ctx.name if n._ctx else None for n in order]
    for step in record.steps[1:]:
        np.testing.assert_array_equal(step.grad_out, nodes[step.node].grad.data)
    leaves: dict[int, np.ndarray] = {}
    for step in record.steps:
        for send in step.sends:
            if send.leaf:
                leaves[send.node] = leaves.get(send.node, 0) + send.grad
    names = {s.node: s.name for step in record.steps for s in step.sends if s.leaf}
    assert sorted(names.values()) == ["0.bias", "0.weight", "4.bias", "4.weight", "6.bias",
                                      "6.weight", "image"]
    for index, total in leaves.items():
        np.testing.assert_array_equal(total, nodes[index].grad.data)


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_a_model_it_cannot_show_names_the_layer(digit):
    with pytest.raises(ExplorerError, match=r"cannot show layer 1 \(Doubler\): the explorer "
                                            r"shows nn's own layers"):
        trace(nn.Sequential(nn.Flatten(), Doubler(), nn.Linear(784, 10)), digit)

    class Net(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(ExplorerError, match="cannot show Net: the explorer runs a model layer "
                                            "by layer"):
        trace(Net(), digit)


def test_any_sequential_of_nns_layers_nested_too(digit):
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Tanh()),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(72, 10))
    t = trace(model, digit)
    assert [r.name for r in t.layers] == ["0.0", "0.1", "1", "2", "3", "4"]
    assert conv_cell(t, 0, 1, 6, 6)["value"] == pytest.approx(float(t.layers[0].output[1, 6, 6]),
                                                               abs=1e-5)
    assert [n for n, _, _ in conv_cell(t, 0, 1, 6, 6)["then"]] == ["0.1"]


def test_bad_images_and_classes_are_refused(digit):
    model = _model("seed")
    with pytest.raises(ExplorerError, match=r"expected one grayscale image \(H, W\), got shape"):
        trace(model, digit[None])
    with pytest.raises(ExplorerError, match="image must be uint8 or finite floats"):
        trace(model, np.full((28, 28), np.nan))
    with pytest.raises(ExplorerError, match=r"target 10 is not a class \(0..9\)"):
        trace(model, digit, target=10)
    with pytest.raises(ExplorerError, match="label must be an integer class, got 'x'"):
        trace(model, digit, label="x")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_graph_tab_payload_has_the_gradients_own_graph(digit):
    """The graph tab's second view: d loss / d image recorded with create_graph, each op's
    backward a cluster named after it, drawn from the same record as the loss's graph."""
    model = _model("lenet")
    data = static_data(model, [digit], [5])
    svg = data["model"]["grad_graph_svg"]
    assert svg.startswith("<svg") and data["model"]["graph_svg"].startswith("<svg")
    for title in ("CrossEntropyBackward", "LinearBackward", "ReLUBackward", "MaxPool2dBackward",
                  "Conv2dBackward"):
        assert f">{title}</text>" in svg, title
    assert "1x1x28x28" in svg  # the gradient has the image's shape
    assert "Conv2dBackward" not in data["model"]["graph_svg"]
    record = record_backprop(model, digit, 5)
    image = next(t for t in toposort(record.loss) if t.name == "image")
    (grad,) = tg.autograd.grad(record.loss, image, create_graph=True)
    clusters = {t._ctx.backward_of.name.split("[")[0] for t in toposort(grad)
                if t._ctx is not None and t._ctx.backward_of is not None}
    assert svg.count("class=\"cluster\"") == len({id(t._ctx.backward_of) for t in toposort(grad)
                                                   if t._ctx is not None
                                                   and t._ctx.backward_of is not None})
    assert all(f">{name}Backward</text>" in svg for name in clusters)
    app = ExplorerApp(model, grad_graph_svg=svg)
    status, info = app.handle("GET", "/api/model", None)
    assert status == 200 and info["grad_graph_svg"] == svg
