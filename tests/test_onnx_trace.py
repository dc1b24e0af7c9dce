"""ONNX export by tracing: models whose forward is not a chain of layers (residual adds,
functional calls, reshapes from x.size(0), concatenations, reductions, a layer called twice,
AdaptiveAvgPool2d((7, 7)) where the input size makes it a fixed pooling) export, and ONNX Runtime
computes what we compute, at the traced batch size and another."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor, nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinygrad_cnn.onnx import OnnxError, export  # noqa: E402


class Residual(nn.Module):
    """A ResNet-style block and head: the add reads the block's input."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d((7, 7))
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(4 * 7 * 7, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.bn(self.conv(x)) + x)
        x = self.pool(x)  # 14x14 -> 7x7: a 2x2 average pooling
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.fc(self.drop(x)), dim=1)


class VGGHead(nn.Module):
    """torchvision's VGG ending: AdaptiveAvgPool2d((7, 7)) on a 7x7 map, flatten, classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(2 * 7 * 7, 8), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(8, 3))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(tg.flatten(x, 1))


class Branches(nn.Module):
    """Two branches concatenated, reductions, a permute, a matmul with a parameter, a shared
    layer called twice, and elementwise arithmetic with constants."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(2, 3, 1)
        self.b = nn.Conv2d(2, 3, 3, padding=1)
        self.shared = nn.Linear(6, 6)
        self.proj = nn.Parameter(tg.randn(6, 4))

    def forward(self, x):
        y = tg.cat([F.max_pool2d(self.a(x), 2), F.avg_pool2d(self.b(x), 2)], dim=1)
        z = y.mean((2, 3)) + y.amax(dim=(2, 3)) * 0.5
        z = self.shared(F.silu(self.shared(z)))
        w = (z @ self.proj).sigmoid().clamp(0.1, 0.9) ** 2
        stacked = tg.stack([w, (w.abs() + 1).sqrt()], dim=1)  # (N, 2, 4)
        return F.softmax(stacked.permute(0, 2, 1).reshape(len(x), -1) - 1.0, dim=-1)


class Quickstart(nn.Module):
    """The quickstart tutorial's NeuralNetwork (smaller): Flatten, then a Sequential stack."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(8 * 8, 16), nn.ReLU(),
                                               nn.Linear(16, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


CASES = {"residual": (Residual, (3, 1, 14, 14)), "vgg_head": (VGGHead, (3, 3, 14, 14)),
         "branches": (Branches, (3, 2, 6, 6)), "quickstart": (Quickstart, (3, 1, 8, 8))}


def _trained(make, shape, seed=0):
    """A model after two SGD steps in training mode, so batch norm's statistics move."""
    tg.manual_seed(seed)
    model = make()
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (model(Tensor(x)) ** 2).mean().backward()
        opt.step()
    return model.eval(), x


def _run_ort(proto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_models_match_onnx_runtime_for_any_batch(name, opset, tmp_path):
    model, x = _trained(*CASES[name])
    proto = export(model, x, tmp_path / f"{name}.onnx", opset=opset)
    assert (tmp_path / f"{name}.onnx").exists()
    for batch in (x, np.random.default_rng(9).standard_normal((5, *x.shape[1:]))):
        batch = batch.astype(np.float32)
        ours = model(Tensor(batch)).data
        np.testing.assert_allclose(_run_ort(proto, batch), ours, rtol=1e-5, atol=1e-5)


def test_layers_keep_their_names_and_state_dict_keys():
    model, x = _trained(*CASES["residual"])
    graph = export(model, x).graph
    ops = [(node.name, node.op_type) for node in graph.node]
    assert ("/stem/Conv", "Conv") in ops and ("/bn/BatchNormalization", "BatchNormalization") in ops
    assert ("/Add", "Add") in ops and ("/pool/AveragePool", "AveragePool") in ops
    assert ("/Reshape", "Reshape") in ops and ("/drop/Dropout", "Dropout") in ops
    weights = {t.name for t in graph.initializer if not t.name.startswith("/")}
    assert weights == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}


def test_a_layer_called_twice_writes_its_weights_once():
    model, x = _trained(*CASES["branches"])
    graph = export(model, x).graph
    names = [t.name for t in graph.initializer]
    assert names.count("shared.weight") == 1
    assert sum(node.op_type == "Gemm" for node in graph.node) == 2


def test_adaptive_pooling_to_windows_of_different_sizes_is_refused_naming_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.AdaptiveAvgPool2d((7, 7)))
    with pytest.raises(OnnxError, match=r"1 \(AdaptiveAvgPool2d.*10x10 to 7x7 has windows"):
        export(model, np.zeros((1, 1, 10, 10), np.float32))


def test_export_leaves_no_graph_and_the_training_flags_as_they_were():
    model, x = _trained(*CASES["residual"])
    model.train()
    with tg.no_grad():  # export still traces: the graph is recorded for its own pass
        export(model, x)
    assert model.training and model.bn.training
    assert all(p.grad is None or p.grad.shape == p.shape for p in model.parameters())
