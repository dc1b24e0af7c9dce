"""HealthMonitor against activations, gradients and updates recomputed with plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import HealthMonitor, Tensor, nn, optim
from tinygrad_cnn.health import activation_stats, format_health


def reference_activations(params: dict[str, np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The outputs of Linear -> ReLU -> Linear, computed in float64 NumPy."""
    h = x @ params["0.weight"].T + params["0.bias"]
    a = np.maximum(h, 0)
    return [h, a, a @ params["2.weight"].T + params["2.bias"]]


def test_numbers_match_numpy_norms_averaged_over_steps():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    monitor = HealthMonitor(model)
    rng = np.random.default_rng(0)
    expected: dict[str, dict[str, list[float]]] = {}

    def note(layer: str, key: str, value: float) -> None:
        expected.setdefault(layer, {}).setdefault(key, []).append(value)

    for _ in range(3):
        x = rng.standard_normal((6, 4)).astype(np.float32)
        before = {n: p.data.astype(np.float64) for n, p in model.named_parameters()}
        for layer, out in zip(["0 (Linear)", "1 (ReLU)", "2 (Linear)"],
                              reference_activations(before, x.astype(np.float64))):
            note(layer, "activation_rms", np.sqrt(np.mean(out**2)))
            note(layer, "activation_mean", out.mean())
            note(layer, "activation_std", out.std())
            note(layer, "zero_fraction", np.mean(out == 0))
        with monitor.track():
            loss = tg.ops.cross_entropy(model(Tensor(x)), rng.integers(0, 3, 6))
        opt.zero_grad()
        loss.backward()
        grads = {n: p.grad.data.astype(np.float64) for n, p in model.named_parameters()}
        monitor.before_step()
        opt.step()
        after = {n: p.data.astype(np.float64) for n, p in model.named_parameters()}
        for layer, prefix in (("0 (Linear)", "0."), ("2 (Linear)", "2.")):
            names = [n for n in before if n.startswith(prefix)]
            delta = np.concatenate([(after[n] - before[n]).ravel() for n in names])
            weight = np.concatenate([before[n].ravel() for n in names])
            grad = np.concatenate([grads[n].ravel() for n in names])
            note(layer, "grad_norm", np.linalg.norm(grad))
            note(layer, "weight_norm", np.linalg.norm(weight))
            note(layer, "update_ratio", np.linalg.norm(delta) / np.linalg.norm(weight))
        monitor.after_step()

    summary = monitor.summary()
    assert list(summary) == ["0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    for layer, values in expected.items():
        assert set(summary[layer]) == set(values)
        for key, history in values.items():
            assert summary[layer][key] == pytest.approx(np.mean(history), rel=1e-4, abs=1e-7)
    assert summary["1 (ReLU)"]["zero_fraction"] > 0  # some ReLUs are off
    assert monitor.steps == 3


def test_per_parameter_summary_and_reset():
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 2))
    monitor = HealthMonitor(model)
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    model(x).sum().backward()
    grad = model[0].weight.grad.data.copy()
    weight = model[0].weight.data.copy()
    monitor.before_step()
    model[0].weight.data -= 0.5 * grad
    monitor.after_step()
    params = monitor.summary(by="parameter", reset=True)
    assert set(params) == {"0.weight", "0.bias"}
    assert params["0.weight"]["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-6)
    assert params["0.weight"]["update_ratio"] == pytest.approx(
        0.5 * np.linalg.norm(grad) / np.linalg.norm(weight), rel=1e-5)
    assert params["0.bias"]["update_ratio"] == 0.0  # the bias did not move
    assert monitor.summary() == {} and monitor.steps == 0
    table = format_health(params).splitlines()
    assert "grad_norm" in table[0] and table[1].startswith("0.weight")


def test_hooks_come_off_and_misuse_is_reported():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    monitor = HealthMonitor(model)
    with monitor.track():
        pass
    model(Tensor(np.ones((1, 2), dtype=np.float32)))
    assert monitor.summary() == {}  # outside track(): nothing recorded
    with pytest.raises(RuntimeError, match="before_step"):
        monitor.after_step()
    with pytest.raises(ValueError, match="'layer' or 'parameter'"):
        monitor.summary(by="module")


def test_activation_stats_of_a_known_array():
    stats = activation_stats(np.array([[0.0, 3.0], [0.0, -4.0]], dtype=np.float32))
    assert stats == pytest.approx({"activation_rms": 2.5, "activation_mean": -0.25,
                                   "activation_std": np.std([0, 3, 0, -4]),
                                   "zero_fraction": 0.5})


class Heads(nn.Module):
    """A Linear body and two head weights kept in a plain list (named `heads.0`, `heads.1`)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.heads = [nn.Parameter(np.full((4, 2), 0.5, np.float32)),
                      nn.Parameter(np.full((4, 2), -0.25, np.float32))]

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x)
        return h @ self.heads[0] + (h * h) @ self.heads[1]


def test_parameters_in_a_list_attribute_belong_to_the_module_holding_the_list():
    tg.manual_seed(2)
    model = nn.Sequential(Heads())
    monitor = HealthMonitor(model)
    assert list(monitor.params) == [n for n, _ in model.named_parameters()]
    assert {n: layer for n, (layer, _) in monitor.params.items()} == {
        "0.body.weight": "0.body (Linear)", "0.body.bias": "0.body (Linear)",
        "0.heads.0": "0 (Heads)", "0.heads.1": "0 (Heads)"}
    model(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    monitor.before_step()
    heads = model[0].heads
    expected = np.sqrt(sum(np.sum(p.grad.data.astype(np.float64) ** 2) for p in heads))
    monitor.after_step()
    summary = monitor.summary()
    assert summary["0 (Heads)"]["grad_norm"] == pytest.approx(expected, rel=1e-6)
    assert summary["0 (Heads)"]["weight_norm"] == pytest.approx(np.sqrt(8 * 0.25 + 8 / 16))
