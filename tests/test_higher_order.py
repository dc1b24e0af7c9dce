"""Backward is a graph too: create_graph=True records each op's backward, so gradients can be
differentiated again. Numbers are PyTorch 2.13's (written down; no torch here) or closed forms;
gradgradcheck compares second derivatives with float64 central differences."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, autograd
from tinygrad_cnn.gradcheck import gradgradcheck


def test_second_derivative_of_a_cube_by_grad_twice():
    x = Tensor([2.0, 3.0], requires_grad=True)
    (g,) = autograd.grad((x * x * x).sum(), x, create_graph=True)
    assert g.requires_grad and g.tolist() == [12.0, 27.0]  # 3x**2
    (h,) = autograd.grad(g.sum(), x)
    assert h.tolist() == [12.0, 18.0]  # 6x


def test_backward_create_graph_keeps_a_graph_on_dot_grad():
    x = Tensor(2.0, requires_grad=True, dtype=np.float64)
    (x.exp() * x.log()).backward(create_graph=True)
    first = x.grad
    assert first.requires_grad and first.grad_fn is not None
    e = np.exp(2.0)
    np.testing.assert_allclose(first.item(), e * np.log(2.0) + e / 2.0)
    x.grad = None
    first.backward()
    # the second derivative, e**x (ln x + 2/x - 1/x**2) at x = 2
    np.testing.assert_allclose(x.grad.item(), e * np.log(2.0) + e - e / 4.0)


def test_retain_graph_defaults_to_create_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(create_graph=True)
    y.backward()  # the graph was kept: a second backward works, as in PyTorch
    assert x.grad.tolist() == [4.0, 8.0]


def test_an_op_without_a_graph_backward_gives_first_order_and_refuses_the_second():
    class Twice(tg.Function):
        """out = 2 x;  grad_x = 2 g."""

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad_out):
            return 2 * grad_out

    x = Tensor([1.0, 2.0], requires_grad=True)
    (g,) = autograd.grad((Twice.apply(x) * x).sum(), x, create_graph=True)
    assert g.tolist() == [4.0, 8.0]  # d(2x * x)/dx = 4x: first order is right
    with pytest.raises(RuntimeError, match="Twice's backward is NumPy code.*no second order"):
        g.sum().backward()


@pytest.mark.parametrize("name, fn, domain", [
    ("add", lambda a, b: (a + b) * a, (-2, 2)),
    ("sub", lambda a, b: (a - b) * b, (-2, 2)),
    ("mul", lambda a, b: a * b * a, (-2, 2)),
    ("div", lambda a, b: a / b, (0.5, 2)),
    ("pow", lambda a, b: a ** b, (0.5, 2)),
    ("neg", lambda a, b: -(a * b), (-2, 2)),
    ("exp", lambda a, b: (a * b).exp(), (-1, 1)),
    ("log", lambda a, b: (a * b).log(), (0.5, 2)),
    ("sqrt", lambda a, b: (a * b).sqrt(), (0.5, 2)),
    ("abs", lambda a, b: (a - b).abs() * a, (-2, 2)),
    ("sum", lambda a, b: (a * a).sum(axis=1, keepdims=True) * b.sum(), (-2, 2)),
    ("mean", lambda a, b: (a * a * b).mean(dim=0), (-2, 2)),
])
def test_gradgradcheck_elementwise_and_reductions(name, fn, domain):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(*domain, (3, 4)), rng.uniform(*domain, (4,))
    assert gradgradcheck(fn, [a, b])


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class DetachedCube(tg.Function):
        """out = x**3;  grad_x = 3 g x**2, with x**2 cut from the graph (a wrong 2nd order)."""
        graph_backward = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            square = x.detach() * x.detach() if isinstance(x, Tensor) else x * x
            return 3 * grad_out * square

    x = np.array([1.0, -2.0])
    assert tg.gradcheck(lambda t: DetachedCube.apply(t), [x])  # first order is right
    with pytest.raises(tg.GradcheckError, match="input 0"):
        gradgradcheck(lambda t: DetachedCube.apply(t), [x])
