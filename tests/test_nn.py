"""nn: Module discovery, state dicts, modes, hooks, layers, initialisation and error messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn, ops
from tinygrad_cnn.autograd import toposort


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.scale = nn.Parameter(np.ones(2, np.float32))
        self.heads = [nn.Linear(4, 3), nn.Linear(3, 2)]
        self.extra = (nn.Parameter(np.zeros(5, np.float32)),)
        self.register_buffer("count", np.zeros(1, np.int64))
        self.plain = Tensor(np.ones(3))  # not a Parameter nor a buffer: not part of the state

    def forward(self, x: Tensor) -> Tensor:
        return x


def test_discovery_attributes_lists_and_nesting_in_definition_order() -> None:
    net = nn.Sequential(Block(), nn.ReLU(), nn.Linear(2, 2))
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "0.scale", "0.extra.0", "0.conv.weight", "0.conv.bias", "0.heads.0.weight",
        "0.heads.0.bias", "0.heads.1.weight", "0.heads.1.bias", "2.weight", "2.bias",
    ]
    assert [name for name, _ in net.named_buffers()] == ["0.count"]
    assert [name for name, _ in net.named_modules()] == [
        "", "0", "0.conv", "0.heads.0", "0.heads.1", "1", "2"]
    assert [name for name, _ in net[0].named_children()] == ["conv", "heads.0", "heads.1"]
    assert len(list(net.parameters())) == 10
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_shared_parameter_listed_once() -> None:
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_indexing_len_iteration_and_dict_names() -> None:
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers and seq[-1] is layers[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    x = Tensor(np.arange(4, dtype=np.float32).reshape(2, 2))
    np.testing.assert_allclose(seq(x).data, layers[2](layers[1](layers[0](x))).data)
    named = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    modules = nn.ModuleList([nn.Linear(1, 1)]).append(nn.Linear(1, 2))
    assert len(modules) == 2 and [n for n, _ in modules.named_parameters()][-1] == "1.bias"


def lenet(pad: int = 0, flat: int = 256) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def test_repr_tree_like_pytorch() -> None:
    text = repr(nn.Sequential(nn.Conv2d(1, 6, 5), nn.Linear(256, 120), nn.BatchNorm2d(6)))
    assert text == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (1): Linear(in_features=256, out_features=120, bias=True)\n"
        "  (2): BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        ")"
    )
    assert repr(nn.Conv2d(3, 4, (3, 1), stride=2, padding=1, dilation=2, bias=False)) == (
        "Conv2d(3, 4, kernel_size=(3, 1), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "bias=False)")
    nested = repr(nn.Sequential(nn.Sequential(nn.ReLU())))
    assert nested == "Sequential(\n  (0): Sequential(\n    (0): ReLU()\n  )\n)"


def test_state_dict_round_trip_copies_into_existing_arrays() -> None:
    tc.manual_seed(0)
    src = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Linear(3, 4))
    state = src.state_dict()
    assert list(state) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.weight", "2.bias"]
    assert state["1.num_batches_tracked"].dtype == np.int64
    state["0.weight"] += 1  # a copy: the model is untouched
    assert not np.array_equal(state["0.weight"], src[0].weight.data)
    dst = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Linear(3, 4))
    weight_array = dst[0].weight.data
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst[0].weight.data is weight_array  # same array: optimizers holding it keep working
    for key, value in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[key], value)


def test_load_state_dict_errors_name_key_and_shapes() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    state = model.state_dict()
    bad = dict(state, **{"0.weight": np.zeros((3, 5), np.float32)})
    with pytest.raises(ValueError, match=r"'0\.weight'.*\(3, 5\).*\(3, 4\)"):
        model.load_state_dict(bad)
    missing = {k: v for k, v in state.items() if k != "1.bias"}
    with pytest.raises(KeyError, match=r"missing key\(s\): '1\.bias'"):
        model.load_state_dict(missing)
    with pytest.raises(KeyError, match=r"unexpected key\(s\): 'head\.weight'"):
        model.load_state_dict(dict(state, **{"head.weight": np.zeros(1)}))
    result = model.load_state_dict(dict(missing, extra=np.zeros(1)), strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(ValueError, match="size mismatch"):
        model.load_state_dict(bad, strict=False)


def test_train_eval_propagate_and_dropout_eval_is_identity() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Dropout(0.5)))
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = Tensor(np.ones((8, 4), np.float32))
    drop = net[1][0]
    assert drop(x) is x
    net.train()
    assert all(m.training for m in net.modules())
    tc.manual_seed(1)
    out = drop(x).data
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).sum() < out.size


def test_zero_grad_requires_grad_and_apply() -> None:
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    net(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Linear", "Sequential"]


def test_call_records_module_and_runs_forward_hooks() -> None:
    layer = nn.Linear(3, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    x = Tensor(np.ones((5, 3), np.float32), requires_grad=True)
    out = layer(x)
    assert out.grad_fn.module is layer
    assert seen == [(5, 2)]
    handle.remove()
    layer(x)
    assert seen == [(5, 2)]


def test_ops_inside_nested_modules_record_the_innermost() -> None:
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    out = net(Tensor(np.ones((1, 3), np.float32)))
    modules = {t.grad_fn.name: t.grad_fn.module for t in toposort(out) if t.grad_fn}
    assert modules["Linear"] is net[0] and modules["ReLU"] is net[1]


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(50, 40), 50),
    (lambda: nn.Conv2d(3, 8, (5, 3)), 45),
])
def test_default_init_ranges_and_seeding(make, fan_in) -> None:
    tc.manual_seed(123)
    a = make()
    tc.manual_seed(123)
    b = make()
    c = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (a.weight, a.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound  # spread over the range, not a tiny init
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    # uniform: the sample variance is close to bound^2 / 3
    assert abs(a.weight.data.var() / (bound * bound / 3) - 1) < 0.35


def test_linear_forward_matches_numpy_and_shape_error_names_layer() -> None:
    layer = nn.Linear(4, 3)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-6)
    assert nn.Linear(4, 3, bias=False).bias is None
    with pytest.raises(ValueError, match=(
            r"Linear\(in_features=256, out_features=120, bias=True\): input has shape "
            r"\(128, 300\), expected \(\.\.\., 256\)")):
        nn.Linear(256, 120)(Tensor(np.zeros((128, 300), np.float32)))


def test_conv_layer_matches_op_and_errors_name_layer() -> None:
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 2, 7, 7)).astype(np.float32))
    expected = ops.conv2d(x, conv.weight, conv.bias, 2, 1, 1).data
    np.testing.assert_allclose(conv(x).data, expected)
    assert conv(x).shape == conv.output_shape(x.shape) == (2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"Conv2d\(2, 3, .*input has shape \(2, 5, 7, 7\), "
                                         r"expected \(N, 2, H, W\)"):
        conv(Tensor(np.zeros((2, 5, 7, 7), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 1, .*\): conv2d: kernel \(5, 5\) \(dilation "
                                         r"\(1, 1\)\) is larger than the padded input \(3, 3\)"):
        nn.Conv2d(1, 1, 5)(Tensor(np.zeros((1, 1, 3, 3), np.float32)))


@pytest.mark.parametrize("kwargs, geometry", [
    ({}, ((1, 1), (0, 0), (1, 1))),
    ({"stride": 2, "padding": 1}, ((2, 2), (1, 1), (1, 1))),
    ({"stride": (1, 3), "padding": (2, 0), "dilation": (2, 1)}, ((1, 3), (2, 0), (2, 1))),
], ids=str)
def test_conv_output_shape_matches_the_op_output(kwargs, geometry):
    conv = nn.Conv2d(2, 3, (3, 2), **kwargs)
    assert (conv.stride, conv.padding, conv.dilation) == geometry
    x = Tensor(np.random.default_rng(0).standard_normal((2, 2, 9, 8)).astype(np.float32))
    assert conv.output_shape(x.shape) == conv(x).shape
    assert conv(x).shape == ops.conv2d(x, conv.weight, conv.bias, **kwargs).shape


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: nn.Conv2d(1, 3, 2.5), TypeError,
     r"Conv2d: kernel_size must be an int or a pair of ints, got 2.5"),
    (lambda: nn.Conv2d(1, 3, (2, 2.0)), TypeError, r"Conv2d: kernel_size must be .*\(2, 2.0\)"),
    (lambda: nn.Conv2d(1, 3, (2, 2, 2)), ValueError, r"Conv2d: kernel_size must be .*\(2, 2, 2\)"),
    (lambda: nn.Conv2d(1, 3, 0), ValueError, r"Conv2d: kernel_size must be >= 1, got 0"),
    (lambda: nn.Conv2d(1, 3, 3, stride=0), ValueError, r"Conv2d: stride must be >= 1, got 0"),
    (lambda: nn.Conv2d(1, 3, 3, padding=-1), ValueError, r"Conv2d: padding must be >= 0, got -1"),
    (lambda: nn.Conv2d(1, 3, 3, dilation=(1, 0)), ValueError,
     r"Conv2d: dilation must be >= 1, got \(1, 0\)"),
    (lambda: nn.MaxPool2d(2.0), TypeError, r"MaxPool2d: kernel_size must be an int or a pair"),
    (lambda: nn.MaxPool2d(2, stride=0), ValueError, r"MaxPool2d: stride must be >= 1, got 0"),
    (lambda: nn.AvgPool2d(2, padding=-1), ValueError, r"AvgPool2d: padding must be >= 0, got -1"),
    (lambda: nn.AvgPool2d((3, 2), padding=(1, 2)), ValueError,
     r"AvgPool2d: padding \(1, 2\) must be at most half the kernel size \(3, 2\)"),
], ids=range(11))
def test_layer_hyper_parameters_are_checked_at_construction(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_pool_flatten_activation_layers_match_ops() -> None:
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, ops.max_pool2d(x, 2, 2).data)
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1)(x).data, ops.avg_pool2d(x, 3, 1).data)
    assert nn.Flatten()(x).shape == (2, 108)
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-6)
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).data,
                               np.where(x.data > 0, x.data, 0.2 * x.data))
    np.testing.assert_allclose(nn.Softmax(1)(x).data.sum(axis=1), 1.0, rtol=1e-6)
    assert nn.Identity()(x) is x
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    with pytest.raises(ValueError, match=r"MaxPool2d.*input has shape \(3, 6\)"):
        nn.MaxPool2d(2)(Tensor(np.zeros((3, 6), np.float32)))


def test_lenet_forward_backward_shapes() -> None:
    tc.manual_seed(0)
    net = lenet()
    out = net(Tensor(np.zeros((3, 1, 28, 28), np.float32)))
    assert out.shape == (3, 10)
    out.sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    assert sum(p.size for p in net.parameters()) == 44426


def test_batchnorm2d_train_uses_batch_stats_and_eval_uses_running_stats() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
    bn = nn.BatchNorm2d(3, momentum=0.2)
    bn.weight.data[...] = [1.0, 2.0, 0.5]
    bn.bias.data[...] = [0.0, -1.0, 3.0]
    w, b = bn.weight.data.reshape(1, 3, 1, 1), bn.bias.data.reshape(1, 3, 1, 1)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    n = x.size // 3
    out = bn(Tensor(x)).data
    expected = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5) * w + b
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    running_mean = 0.8 * 0 + 0.2 * mean
    running_var = 0.8 * 1 + 0.2 * var * n / (n - 1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, running_var, rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 1
    bn.eval()
    out = bn(Tensor(x)).data
    expected = ((x - running_mean.reshape(1, 3, 1, 1))
                / np.sqrt(running_var.reshape(1, 3, 1, 1) + 1e-5) * w + b)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked.data) == 1  # eval leaves the statistics alone
    np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-5)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3, .*input has shape \(4, 2, 5, 5\), "
                                         r"expected \(N, 3, H, W\)"):
        bn(Tensor(x[:, :2]))


def test_batchnorm_cumulative_momentum_and_no_running_stats() -> None:
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((6, 2)).astype(np.float32) + i for i in range(3)]
    bn = nn.BatchNorm1d(2, momentum=None)
    for x in batches:
        bn(Tensor(x))
    # momentum=None: the running mean is the plain average of the batch means
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(0) for x in batches], 0),
                               rtol=1e-5)
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert list(free.state_dict()) == []
    x = batches[2]
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(free(Tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    seq = nn.BatchNorm1d(2)(Tensor(rng.standard_normal((3, 2, 7)).astype(np.float32)))
    assert seq.shape == (3, 2, 7)


def test_layernorm_and_normalization_layers() -> None:
    x = np.random.default_rng(5).standard_normal((3, 4, 6)).astype(np.float32)
    ln = nn.LayerNorm(6)
    ln.weight.data[...] = np.arange(6)
    ln.bias.data[...] = 1.0
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * np.arange(6) + 1.0
    np.testing.assert_allclose(ln(Tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    assert repr(nn.LayerNorm((4, 6))) == "LayerNorm((4, 6), eps=1e-05, elementwise_affine=True)"
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\).*input has shape \(3, 4, 6\)"):
        nn.LayerNorm(5)(Tensor(x))
    norm = nn.Normalization()
    assert list(norm.parameters()) == []
    flat = x.reshape(3, -1)
    expected = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(norm(Tensor(x)).data.reshape(3, -1), expected, rtol=1e-4,
                               atol=1e-5)


def test_batchnorm_layer_gradcheck() -> None:
    bn = nn.BatchNorm2d(2)
    x = np.random.default_rng(6).standard_normal((3, 2, 3, 3))
    weight = np.array([1.5, -0.5])
    bias = np.array([0.1, 0.2])

    def fn(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        bn.weight, bn.bias = w, b  # the layer reads its attributes, so gradcheck's leaves flow
        return bn(x)

    assert tc.gradcheck(fn, [x, weight, bias])
    bn.eval()
    assert tc.gradcheck(fn, [x, weight, bias])


@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.Linear(2.5, 5), TypeError, "Linear: in_features must be an int, got 2.5"),
    (lambda: nn.Linear(True, 5), TypeError, "Linear: in_features must be an int, got True"),
    (lambda: nn.Linear(4, -1), ValueError, "Linear: out_features must be >= 0, got -1"),
    (lambda: nn.Conv2d(1.0, 3, 3), TypeError, "Conv2d: in_channels must be an int"),
    (lambda: nn.Conv2d(1, -3, 3), ValueError, "Conv2d: out_channels must be >= 0, got -3"),
    (lambda: nn.BatchNorm2d(-2), ValueError, "BatchNorm2d: num_features must be >= 0, got -2"),
    (lambda: nn.BatchNorm1d(3.0), TypeError, "BatchNorm1d: num_features must be an int"),
])
def test_layer_sizes_are_checked_where_they_enter(make, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make()


def test_zero_sized_layers_are_allowed_as_in_pytorch():
    # PyTorch: nn.Linear(0, 5) initialises nothing (a zero-element weight, bias bound 0) and
    # maps a (2, 0) input to the bias, zeros
    layer = nn.Linear(0, 5)
    assert layer.weight.shape == (5, 0)
    out = layer(Tensor.ones(2, 0))
    np.testing.assert_array_equal(out.data, np.zeros((2, 5), np.float32))
    assert nn.Conv2d(0, 3, 3).weight.shape == (3, 0, 3, 3)
