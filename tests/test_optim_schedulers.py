"""RMSprop, Adagrad, amsgrad, and the schedulers MultiStepLR, ExponentialLR, LambdaLR and
ReduceLROnPlateau, against PyTorch 2.13's numbers (five steps of a fixed gradient sequence on
w0 = [1, -2, 0.5], float64, written down once)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, optim
from tinygrad_cnn.optim import lr_scheduler


def _run(make, schedule=None, steps=5):
    w = Tensor([1.0, -2.0, 0.5], dtype=np.float64, requires_grad=True)
    opt = make([w])
    sched = schedule(opt) if schedule else None
    lrs = []
    for t in range(1, steps + 1):
        w.grad = Tensor([0.1 * t, -0.2, 0.3 * (-1) ** t], dtype=np.float64)
        opt.step()
        if sched:
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
    return w.data, lrs


@pytest.mark.parametrize("make, expected", [
    (lambda p: optim.RMSprop(p, lr=0.01), [0.58911709391, -1.675539555312, 0.58193084949]),
    (lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
     [0.3527756514, -1.455540197304, 0.574749890741]),
    (lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.1, weight_decay=0.1,
                             initial_accumulator_value=0.5),
     [0.828527500686, -1.825280438215, 0.508266279514]),
    (lambda p: optim.Adam(p, lr=0.01, amsgrad=True), [0.951491693174, -1.9500000025,
                                                        0.514349451848]),
    (lambda p: optim.AdamW(p, lr=0.01, amsgrad=True), [0.951001564136, -1.94901020148,
                                                         0.514095041401]),
], ids=["rmsprop", "rmsprop-centered-momentum", "adagrad", "adam-amsgrad", "adamw-amsgrad"])
def test_optimizers_match_pytorch(make, expected):
    np.testing.assert_allclose(_run(make)[0], expected, rtol=1e-9)


@pytest.mark.parametrize("schedule, expected", [
    (lambda o: lr_scheduler.MultiStepLR(o, [3, 1], gamma=0.5), [0.05, 0.05, 0.025, 0.025, 0.025]),
    (lambda o: lr_scheduler.ExponentialLR(o, 0.9), [0.09, 0.081, 0.0729, 0.06561, 0.059049]),
    (lambda o: lr_scheduler.LambdaLR(o, lambda e: 1 / (e + 1)),
     [0.05, 0.033333333333, 0.025, 0.02, 0.016666666667]),
], ids=["multistep", "exponential", "lambda"])
def test_schedulers_match_pytorch(schedule, expected):
    np.testing.assert_allclose(_run(lambda p: optim.SGD(p, lr=0.1), schedule)[1], expected,
                               rtol=1e-9)


def test_reduce_on_plateau_matches_pytorch():
    opt = optim.SGD([Tensor([0.0], requires_grad=True)], lr=0.1)
    sched = optim.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1)
    lrs = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.9]:
        sched.step(tg.tensor(metric))  # a 0-d loss tensor works, as in PyTorch
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025])
    assert sched.get_last_lr() == [0.025]


def test_scheduler_state_dicts_save_without_code(tmp_path):
    opt = optim.SGD([Tensor([0.0], requires_grad=True)], lr=0.1)
    sched = lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)
    sched.step()
    tg.save({"sched": sched.state_dict(),
             "plateau": optim.ReduceLROnPlateau(opt).state_dict()}, tmp_path / "s.tg")
    assert tg.load(tmp_path / "s.tg")["sched"]["last_epoch"] == 1


def test_bad_arguments_name_themselves():
    w = [Tensor([0.0], requires_grad=True)]
    with pytest.raises(ValueError, match="RMSprop: invalid .*alpha=1.5"):
        optim.RMSprop(w, alpha=1.5)
    with pytest.raises(ValueError, match=r"Factor should be < 1\.0"):
        optim.ReduceLROnPlateau(optim.SGD(w, lr=0.1), factor=2.0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(optim.SGD(w, lr=0.1), [abs, abs])
