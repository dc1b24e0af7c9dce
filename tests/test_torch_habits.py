"""PyTorch code as users bring it: loss modules, top-level constructors and dtype names,
`.to(device)`, `nn.utils`. The expected numbers are PyTorch 2.13's where they are not NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn, ops, optim

LOGITS = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
TARGET = np.array([1, 2, 0, 1])


def _cross_entropy_reference(logits, target, smoothing=0.0):
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    picked = -log_p[np.arange(len(target)), target]
    return ((1 - smoothing) * picked - smoothing * log_p.mean(1)).mean()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_loss_module_equals_the_formula(smoothing):
    criterion = nn.CrossEntropyLoss(label_smoothing=smoothing)
    x = Tensor(LOGITS, dtype=np.float64, requires_grad=True)
    loss = criterion(x, Tensor(TARGET, dtype=np.int64))
    np.testing.assert_allclose(loss.item(), _cross_entropy_reference(LOGITS, TARGET, smoothing),
                               rtol=1e-12)
    loss.backward()
    assert x.grad.shape == LOGITS.shape
    assert repr(criterion) == "CrossEntropyLoss(reduction='mean')"


def test_loss_modules_call_their_ops():
    x = Tensor(LOGITS, dtype=np.float64)
    y = Tensor(TARGET, dtype=np.int64)
    p = Tensor(1 / (1 + np.exp(-LOGITS)), dtype=np.float64)
    t = Tensor((LOGITS > 0.5).astype(np.float64), dtype=np.float64)
    pairs = [
        (nn.NLLLoss(reduction="sum")(x.log_softmax(1), y), ops.nll_loss(x.log_softmax(1), y,
                                                                         "sum")),
        (nn.CrossEntropyLoss(ignore_index=2)(x, y), ops.cross_entropy(x, y, ignore_index=2)),
        (nn.MSELoss()(x, t), ((LOGITS - t.data) ** 2).mean()),
        (nn.BCELoss()(p, t), ops.binary_cross_entropy(p, t)),
        (nn.BCEWithLogitsLoss(reduction="none")(x, t), ops.binary_cross_entropy(p, t, "none")),
    ]
    for ours, reference in pairs:
        np.testing.assert_allclose(ours.data, getattr(reference, "data", reference), rtol=1e-10)


def test_loss_module_options_are_checked_when_built():
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of .*got 'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(Tensor([1.0, 2.0]))  # class weights: not supported


def test_a_pytorch_training_loop_runs_as_written():
    tg.manual_seed(0)
    device = "cuda" if tg.cuda.is_available() else "cpu"
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    criterion = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.5)
    x, y = tg.tensor(LOGITS, dtype=tg.float32).to(device), tg.tensor(TARGET).to(device)
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        first = loss.item() if first is None else first
    _, predicted = model(x).max(1)
    assert loss.item() < first / 10
    np.testing.assert_array_equal(predicted.data, TARGET)


def test_tensor_infers_dtypes_as_torch_tensor():
    assert tg.tensor([1, 2]).dtype == tg.int64 == tg.long
    assert tg.tensor([1.0, 2]).dtype == tg.float32
    assert tg.tensor(True).dtype == tg.bool
    assert tg.tensor(np.ones(2)).dtype == tg.float64  # arrays keep theirs
    assert tg.tensor([1], dtype=tg.float64).dtype == np.float64
    a = np.ones(2, np.float32)
    t = tg.tensor(a)
    a[0] = 5.0
    assert t.tolist() == [1.0, 1.0]  # a copy
    assert tg.from_numpy(a).data is a  # shares, as torch.from_numpy


def test_top_level_constructors():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == tg.float32
    assert tg.ones(2, dtype=tg.int64).tolist() == [1, 1]
    assert tg.randn(4, 5, requires_grad=True).requires_grad and tg.rand(3).shape == (3,)
    assert tg.full((2,), 3).dtype == tg.int64 and tg.full((2,), 3.0).dtype == tg.float32
    assert tg.arange(5).dtype == tg.int64 and tg.arange(0, 1, 0.25).tolist() == [0, 0.25, 0.5,
                                                                                   0.75]
    assert tg.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tg.zeros_like(tg.ones(2), dtype=tg.long).dtype == tg.int64
    assert tg.ones_like(tg.zeros(2, 2)).tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_to_accepts_pytorchs_forms_and_refuses_other_devices():
    x = tg.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.cpu() is x and x.to(tg.float32) is x
    assert x.device == "cpu" and str(x.device) == "cpu" and x.device == tg.device("cpu:0")
    assert x.to(tg.float64).dtype == np.float64 and x.to("cpu", tg.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=tg.float16).dtype == np.float16
    assert x.to(tg.tensor([1])).dtype == np.int64  # to(other): other's dtype
    for where in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match=f"CPU only.*{where!r}"):
            x.to(where)
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.zeros(2, device="cuda")
    with pytest.raises(TypeError, match="'floaty' is not a dtype"):
        x.to("floaty")


def test_module_to_casts_parameters_in_place_and_keeps_them():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    weight = model[0].weight
    assert model.to("cpu") is model and model.cpu() is model
    assert model.double() is model and model[0].weight is weight
    assert weight.dtype == np.float64 and model[1].running_mean.dtype == np.float64
    assert model(tg.ones(4, 2, dtype=tg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="only accepts floating point dtypes.*int64"):
        model.to(tg.int64)


@pytest.mark.parametrize("kernel, dilation, pad", [(3, 1, 1), (5, 1, 2), (3, 2, 2), ((3, 5), 1,
                                                                                      (1, 2))])
def test_conv_padding_same_and_valid_are_the_pairs_pytorch_uses(kernel, dilation, pad):
    tg.manual_seed(0)
    same = nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation)
    explicit = nn.Conv2d(2, 3, kernel, padding=pad, dilation=dilation)
    explicit.load_state_dict(same.state_dict())
    x = tg.randn(2, 2, 9, 10)
    np.testing.assert_array_equal(same(x).data, explicit(x).data)
    assert same(x).shape == (2, 3, 9, 10)
    assert ops.conv2d(x, same.weight, padding="same", dilation=dilation).shape == (2, 3, 9, 10)
    assert nn.Conv2d(2, 3, kernel, padding="valid").padding == (0, 0)


@pytest.mark.parametrize("args, message", [
    (dict(kernel_size=4, padding="same"),
     r"padding='same' with kernel_size \(4, 4\) .*uneven padding"),
    (dict(kernel_size=3, padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    (dict(kernel_size=3, padding="full"), r"invalid padding string 'full'.*'valid', 'same'"),
])
def test_conv_padding_strings_pytorch_refuses_or_we_cannot_express(args, message):
    with pytest.raises(ValueError, match=f"Conv2d: {message}"):
        nn.Conv2d(1, 2, **args)


def test_torch_functions_at_the_top_level():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert tg.flatten(x, 1).shape == (2, 12) and tg.sum(x, dim=1).shape == (2, 4)
    values, indices = tg.max(x, 2)
    assert values.tolist() == [[3, 7, 11], [15, 19, 23]] and indices.tolist() == [[3] * 3] * 2
    assert tg.clamp(x, 2, 5).tolist()[0][0] == [2, 2, 2, 3]
    assert tg.where(x > 20, x, tg.zeros(1)).sum().item() == 21 + 22 + 23
    assert tg.cat([x, x], dim=2).shape == (2, 3, 8) and tg.argmax(x, dim=2).tolist()[0] == [3] * 3
    np.testing.assert_allclose(tg.softmax(x, dim=-1).sum(-1).data, np.ones((2, 3)), rtol=1e-6)


def test_star_import_leaves_pythons_builtins_alone():
    namespace: dict = {}
    exec("from tinygrad_cnn import *", namespace)  # noqa: S102 (a user's notebook line)
    assert "max" not in namespace and "float" not in namespace and "Tensor" in namespace
    assert tg.max(tg.tensor([1.0, 3.0])).item() == 3.0 and tg.float == np.float32
