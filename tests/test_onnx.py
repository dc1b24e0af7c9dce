"""ONNX export checked by onnx.checker and ONNX Runtime (the three MNIST models and 60 seeded random
Sequentials of every exportable layer, after a few SGD steps), the round trip export -> load ->
same outputs and gradients, a PyTorch-style LeNet built with onnx.helper that loads and trains,
and the errors that name the layer or node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn, ops, optim

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tinygrad_cnn.onnx import OnnxError, export, load  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))
import mnist  # noqa: E402

TOLERANCE = 1e-5  # max difference from ONNX Runtime, relative to outputs above 1 in size


def run_ort(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def sgd_steps(model: nn.Module, x: np.ndarray, steps: int = 3) -> None:
    """A few training steps on a made-up loss, so weights and running statistics move."""
    params = list(model.parameters())
    opt = optim.SGD(params, lr=0.05, momentum=0.9) if params else None
    model.train()
    for _ in range(steps):
        out = model(Tensor(x))
        loss = (out * out).mean()
        if opt:
            opt.zero_grad()
            loss.backward()
            opt.step()


def outputs_and_grads(model: nn.Module, x: np.ndarray, training: bool, seed: int = 0):
    """Output, input gradient and parameter gradients by name for loss = sum(out * weights)."""
    model.train(training)
    tg.manual_seed(seed)  # the same dropout masks in both models
    xt = Tensor(x, requires_grad=True)
    model.zero_grad()
    out = model(xt)
    weights = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    (out * Tensor(weights)).sum().backward()
    grads = {name: p.grad.data for name, p in model.named_parameters() if p.grad is not None}
    return out.data, xt.grad.data, grads


def assert_round_trip(model: nn.Module, x: np.ndarray, path) -> nn.Module:
    loaded = load(path)
    for training in (False, True):
        out, grad_x, grads = outputs_and_grads(model, x, training)
        out2, grad_x2, grads2 = outputs_and_grads(loaded, x, training)
        np.testing.assert_allclose(out2, out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(grad_x2, grad_x, rtol=1e-4, atol=1e-5)
        assert set(grads2) == set(grads)
        for name, grad in grads.items():
            np.testing.assert_allclose(grads2[name], grad, rtol=1e-4, atol=1e-5, err_msg=name)
    return loaded


def check_exported(model: nn.Module, x: np.ndarray, path) -> float:
    """Export; onnx.checker passes; ONNX Runtime equals our eval-mode output. The max error."""
    proto = export(model, x, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    names = {t.name for t in proto.graph.initializer}
    state = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert state <= names and all(n in state or n.startswith("/") for n in names)
    model.eval()
    ours = model(Tensor(x)).data
    theirs = run_ort(path, x)
    assert theirs.shape == ours.shape
    error = float(np.abs(theirs - ours).max())
    # float32 throughout: the difference scales with the outputs (a trained LogSoftmax -> Linear
    # chain reaches values of 10 and more)
    assert error <= TOLERANCE * max(1.0, float(np.abs(ours).max())), error
    return error


@pytest.mark.parametrize("name", sorted(mnist.MODELS))
def test_mnist_models_match_onnx_runtime_and_round_trip(name, tmp_path):
    tg.manual_seed(0)
    model = mnist.MODELS[name]()
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32)
    sgd_steps(model, x)
    check_exported(model, x, tmp_path / f"{name}.onnx")
    loaded = assert_round_trip(model, x, tmp_path / f"{name}.onnx")
    state = model.state_dict()
    assert list(loaded.state_dict()) == list(state)  # the same names, in PyTorch's order
    for key, value in loaded.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(value, state[key])


# ----- random Sequentials of every exportable layer ----------------------------------------------
def _image_layer(rng, c: int) -> nn.Module:
    kind = rng.integers(0, 16)
    if kind <= 2:
        groups = int(rng.choice([g for g in (1, 2, 3) if c % g == 0]))
        c_out = groups * int(rng.integers(1, 4))
        return nn.Conv2d(c, c_out, int(rng.integers(1, 4)), stride=int(rng.integers(1, 3)),
                         padding=int(rng.integers(0, 2)), dilation=int(rng.integers(1, 3)),
                         groups=groups, bias=bool(rng.integers(0, 2)))
    pool = (nn.MaxPool2d, nn.AvgPool2d)[int(rng.integers(0, 2))]
    return [None, None, None, lambda: nn.BatchNorm2d(c, affine=bool(rng.integers(0, 2))),
            lambda: pool(2, stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 2))),
            nn.ReLU, nn.Sigmoid, nn.Tanh, lambda: nn.LeakyReLU(float(rng.uniform(0.01, 0.3))),
            lambda: nn.Softmax(1), lambda: nn.Dropout(float(rng.uniform(0.1, 0.5))),
            nn.Normalization, lambda: nn.ELU(float(rng.uniform(0.5, 2.0))), nn.ReLU6,
            lambda: nn.Hardtanh(-0.5, 0.5), lambda: nn.AdaptiveAvgPool2d(1)][kind]()


def _vector_layer(rng, shape: tuple) -> nn.Module:
    f = shape[-1]
    kind = rng.integers(0, 12)
    makers = [lambda: nn.Linear(f, int(rng.integers(2, 9)), bias=bool(rng.integers(0, 2))),
              lambda: nn.Linear(f, int(rng.integers(2, 9))),
              lambda: nn.BatchNorm1d(shape[1]),
              lambda: nn.LayerNorm(f, elementwise_affine=bool(rng.integers(0, 2))),
              nn.ReLU, nn.Tanh, lambda: nn.LeakyReLU(0.2), lambda: nn.Softmax(-1),
              lambda: nn.Dropout(0.3), nn.Identity, nn.Softplus, lambda: nn.LogSoftmax(-1)]
    return makers[kind]()


def random_sequential(seed: int) -> tuple[nn.Sequential, np.ndarray]:
    """Image layers, a flatten (to (N, F) or (N, C, H*W)), vector layers; some nested."""
    rng = np.random.default_rng(seed)
    tg.manual_seed(seed)
    x = rng.standard_normal((4, int(rng.integers(1, 4)), int(rng.integers(7, 12)),
                             int(rng.integers(7, 12)))).astype(np.float32)
    layers, value = [], Tensor(x)
    for stage in ("image", "flatten", "vector"):
        for _ in range(1 if stage == "flatten" else int(rng.integers(1, 5))):
            shape = tuple(value.shape)
            if stage == "image":
                layer = _image_layer(rng, shape[1])
            elif stage == "flatten":
                layer = nn.Flatten() if rng.integers(0, 3) else nn.Flatten(2, 3)
            else:
                layer = _vector_layer(rng, shape)
            if layer is None:
                continue
            try:
                value = layer.eval()(value)
            except ValueError:  # the image became smaller than the kernel: skip the layer
                continue
            layers.append(layer)
    if rng.integers(0, 2):  # nest the first layers
        layers = [nn.Sequential(*layers[:2]), *layers[2:]]
    return nn.Sequential(*layers), x


@pytest.mark.parametrize("seed", range(60))
def test_random_sequentials_match_onnx_runtime_and_round_trip(seed, tmp_path):
    model, x = random_sequential(seed)
    sgd_steps(model, x)
    check_exported(model, x, tmp_path / "model.onnx")
    loaded = assert_round_trip(model, x, tmp_path / "model.onnx")
    assert [type(m) for m in loaded.modules()] == [type(m) for m in model.modules()]


def test_random_sequentials_use_every_exportable_layer():
    from tinygrad_cnn.onnx.export import EXPORTABLE

    seen = {type(m).__name__ for seed in range(60) for m in random_sequential(seed)[0].modules()}
    assert seen == set(EXPORTABLE)
    convs = [m for seed in range(60) for m in random_sequential(seed)[0].modules()
             if isinstance(m, nn.Conv2d)]
    assert any(m.groups > 1 for m in convs) and any(m.bias is None for m in convs)
    assert any(m.dilation != (1, 1) for m in convs) and any(m.stride != (1, 1) for m in convs)
    assert any(m.padding != (0, 0) for m in convs)


def test_pooling_options_export_and_load_back(tmp_path):
    model = nn.Sequential(nn.MaxPool2d(2, ceil_mode=True),
                          nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
                          nn.AvgPool2d(2, 1, 1))
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 7)).astype(np.float32)
    check_exported(model, x, tmp_path / "pools.onnx")  # ONNX Runtime gives the same numbers
    loaded = assert_round_trip(model, x, tmp_path / "pools.onnx")
    assert [(m.ceil_mode, getattr(m, "count_include_pad", None)) for m in loaded] == [
        (True, None), (True, False), (False, True)]
    with pytest.raises(OnnxError, match="AveragePool has no divisor_override"):
        export(nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), x, tmp_path / "d.onnx")


def test_the_batch_dimension_is_dynamic(tmp_path):
    model = mnist.lenet()
    export(model, np.zeros((1, 1, 28, 28), np.float32), tmp_path / "lenet.onnx")
    x = np.random.default_rng(3).standard_normal((5, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(run_ort(tmp_path / "lenet.onnx", x), model.eval()(Tensor(x)).data,
                               atol=TOLERANCE)


def test_export_restores_training_mode_and_the_opset_is_checked(tmp_path):
    model = mnist.best_model().train()
    model[1].eval()
    proto = export(model, np.zeros((2, 1, 28, 28), np.float32), tmp_path / "m.onnx", opset=18)
    assert proto.opset_import[0].version == 18
    assert [m.training for m in model.modules()][:3] == [True, True, False]
    with pytest.raises(OnnxError, match=r"opset must be in \[17, \d+\], got 13"):
        export(model, np.zeros((2, 1, 28, 28), np.float32), tmp_path / "m.onnx", opset=13)


class Cumulative(nn.Module):
    def forward(self, x):
        return x.cumsum(1)


class ChainNet(nn.Module):
    """A model class whose forward calls its layers one after the other (PyTorch's idiom)."""

    def __init__(self, functional_relu: bool = False) -> None:
        super().__init__()
        self.functional_relu = functional_relu
        self.conv1, self.act1 = nn.Conv2d(1, 4, 3, groups=1), nn.ReLU()
        self.pool, self.flatten = nn.MaxPool2d(2), nn.Flatten()
        self.head = nn.Sequential(nn.Linear(4 * 3 * 3, 5), nn.Tanh())

    def forward(self, x):
        x = self.conv1(x)
        x = x.relu() if self.functional_relu else self.act1(x)
        return self.head(self.flatten(self.pool(x)))


class ListNet(nn.Module):
    """Layers kept in an nn.ModuleList and called in a loop."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4)])
        self.out = nn.Softmax(-1)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def test_a_model_class_with_a_module_list_exports_and_loads_with_its_names(tmp_path):
    model = ListNet()
    x = np.random.default_rng(7).standard_normal((3, 6)).astype(np.float32)
    sgd_steps(model, x)
    check_exported(model, x, tmp_path / "list.onnx")
    loaded = assert_round_trip(model, x, tmp_path / "list.onnx")
    assert list(loaded.state_dict()) == list(model.state_dict())  # blocks.0.weight, ...


def test_a_model_class_whose_forward_chains_its_layers_exports(tmp_path):
    tg.manual_seed(0)
    model = ChainNet()
    x = np.random.default_rng(6).standard_normal((3, 1, 8, 8)).astype(np.float32)
    sgd_steps(model, x)
    check_exported(model, x, tmp_path / "chain.onnx")
    loaded = assert_round_trip(model, x, tmp_path / "chain.onnx")
    assert list(loaded.state_dict()) == list(model.state_dict())  # conv1.weight ... head.0.bias
    assert [name for name, _ in loaded.named_children()] == ["conv1", "act1", "pool", "flatten",
                                                            "head"]
    functional = ChainNet(functional_relu=True)  # x.relu() in forward: traced as an op
    check_exported(functional, x, tmp_path / "functional.onnx")


@pytest.mark.parametrize("model, message", [
    (nn.Sequential(nn.BatchNorm2d(1, track_running_stats=False)),
     r"0 \(BatchNorm2d\(1.*\)\) has no running statistics"),
    (nn.Sequential(nn.Flatten(), nn.Sequential(nn.ReLU(), Cumulative())),
     r"op CumSum \(in layer 1\.1\) has no ONNX export here; ops that export: Abs, "
     r"AdaptiveAvgPool2d, Add"),
])
def test_what_cannot_be_exported_raises_naming_the_layer(model, message, tmp_path):
    with pytest.raises(OnnxError, match=message):
        export(model, np.zeros((1, 1, 4, 4), np.float32), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


# ----- graphs as PyTorch's exporter writes them ------------------------------------------------
def _init(name: str, array: np.ndarray):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def torch_style_lenet(rng, view_and_matmul: bool = False, static_batch: bool = False,
                      size0: bool = False):
    """LeNet as torch.onnx.export writes a class with conv1/conv2/fc1..fc3 attributes and
    functional relu/max_pool2d/flatten: Conv with bias, Relu, MaxPool, Flatten, Gemm
    (transB=1); or x.view(-1, 256) (Reshape) and fc layers as MatMul + Add; with a static
    batch of 1 the view's shape is the constant (1, 256); `size0`: x.view(x.size(0), -1), which
    the exporter writes as Shape, Gather, Unsqueeze, Concat and Reshape."""
    shapes = {"conv1": (6, 1, 5, 5), "conv2": (16, 6, 5, 5), "fc1": (120, 256),
              "fc2": (84, 120), "fc3": (10, 84)}
    inits = []
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:]))
        inits += [_init(f"{name}.weight", rng.uniform(-1, 1, shape) / np.sqrt(fan_in)),
                  _init(f"{name}.bias", rng.uniform(-1, 1, shape[0]) / np.sqrt(fan_in))]
    nodes, x = [], "input"

    def add(op, inputs, name, **attrs):
        nonlocal x
        out = f"{name}_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        x = out

    pool = dict(ceil_mode=0, dilations=[1, 1], kernel_shape=[2, 2], pads=[0, 0, 0, 0],
                strides=[2, 2])
    for i, conv in enumerate(("conv1", "conv2")):
        add("Conv", [x, f"{conv}.weight", f"{conv}.bias"], f"/{conv}/Conv", dilations=[1, 1],
            group=1, kernel_shape=[5, 5], pads=[0, 0, 0, 0], strides=[1, 1])
        add("Relu", [x], "/Relu" + (f"_{i}" if i else ""))
        add("MaxPool", [x], "/MaxPool" + (f"_{i}" if i else ""), **pool)
    if view_and_matmul and size0:
        pooled = x

        def constant(name, array):
            nodes.append(helper.make_node("Constant", [], [f"{name}_output_0"], name=name,
                                          value=numpy_helper.from_array(np.array(array))))
            return f"{name}_output_0"
        add("Shape", [pooled], "/Shape")
        add("Gather", [x, constant("/Constant", 0)], "/Gather", axis=0)
        add("Unsqueeze", [x, constant("/Constant_1", [0])], "/Unsqueeze")
        add("Concat", [x, constant("/Constant_2", [-1])], "/Concat", axis=0)
        add("Reshape", [pooled, x], "/Reshape")
    elif view_and_matmul:
        nodes.append(helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant",
                                      value=numpy_helper.from_array(
                                          np.array([1 if static_batch else -1, 256]))))
        add("Reshape", [x, "/Constant_output_0"], "/Reshape")
    else:
        add("Flatten", [x], "/Flatten", axis=1)
    for i, fc in enumerate(("fc1", "fc2", "fc3")):
        if view_and_matmul:
            weight = inits.pop(next(j for j, t in enumerate(inits) if t.name == f"{fc}.weight"))
            inits.append(_init(f"onnx::MatMul_{30 + i}", numpy_helper.to_array(weight).T))
            add("MatMul", [x, f"onnx::MatMul_{30 + i}"], f"/{fc}/MatMul")
            add("Add", [f"{fc}.bias", x], f"/{fc}/Add")
        else:
            add("Gemm", [x, f"{fc}.weight", f"{fc}.bias"], f"/{fc}/Gemm", alpha=1.0, beta=1.0,
                transB=1)
        if fc != "fc3":
            add("Relu", [x], f"/Relu_{i + 2}")
    nodes[-1].output[0] = "output"
    batch = 1 if static_batch else "batch"
    graph = helper.make_graph(
        nodes, "main_graph", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                            [batch, 1, 28, 28])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.5.0")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


TORCH_KEYS = [f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2", "fc3")
              for p in ("weight", "bias")]


@pytest.mark.parametrize("view_and_matmul, static_batch, size0", [
    (False, False, False), (True, False, False), (True, True, False), (True, False, True)])
def test_a_pytorch_style_lenet_loads_trains_renders_and_profiles(view_and_matmul, static_batch,
                                                                 size0, tmp_path):
    path = tmp_path / "lenet.onnx"
    onnx.save(torch_style_lenet(np.random.default_rng(0), view_and_matmul, static_batch, size0),
              str(path))
    model = load(path)
    assert list(model.state_dict()) == TORCH_KEYS  # PyTorch's names: its weights load as-is
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    ours = model.eval()(Tensor(x)).data
    for i in range(0, 16, 1 if static_batch else 16):  # ONNX Runtime keeps a static batch
        n = 1 if static_batch else 16
        np.testing.assert_allclose(ours[i:i + n], run_ort(path, x[i:i + n]), atol=TOLERANCE)
    model.train()
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    with tg.Profiler(model) as prof:
        loss = ops.cross_entropy(model(Tensor(x)), Tensor(y, dtype=None))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert np.isfinite(loss.item())
    assert all(not np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert ops.cross_entropy(model(Tensor(x)), Tensor(y, dtype=None)).item() < loss.item()
    profiled = " ".join(row["name"] for row in prof.rows("module"))
    assert "conv1" in profiled and "fc3" in profiled
    loss = ops.cross_entropy(model(Tensor(x)), Tensor(y, dtype=None))
    assert "conv1" in tg.draw_graph(loss, model, group_by_module=True).source


def test_unknown_operators_raise_naming_node_op_and_the_supported_list(tmp_path):
    nodes = [helper.make_node("Relu", ["input"], ["r"], name="/Relu"),
             helper.make_node("Erf", ["r"], ["output"], name="/gelu/Erf")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxError, match=r"node '/gelu/Erf' has op type 'Erf'.*supported: "
                                        r"AveragePool, BatchNormalization, Clip, Conv.*Tanh"):
        load(model)


def test_branches_bad_files_and_missing_files_raise(tmp_path):
    nodes = [helper.make_node("Relu", ["input"], ["r"], name="/Relu"),
             helper.make_node("Add", ["r", "input"], ["output"], name="/Add")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])])
    with pytest.raises(OnnxError, match=r"node '/Add' \(Add\) reads \['r', 'input'\].*chains"):
        load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xff not protobuf")
    with pytest.raises(OnnxError, match=r"bad\.onnx.* not a readable ONNX file"):
        load(bad)
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        load(tmp_path / "missing.onnx")


def test_importing_the_bridge_loads_no_onnx_until_used():
    code = ("import json, sys, tinygrad_cnn, tinygrad_cnn.onnx\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert not {"onnx", "onnxruntime", "safetensors"} & set(__import__("json").loads(out))
    assert tg.onnx.export is export


def test_the_mnist_program_exports_a_checkpoint(tmp_path, capsys):
    model = mnist.best_model()
    sgd_steps(model, np.random.default_rng(4).standard_normal((8, 1, 28, 28)).astype(np.float32))
    checkpoint = tmp_path / "checkpoint.npz"
    tg.save({"model_name": "best", "model": model.state_dict(), "config": "{}", "epoch": 1},
            checkpoint)
    out, weights = tmp_path / "best.onnx", tmp_path / "best.safetensors"
    assert mnist.main(["export", str(checkpoint), str(out), "--safetensors", str(weights)]) == 0
    assert "wrote" in capsys.readouterr().out
    x = np.random.default_rng(5).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(run_ort(out, x), model.eval()(Tensor(x)).data, atol=TOLERANCE)
    assert set(tg.load(weights)) == set(model.state_dict())
    assert mnist.main(["export", str(tmp_path / "none.npz"), str(out)]) == 2


def _one_node_model(op, attrs, inits, in_shape, extra_inputs=()):
    node = helper.make_node(op, ["input", *extra_inputs], ["output"], name=f"/layer/{op}", **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


W = _init("w", np.ones((2, 1, 3, 3)))


@pytest.mark.parametrize("op, attrs, inits, in_shape, extra, message", [
    ("Conv", {"pads": [1, 1, 0, 0]}, [W], ["N", 1, 5, 5], ["w"], r"pads \[1, 1, 0, 0\] are not "
                                                                  r"symmetric"),
    ("Conv", {"auto_pad": "SAME_UPPER"}, [W], ["N", 1, 5, 5], ["w"], r"auto_pad='SAME_UPPER'"),
    ("Conv", {}, [], ["N", 1, 5, 5], ["w2"], r"reads \['w2'\], which no earlier node writes"),
    ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}, [], ["N", 1, 5, 5], [],
     r"dilations are not supported"),
    ("Flatten", {"axis": 2}, [], ["N", 2, 3, 4], [], r"axis=2: only axis=1"),
    ("Reshape", {}, [numpy_helper.from_array(np.array([0, 4, 6]), "s")], ["N", 2, 3, 4], ["s"],
     r"Reshape of \(2, 2, 3, 4\) to \[0, 4, 6\] is not a flatten"),
    ("Gemm", {"transA": 1}, [_init("w", np.ones((3, 3)))], ["N", 3], ["w"], r"transA=1"),
    ("Relu", {}, [], ["N", "C", 4], [], r"every dimension but the batch known"),
])
def test_graphs_without_an_nn_layer_raise_naming_the_node(op, attrs, inits, in_shape, extra,
                                                          message):
    with pytest.raises(OnnxError, match=message) as error:
        load(_one_node_model(op, attrs, inits, in_shape, extra))
    assert f"/layer/{op}" in str(error.value) or "input" in str(error.value)


def _shape_chain_model(opset: int, shape_nodes, reshape_input: str, **shape_attrs):
    """input (N, 2, 3, 4) -> Relu -> Reshape(r, <shape computed from Shape(r) by shape_nodes>)."""
    nodes = [helper.make_node("Relu", ["input"], ["r"], name="/Relu"),
             helper.make_node("Shape", ["r"], ["s"], name="/Shape", **shape_attrs), *shape_nodes,
             helper.make_node("Reshape", ["r", reshape_input], ["output"], name="/Reshape")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 2, 3, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _const(name, array):
    return helper.make_node("Constant", [], [name], name=f"/{name}",
                            value=numpy_helper.from_array(np.array(array, np.int64)))


SHAPE_CHAINS = {  # x.view(x.size(0), -1) as exporters write it, old and new opsets
    "opset 11: Gather, Unsqueeze with an axes attribute": (11, [
        _const("i", 0), helper.make_node("Gather", ["s", "i"], ["g"], axis=0),
        helper.make_node("Unsqueeze", ["g"], ["u"], axes=[0]), _const("m", [-1]),
        helper.make_node("Concat", ["u", "m"], ["t"], axis=0)], "t"),
    "opset 13: Slice, Squeeze and Unsqueeze with axes inputs": (13, [
        _const("b", [0]), _const("e", [1]), _const("a", [0]),
        helper.make_node("Slice", ["s", "b", "e", "a"], ["sl"]),
        helper.make_node("Squeeze", ["sl", "a"], ["sq"]),
        helper.make_node("Unsqueeze", ["sq", "a"], ["u"]), _const("m", [-1]),
        helper.make_node("Concat", ["u", "m"], ["t"], axis=0)], "t"),
    "opset 17: Shape's sizes kept, the batch and two merged": (17, [
        _const("i", [0, 1]), helper.make_node("Gather", ["s", "i"], ["g"], axis=0),
        _const("m", [-1]), helper.make_node("Concat", ["g", "m"], ["t"], axis=0)], "t"),
    "opset 18: Shape with start and end": (18, [
        _const("m", [-1]), helper.make_node("Concat", ["s", "m"], ["t"], axis=0)], "t",
        {"start": 0, "end": 1}),
}


@pytest.mark.parametrize("case", SHAPE_CHAINS)
def test_a_reshape_to_a_shape_computed_from_the_input_loads_for_any_batch(case, tmp_path):
    opset, shape_nodes, target, *shape_attrs = SHAPE_CHAINS[case]
    path = tmp_path / "view.onnx"
    onnx.save(_shape_chain_model(opset, shape_nodes, target, **dict(*shape_attrs)), str(path))
    model = load(path)
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 2, 3, 4)).astype(np.float32)
        want = run_ort(path, x)
        got = model(Tensor(x)).data
        assert got.shape == want.shape and got.shape[0] == batch
        np.testing.assert_array_equal(got, want)


def test_a_shape_computation_that_moves_the_batch_or_computes_on_it_raises():
    moved = [_const("i", 0), helper.make_node("Gather", ["s", "i"], ["g"], axis=0),
             helper.make_node("Unsqueeze", ["g"], ["u"], axes=[0]), _const("m", [-1]),
             helper.make_node("Concat", ["m", "u"], ["t"], axis=0)]
    with pytest.raises(OnnxError, match=r"'/Reshape'.*batch size goes to dimension\(s\) \[1\]"):
        load(_shape_chain_model(11, moved, "t"))
    product = [_const("i", 1), helper.make_node("Gather", ["s", "i"], ["g"], axis=0),
               _const("two", 2), helper.make_node("Mul", ["g", "two"], ["p"], name="/Mul")]
    with pytest.raises(OnnxError, match=r"'/Mul' \(Mul\) reads only constants"):
        load(_shape_chain_model(17, product, "p"))
    no_axes = [helper.make_node("Unsqueeze", ["s"], ["u"], name="/Unsqueeze")]
    with pytest.raises(OnnxError, match=r"'/Unsqueeze' \(Unsqueeze\): an Unsqueeze needs its"):
        load(_shape_chain_model(13, no_axes, "u"))
