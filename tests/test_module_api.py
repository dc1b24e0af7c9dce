"""Module API under PyTorch's names: add_module, register_parameter, get_submodule, non-persistent
buffers, ModuleDict, Identity's arguments, and the init functions (gains as PyTorch's)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn


def test_add_module_register_parameter_and_get_submodule():
    net = nn.Module()
    net.add_module("body", nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
    net.register_parameter("scale", nn.Parameter(np.ones(4, np.float32)))
    net.register_parameter("unused", None)
    # own parameters first, then the children's (PyTorch's order)
    assert [name for name, _ in net.named_parameters()] == ["scale", "body.0.weight",
                                                            "body.0.bias"]
    assert isinstance(net.get_submodule("body.0"), nn.Linear) and net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule '2'"):
        net.get_submodule("body.2")
    with pytest.raises(TypeError, match="nn.Parameter or None required"):
        net.register_parameter("w", tg.zeros(2))
    with pytest.raises(KeyError, match="without '.'"):
        net.add_module("a.b", nn.ReLU())


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    layer = nn.Linear(2, 2)
    layer.register_buffer("cache", tg.zeros(3), persistent=False)
    layer.register_buffer("steps", tg.zeros(1))
    assert "cache" not in layer.state_dict() and "steps" in layer.state_dict()
    assert any(b is layer.cache for b in layer.buffers())
    layer.load_state_dict(layer.state_dict())  # strict: the missing cache is not a missing key


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.ReLU()
    assert list(heads) == ["a", "b", "c"] and len(heads) == 3 and "b" in heads
    assert heads["b"](tg.ones(1, 2)).shape == (1, 3)
    assert sorted(heads.state_dict()) == ["a.bias", "a.weight", "b.bias", "b.weight"]
    del heads["c"]
    assert heads.keys() == ["a", "b"]
    with pytest.raises(KeyError):
        heads["z"]
    with pytest.raises(TypeError, match="holds Modules"):
        heads["x"] = 3


def test_identity_takes_any_arguments():
    assert nn.Identity(54, unused="x")(tg.ones(2)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75),
])
def test_calculate_gain_is_pytorchs(name, param, gain):
    assert nn.init.calculate_gain(name, param) == pytest.approx(gain)


@pytest.mark.parametrize("init, std", [
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu"),
     math.sqrt(2 / 200)),
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2 / 100)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
    (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / 300)),
    (lambda t: nn.init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(2 / 300)),
])
def test_init_spreads(init, std):
    tg.manual_seed(0)
    weight = tg.zeros(100, 200)  # fan_in 200, fan_out 100
    init(weight)
    assert weight.data.std() == pytest.approx(std, rel=0.03) and abs(weight.data.mean()) < 0.01


def test_constant_and_bad_mode():
    assert nn.init.constant_(tg.zeros(3), 0.5).tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_normal_(tg.zeros(2, 2), mode="fan")
