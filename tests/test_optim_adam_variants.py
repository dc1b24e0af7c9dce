"""Adadelta, Adamax, NAdam and RAdam against PyTorch 2.13: 8 steps on
f(p) = sum((p - 1)^2) + 0.1 sum(p^3) from the same start; the final parameters PyTorch printed
(rounded to 8 decimals) are written below. RAdam's 8 steps cross from its unrectified first steps
(rho_t <= 5) to the rectified ones."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, optim

START = [[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]]
PYTORCH = {
    "Adadelta": ({},
                 [[0.52623934, -1.47330105, 1.9734534], [0.27645284, 2.97336411, -0.72334439]]),
    "Adadelta_wd": ({"lr": 0.5, "rho": 0.8, "eps": 1e-05, "weight_decay": 0.1},
                    [[0.53107703, -1.4682579, 1.96844399], [0.28140032, 2.96833396, -0.71831554]]),
    "Adamax": ({},
               [[0.51589936, -1.48398745, 1.98400688], [0.26596448, 2.9839797, -0.7339769]]),
    "Adamax_wd": ({"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1},
                  [[0.79932082, -1.09859967, 1.62823796], [0.59555334, 2.61059451, -0.35854352]]),
    "NAdam": ({"lr": 0.05},
              [[0.76782387, -1.1840775, 1.69707584], [0.54226369, 2.68911719, -0.4378731]]),
    "NAdam_dwd": ({"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
                   "momentum_decay": 0.01},
                  [[0.74816269, -1.13175917, 1.62873852], [0.52844948, 2.58058095, -0.41485745]]),
    "RAdam": ({"lr": 0.05},
              [[0.70763588, -0.48596001, 1.32266808], [0.58227509, 1.62552392, 0.0143059]]),
    "RAdam_wd": ({"lr": 0.05, "weight_decay": 0.1, "betas": (0.8, 0.9)},
                 [[0.73260391, -0.4221628, 1.25772059], [0.61116999, 1.56046712, 0.06137156]]),
    "RAdam_dwd": ({"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
                  [[0.68445802, -0.4547863, 1.2684623], [0.56500715, 1.55457211, 0.02317391]]),
}


def _run(name: str, kwargs: dict, steps: int = 8) -> tuple[Tensor, optim.Optimizer]:
    p = Tensor(START, requires_grad=True)
    opt = getattr(optim, name.split("_")[0])([p], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((p - 1.0) ** 2).sum() + 0.1 * (p**3).sum()
        loss.backward()
        opt.step()
    return p, opt


@pytest.mark.parametrize("name", sorted(PYTORCH))
def test_eight_steps_match_pytorch(name):
    kwargs, expected = PYTORCH[name]
    p, _ = _run(name, kwargs)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=2e-6, atol=2e-7)
    assert p.dtype == np.float32


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_state_dict_resumes_the_same_trajectory(name):
    kwargs = PYTORCH[name][0]
    p, opt = _run(name, kwargs, steps=4)
    q = Tensor(p.detach().numpy().copy(), requires_grad=True)
    resumed = getattr(optim, name)([q], **kwargs)
    resumed.load_state_dict(opt.state_dict())
    for params, optimizer in ((p, opt), (q, resumed)):
        for _ in range(4):
            optimizer.zero_grad()
            (((params - 1.0) ** 2).sum() + 0.1 * (params**3).sum()).backward()
            optimizer.step()
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
    np.testing.assert_allclose(p.detach().numpy(), PYTORCH[name][1], rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("make", [
    lambda p: optim.Adadelta([p], rho=1.5), lambda p: optim.Adamax([p], betas=(1.0, 0.9)),
    lambda p: optim.NAdam([p], momentum_decay=-1), lambda p: optim.RAdam([p], lr=-1)])
def test_bad_hyper_parameters_are_refused(make):
    with pytest.raises(ValueError, match="invalid"):
        make(tg.zeros(2, requires_grad=True))


@pytest.mark.parametrize("make, error, words", [
    (lambda p: optim.Adadelta([p], lr="1"), TypeError, "Adadelta: lr should be a number"),
    (lambda p: optim.Adamax([p], eps=None), TypeError, "Adamax: eps should be a number"),
    (lambda p: optim.NAdam([p], betas=(0.9,)), ValueError, "NAdam: betas should be a pair"),
    (lambda p: optim.RAdam([p], betas=(0.9, "0.99")), TypeError, "RAdam: beta2 should be a")])
def test_hyper_parameters_of_the_wrong_kind_are_refused_at_construction(make, error, words):
    """As SGD and Adam: a string lr or a one-element betas failed with Python's own errors, or
    only at the first step."""
    with pytest.raises(error, match=words):
        make(tg.zeros(2, requires_grad=True))


def test_frozen_parameters_are_accepted_and_skipped():
    """Fine-tuning as PyTorch's autograd tutorial: requires_grad=False parameters in the list."""
    frozen, head = tg.ones(2), tg.ones(2, requires_grad=True)
    opt = optim.SGD([frozen, head], lr=0.5)
    (head * 2).sum().backward()
    opt.step()
    assert frozen.tolist() == [1.0, 1.0] and head.tolist() == [0.0, 0.0]
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "float"):
        optim.SGD([1.0], lr=0.1)
