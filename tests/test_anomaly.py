"""detect_anomaly: the first op whose output or gradient is NaN/Inf is named, with its inputs."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import AnomalyError, Tensor, detect_anomaly, nn
from tinygrad_cnn.engine import _state

# the NaNs and infinities are the point here; NumPy's warnings about making them are noise
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class LogLayer(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.log()


def test_log_of_zero_names_log_its_inputs_and_the_phase():
    x = Tensor([1.0, 0.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError, match=r"^Log produced -inf in its forward output") as info:
        with detect_anomaly():
            y = x * 2.0
            y.log().sum()
    err = info.value
    assert isinstance(err, RuntimeError)
    assert err.op == "Log" and err.phase == "forward" and err.module is None
    assert err.input_shapes == [(3,)] and "inputs: (3,) float32" in str(err)
    assert not _state.observers  # detached even though the block raised


def test_names_the_module_by_its_dotted_name():
    model = nn.Sequential(nn.Linear(2, 3), LogLayer())
    tg.manual_seed(0)
    x = Tensor(np.ones((4, 2), dtype=np.float32))
    model[0].weight.data[...] = -1.0  # every pre-activation is negative: log gives NaN
    with pytest.raises(AnomalyError, match=r"Log in module 1 \(LogLayer\) produced nan") as info:
        with detect_anomaly(model):
            model(x)
    assert info.value.module == "1 (LogLayer)"
    assert info.value.input_shapes == [(4, 3)]


def test_backward_gradient_anomaly_names_the_op_and_input():
    x = Tensor([4.0, 0.0], requires_grad=True)
    with detect_anomaly(check_backward=False):
        x.sqrt().sum().backward()  # only the forward is checked: sqrt(0) = 0 is fine
    x.grad = None
    with pytest.raises(AnomalyError, match=r"Sqrt produced inf in the gradient for its input 0"):
        with detect_anomaly():
            x.sqrt().sum().backward()


def test_says_when_the_input_was_already_bad():
    x = Tensor([np.nan, 1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(AnomalyError, match="holding nan.*already non-finite"):
        with detect_anomaly():
            x * 2.0


def test_finite_runs_are_untouched_and_inactive_mode_does_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        loss = (x.log() * x).sum()
        loss.backward()
    np.testing.assert_allclose(x.grad.data, np.log([1.0, 2.0]) + 1.0, rtol=1e-6)
    out = Tensor([0.0]).log()  # outside the block: no error, the -inf is returned
    assert out.data[0] == -np.inf
    assert (Tensor([1.0]) > 0).data[0]  # bool outputs are never checked
