"""optim: update rules against hand-written NumPy sequences, schedulers against their formulas,
gradient clipping, state dicts, and a small MLP that trains."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn, ops, optim

RNG = np.random.default_rng(42)
P0 = RNG.standard_normal((3, 4)).astype(np.float64)
GRADS = [RNG.standard_normal((3, 4)) for _ in range(3)]


def run_optimizer(make, steps: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    """Apply `steps` updates with the fixed gradients; also return the grads seen afterwards
    (to check the optimizer never wrote into them)."""
    p = nn.Parameter(P0.copy())
    opt = make([p])
    given = []
    for g in GRADS[:steps]:
        p.grad = Tensor(g.copy(), dtype=None)
        given.append(p.grad.data)
        opt.step()
    return p.data, given


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = P0.copy(), None
    for g in GRADS:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.8, dampening=0.3),
    dict(lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
])
def test_sgd_matches_hand_computed_updates(kwargs) -> None:
    got, seen = run_optimizer(lambda params: optim.SGD(params, **kwargs))
    np.testing.assert_allclose(got, sgd_reference(**kwargs), rtol=1e-12, atol=1e-12)
    for g, s in zip(GRADS, seen):
        np.testing.assert_array_equal(g, s)  # .grad untouched


def test_sgd_first_momentum_step_uses_the_gradient_undamped() -> None:
    got, _ = run_optimizer(lambda ps: optim.SGD(ps, lr=1.0, momentum=0.9, dampening=0.5), 1)
    np.testing.assert_allclose(got, P0 - GRADS[0])


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    p = P0.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    b1, b2 = betas
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.01, weight_decay=0.1)])
def test_adam_matches_hand_computed_updates(kwargs) -> None:
    got, seen = run_optimizer(lambda params: optim.Adam(params, **kwargs))
    np.testing.assert_allclose(got, adam_reference(**kwargs), rtol=1e-10, atol=1e-12)
    for g, s in zip(GRADS, seen):
        np.testing.assert_array_equal(g, s)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.1, weight_decay=0.5)])
def test_adamw_matches_hand_computed_updates(kwargs) -> None:
    got, _ = run_optimizer(lambda params: optim.AdamW(params, **kwargs))
    expected = adam_reference(weight_decay=kwargs.get("weight_decay", 1e-2), decoupled=True,
                              lr=kwargs["lr"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert not np.allclose(expected, adam_reference(lr=kwargs["lr"]))  # the decay mattered


def test_step_skips_params_without_grad_and_zero_grad() -> None:
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = Tensor(np.ones(2, np.float32))
    opt.step()
    np.testing.assert_array_equal(a.data, [0.5, 0.5])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert a.dtype == np.float32
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_param_groups_and_lr_property() -> None:
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    a.grad = b.grad = Tensor(np.ones(1), dtype=None)
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    opt.lr = 0.2
    assert opt.lr == 0.2 and opt.param_groups[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)


def test_optimizer_state_dict_round_trip_continues_identically() -> None:
    def make():
        return nn.Parameter(P0.copy())

    p1 = make()
    opt1 = optim.Adam([p1], lr=0.01)
    for g in GRADS[:2]:
        p1.grad = Tensor(g, dtype=None)
        opt1.step()
    state = opt1.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    assert state["state"]["0"]["step"] == 2
    p2 = nn.Parameter(p1.data.copy())
    opt2 = optim.Adam([p2], lr=0.5)
    opt2.load_state_dict(state)
    assert opt2.lr == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for p, opt in ((p1, opt1), (p2, opt2)):
        p.grad = Tensor(GRADS[2], dtype=None)
        opt.step()
    np.testing.assert_array_equal(p1.data, p2.data)
    np.testing.assert_allclose(p1.data, adam_reference(lr=0.01), rtol=1e-10)
    bad = opt1.state_dict()
    bad["state"]["0"]["exp_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"exp_avg.*\(3,\).*\(3, 4\)"):
        opt2.load_state_dict(bad)


def test_sgd_momentum_state_dict_round_trip() -> None:
    p = nn.Parameter(P0.copy())
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(GRADS[0], dtype=None)
    opt.step()
    state = opt.state_dict()
    state["state"]["0"]["momentum_buffer"][...] = 0  # a copy: the optimizer is untouched
    np.testing.assert_array_equal(opt.state[id(p)]["momentum_buffer"], GRADS[0])


# ----- schedulers -------------------------------------------------------------------------------
def lrs_over(scheduler, opt, steps: int) -> list[float]:
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr() -> None:
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    lrs = lrs_over(optim.StepLR(opt, step_size=3, gamma=0.5), opt, 7)
    np.testing.assert_allclose(lrs, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])


def test_cosine_annealing_lr() -> None:
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    lrs = lrs_over(optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001), opt, 10)
    expected = [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] == pytest.approx(0.001)


def one_cycle_reference(t, total, max_lr, pct=0.3, div=25.0, final_div=1e4, three=False,
                        strategy="cos"):
    """PyTorch's OneCycleLR (lr, momentum) at step t, written from its documented phases."""
    def anneal(a, b, frac):
        if strategy == "cos":
            return b + (a - b) / 2 * (math.cos(math.pi * frac) + 1)
        return a + (b - a) * frac

    initial, low = max_lr / div, max_lr / div / final_div
    m_max, m_base = 0.95, 0.85
    up = pct * total - 1
    if three:
        phases = [(up, initial, max_lr, m_max, m_base),
                  (2 * pct * total - 2, max_lr, initial, m_base, m_max),
                  (total - 1, initial, low, m_max, m_max)]
    else:
        phases = [(up, initial, max_lr, m_max, m_base), (total - 1, max_lr, low, m_base, m_max)]
    start = 0.0
    for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            frac = (t - start) / (end - start)
            return anneal(lr_a, lr_b, frac), anneal(m_a, m_b, frac)
        start = end
    raise AssertionError


@pytest.mark.parametrize("three, strategy", [(False, "cos"), (True, "cos"), (False, "linear")])
def test_one_cycle_lr_and_momentum_sgd(three, strategy) -> None:
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.123, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=0.5, epochs=4, steps_per_epoch=25, three_phase=three,
                             anneal_strategy=strategy)
    seen = {0: (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"])}
    for t in range(1, 101):
        sched.step()
        seen[t] = (sched.get_last_lr()[0], opt.param_groups[0]["momentum"])
    for t in (0, 1, 13, 29, 30, 31, 58, 59, 60, 75, 99, 100):
        expected = one_cycle_reference(t, 100, 0.5, three=three, strategy=strategy)
        np.testing.assert_allclose(seen[t], expected, rtol=1e-12, err_msg=f"step {t}")
    assert seen[0][0] == pytest.approx(0.5 / 25)
    assert max(lr for lr, _ in seen.values()) == pytest.approx(0.5, rel=1e-3)
    with pytest.raises(ValueError, match="tried to step 101 times"):
        sched.step()


def test_one_cycle_cycles_adam_beta1() -> None:
    opt = optim.Adam([nn.Parameter(np.ones(1))], lr=1e-3, betas=(0.9, 0.98))
    sched = optim.OneCycleLR(opt, max_lr=0.01, total_steps=20, pct_start=0.25)
    assert opt.param_groups[0]["betas"] == (0.95, 0.98)
    for _ in range(5):
        sched.step()
    lr, momentum = one_cycle_reference(5, 20, 0.01, pct=0.25)
    assert opt.param_groups[0]["betas"] == (pytest.approx(momentum), 0.98)
    assert opt.param_groups[0]["lr"] == pytest.approx(lr)
    with pytest.raises(ValueError, match=r"total_steps OR \(epochs AND steps_per_epoch\)"):
        optim.OneCycleLR(opt, max_lr=0.1)


def test_scheduler_state_dict_resumes() -> None:
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=1.0, total_steps=50)
    for _ in range(10):
        sched.step()
    state, opt_state = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 10
    opt2 = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt_state)
    sched2 = optim.OneCycleLR(opt2, max_lr=1.0, total_steps=50)
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr()


# ----- clipping ---------------------------------------------------------------------------------
def test_clip_grad_norm_scales_to_max_norm_and_returns_total() -> None:
    a, b = nn.Parameter(np.zeros(3)), nn.Parameter(np.zeros((2, 2)))
    ga, gb = np.array([3.0, 0.0, 4.0]), np.full((2, 2), 6.0)
    a.grad, b.grad = Tensor(ga, dtype=None), Tensor(gb, dtype=None)
    old = a.grad.data
    total = optim.clip_grad_norm_([a, b, nn.Parameter(np.zeros(1))], max_norm=1.0)
    expected_total = math.sqrt(9 + 16 + 4 * 36)
    assert total == pytest.approx(expected_total)
    scale = 1.0 / (expected_total + 1e-6)
    np.testing.assert_allclose(a.grad.data, ga * scale)
    np.testing.assert_allclose(b.grad.data, gb * scale)
    np.testing.assert_array_equal(old, ga)  # replaced, not modified in place
    # below the threshold nothing changes; inf-norm is the largest |g|
    assert optim.clip_grad_norm_([a, b], max_norm=100.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.data, ga * scale)
    assert optim.clip_grad_norm_([a, b], 10.0, norm_type=math.inf) == pytest.approx(6 * scale)
    optim.clip_grad_value_([b], 0.01)
    np.testing.assert_allclose(b.grad.data, 0.01)


# ----- training -------------------------------------------------------------------------------
def test_mlp_with_sgd_learns_a_synthetic_problem() -> None:
    tc.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    y = np.sin(x @ np.array([1.0, -2.0, 0.5, 1.5], np.float32))[:, None]
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(200):
        diff = model(Tensor(x)) - Tensor(y)
        loss = ops.mean(diff * diff)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10
    assert all(p.dtype == np.float32 for p in model.parameters())
