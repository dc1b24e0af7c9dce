"""Facts about an op live on the op: an op defined here, outside the package, shows its FLOPs in
the profiler, its rule in the graph and its name everywhere, with no edit to tinygrad_cnn."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_cnn.ops as ops
from tinygrad_cnn import Function, Profiler, Tensor, draw_graph, nn
from tinygrad_cnn.ops.conv import Conv2d
from tinygrad_cnn.profile import UNTRACKED


class Softplus(Function):
    """out = log(1 + e**x);  grad_x = g * sigmoid(x)."""

    rule = "grad_x = g * sigmoid(x)"

    def flops(self, out: np.ndarray) -> int:
        return 4 * out.size  # abs, exp, log1p, max

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad_out / (1 + np.exp(-x))


class Mystery(Function):
    """out = x;  grad_x = g. (States no FLOPs.)"""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


def _op_rows(prof: Profiler) -> dict[str, dict]:
    return {row["name"]: row for row in prof.rows(by="op") if row["name"] != UNTRACKED}


def test_a_new_op_shows_its_flops_in_the_profiler():
    x = Tensor(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    with Profiler() as prof:
        Softplus.apply(x).sum().backward()
    row = _op_rows(prof)["Softplus"]
    assert row["calls"] == 1 and row["backward_calls"] == 1
    assert row["forward_flops"] == 4 * 12
    assert row["backward_flops"] == 4 * 12  # the default estimate: once per input with a grad


def test_an_op_without_flops_is_unknown_not_zero():
    x = Tensor(np.ones(5, np.float32), requires_grad=True)
    with Profiler() as prof:
        Mystery.apply(x).sum().backward()
    row = _op_rows(prof)["Mystery"]
    assert row["forward_flops"] is None and row["backward_flops"] is None


def test_a_new_op_shows_its_rule_and_name_in_the_graph():
    x = Tensor([0.5, -1.0], requires_grad=True)
    out = Softplus.apply(x).sum()
    assert "grad_x = g * sigmoid(x)" in draw_graph(out, show_rules=True).source
    assert "Softplus" in draw_graph(out).source


def test_the_display_name_says_the_conv_algorithm_once():
    conv = nn.Conv2d(1, 2, 3, algorithm="taps")
    out = conv(Tensor(np.ones((1, 1, 5, 5), np.float32)))
    with Profiler() as prof:
        conv(Tensor(np.ones((1, 1, 5, 5), np.float32))).sum().backward()
    assert "Conv2d[taps]" in _op_rows(prof)
    source = draw_graph(out.sum()).source
    assert "Conv2d[taps]" in source and "[taps][taps]" not in source


def _op_classes() -> list[type[Function]]:
    found = set()
    for name in ops.__all__:
        fn = getattr(ops, name)
        module = inspect.getmodule(fn)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Function) and cls is not Function:
                found.add(cls)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _op_classes(), ids=lambda c: c.__name__)
def test_every_differentiable_op_states_a_rule_its_docstring_agrees_with(cls):
    if not cls.differentiable:
        return
    assert cls.rule, f"{cls.__name__} has no rule for the graph viewer"
    assert cls.rule in " ".join((cls.__doc__ or "").split()), f"{cls.__name__}: rule != docstring"


def test_the_package_keeps_no_table_of_op_names():
    import tinygrad_cnn.profile as profile

    assert not hasattr(profile, "FLOPS")
    assert Conv2d.flops is not Function.flops


def test_grouped_conv_counts_the_flops_of_its_groups():
    x = Tensor(np.ones((2, 4, 6, 6), np.float32), requires_grad=True)
    weight = Tensor(np.ones((6, 2, 3, 3), np.float32), requires_grad=True)
    with Profiler() as prof:
        ops.conv2d(x, weight, groups=2).sum().backward()
    (row,) = [r for name, r in _op_rows(prof).items() if name.startswith("GroupedConv2d")]
    assert row["forward_flops"] == 2 * (2 * 6 * 4 * 4) * (2 * 3 * 3)
    assert row["backward_flops"] == 2 * row["forward_flops"]
