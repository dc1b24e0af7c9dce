"""tinygrad_cnn.nn.functional: torch.nn.functional's parameter names and order (written down once
from torch 2.x's inspect.signature), the same numbers as the ops it wraps, and a clear refusal
of each PyTorch argument it does not implement."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from helpers import uniform

import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import Tensor, ops

TORCH_PARAMETERS = {
    "relu": ("input", "inplace"),
    "sigmoid": ("input",),
    "tanh": ("input",),
    "leaky_relu": ("input", "negative_slope", "inplace"),
    "softmax": ("input", "dim", "_stacklevel", "dtype"),
    "log_softmax": ("input", "dim", "_stacklevel", "dtype"),
    "dropout": ("input", "p", "training", "inplace"),
    "linear": ("input", "weight", "bias"),
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                   "return_indices"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
    "pad": ("input", "pad", "mode", "value"),
    "cross_entropy": ("input", "target", "weight", "size_average", "ignore_index", "reduce",
                      "reduction", "label_smoothing"),
    "nll_loss": ("input", "target", "weight", "size_average", "ignore_index", "reduce",
                 "reduction"),
    "mse_loss": ("input", "target", "size_average", "reduce", "reduction", "weight"),
    "binary_cross_entropy": ("input", "target", "weight", "size_average", "reduce", "reduction"),
    "binary_cross_entropy_with_logits": ("input", "target", "weight", "size_average", "reduce",
                                         "reduction", "pos_weight"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training",
                   "momentum", "eps"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "silu": ("input", "inplace"),
    "elu": ("input", "alpha", "inplace"),
    "softplus": ("input", "beta", "threshold"),  # builtins in torch: from its documentation
    "gelu": ("input", "approximate"),
    "adaptive_avg_pool2d": ("input", "output_size"),
}


def test_every_public_function_has_its_torch_parameters_written_down():
    public = {n for n, v in vars(F).items() if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", "") == F.__name__}
    assert public == set(TORCH_PARAMETERS)


@pytest.mark.parametrize("name", sorted(TORCH_PARAMETERS))
def test_parameters_are_pytorchs(name):
    assert tuple(inspect.signature(getattr(F, name)).parameters) == TORCH_PARAMETERS[name]


def test_normalize_is_left_out_as_its_meaning_differs():
    assert not hasattr(F, "normalize")  # torch's is x / ||x||_p, ops.normalize standardises


X = Tensor(uniform(2, 3, 4, 4, seed=1), dtype=np.float32)
LOGITS, LABELS = Tensor(uniform(4, 5, seed=2)), np.array([0, 4, 2, 2])
PROBS, TARGET = Tensor(uniform(4, 3, low=0.1, high=0.9, seed=3)), uniform(4, 3, low=0, high=1)
W, B = Tensor(uniform(2, 3, 3, 3, seed=4)), Tensor(uniform(2, seed=5))


@pytest.mark.parametrize("ours, expected", [
    (lambda: F.relu(X), lambda: ops.relu(X)),
    (lambda: F.sigmoid(input=X), lambda: ops.sigmoid(X)),
    (lambda: F.tanh(X), lambda: ops.tanh(X)),
    (lambda: F.leaky_relu(X, 0.2), lambda: ops.leaky_relu(X, 0.2)),
    (lambda: F.softmax(X, 1), lambda: ops.softmax(X, 1)),
    (lambda: F.log_softmax(X, dim=-1), lambda: ops.log_softmax(X, -1)),
    (lambda: F.dropout(X, 0.3, False), lambda: X),
    (lambda: F.linear(LOGITS, Tensor(uniform(3, 5)), bias=None),
     lambda: ops.linear(LOGITS, Tensor(uniform(3, 5)))),
    (lambda: F.conv2d(X, W, B, 1, 1), lambda: ops.conv2d(X, W, B, padding=1)),
    (lambda: F.conv2d(X, W, stride=2, dilation=1, groups=1), lambda: ops.conv2d(X, W, None, 2)),
    (lambda: F.max_pool2d(X, 2, padding=1), lambda: ops.max_pool2d(X, 2, None, 1)),
    (lambda: F.avg_pool2d(X, 3, 1, 1), lambda: ops.avg_pool2d(X, 3, 1, 1)),
    (lambda: F.pad(X, (1, 2), value=-1.0), lambda: ops.pad(X, (1, 2), -1.0)),
    (lambda: F.pad(X, (1, 1, 0, 2), "constant"), lambda: ops.pad(X, (1, 1, 0, 2))),
    (lambda: F.cross_entropy(LOGITS, LABELS, None, None, 4, None, "sum", 0.1),
     lambda: ops.cross_entropy(LOGITS, LABELS, "sum", 0.1, ignore_index=4)),
    (lambda: F.nll_loss(LOGITS, LABELS, reduction="none"),
     lambda: ops.nll_loss(LOGITS, LABELS, "none")),
    (lambda: F.mse_loss(PROBS, TARGET, reduction="sum"),
     lambda: ops.mse_loss(PROBS, TARGET, "sum")),
    (lambda: F.binary_cross_entropy(PROBS, TARGET),
     lambda: ops.binary_cross_entropy(PROBS, TARGET)),
    (lambda: F.binary_cross_entropy_with_logits(PROBS, TARGET, reduction="none"),
     lambda: ops.binary_cross_entropy_with_logits(PROBS, TARGET, "none")),
    (lambda: F.batch_norm(X, np.zeros(3), np.ones(3), None, None, False, 0.1, 1e-3),
     lambda: ops.batch_norm(X, np.zeros(3), np.ones(3), eps=1e-3)),
    (lambda: F.layer_norm(X, (4, 4), eps=1e-3), lambda: ops.layer_norm(X, (4, 4), eps=1e-3)),
])
def test_the_same_numbers_as_the_op(ours, expected):
    np.testing.assert_allclose(ours().data, expected().data, rtol=1e-6, atol=1e-7)


def test_gradients_flow_through_the_wrappers():
    x = Tensor(uniform(2, 3, seed=6), requires_grad=True)
    F.cross_entropy(F.linear(F.relu(x), Tensor(uniform(4, 3))), np.array([1, 3])).backward()
    assert x.grad is not None and x.grad.shape == (2, 3)


def test_softmax_without_dim_is_pytorchs_legacy_choice_with_its_warning():
    for shape, dim in (((5,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)):
        x = Tensor(uniform(*shape))
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been "
                                             "deprecated"):
            out = F.softmax(x)
        np.testing.assert_allclose(out.data, ops.softmax(x, dim).data)
    out = F.log_softmax(Tensor(uniform(2, 3)), 1, dtype=np.float64)
    assert out.dtype == np.float64


def test_legacy_size_average_and_reduce_as_pytorch():
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        total = F.mse_loss(PROBS, TARGET, size_average=False)
    np.testing.assert_allclose(total.data, ops.mse_loss(PROBS, TARGET, "sum").data)
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        each = F.nll_loss(LOGITS, LABELS, reduce=False)
    assert each.shape == (4,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(PROBS, TARGET)  # no legacy flags: no warning


@pytest.mark.parametrize("call, name", [
    (lambda: F.relu(X, inplace=True), "inplace=True"),
    (lambda: F.dropout(X, 0.5, True, True), "inplace=True"),
    (lambda: F.max_pool2d(X, 2, dilation=2), "dilation=2"),
    (lambda: F.max_pool2d(X, 2, return_indices=True), "return_indices=True"),
    (lambda: F.pad(X, (1, 1), mode="reflect"), "mode='reflect'"),
    (lambda: F.cross_entropy(LOGITS, LABELS, weight=np.ones(5)), "weight="),
    (lambda: F.binary_cross_entropy_with_logits(PROBS, TARGET, pos_weight=np.ones(3)),
     "pos_weight="),
])
def test_what_is_not_implemented_is_refused_by_name(call, name):
    with pytest.raises(NotImplementedError, match=f"F\\.\\w+: {name}"):
        call()
