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


def test_a_seed_that_requires_grad_is_part_of_the_gradients_graph():
    """PyTorch's double-vjp: under create_graph, grad_outputs / backward's gradient that require
    grad are inputs of the gradient (d(x**2 * v)/dx = 2 x v, whose gradient in v is 2 x)."""
    x, v = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 1.0], requires_grad=True)
    (g,) = autograd.grad(x * x, x, grad_outputs=v, create_graph=True)
    assert autograd.grad(g.sum(), v)[0].tolist() == [2.0, 4.0]
    x, v = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 3.0], requires_grad=True)
    (x ** 3).backward(v, create_graph=True)
    assert x.grad.tolist() == [3.0, 36.0] and v.grad is None  # 3 x**2 v
    x.grad.sum().backward()
    assert v.grad.tolist() == [3.0, 12.0] and x.grad.tolist() == [9.0, 72.0]  # 3 x**2; + 6 x v

def test_create_graph_records_the_backward_also_under_no_grad():
    """As PyTorch's engine (grad mode = create_graph while it runs): the accumulation of x used
    three times and the reduction of a broadcast gradient are recorded too."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * x).sum()
    with tg.no_grad():
        (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.tolist() == [3.0, 12.0]  # 3x**2
    assert autograd.grad(g.sum(), x)[0].tolist() == [6.0, 12.0]  # 6x
    w = Tensor([[1.0], [2.0]], requires_grad=True)
    y = (w * Tensor([[1.0, 2.0, 3.0]])).pow(2).sum()
    with tg.no_grad():
        (g,) = autograd.grad(y, w, create_graph=True)
        assert not tg.is_grad_enabled()  # the mode outside comes back
    assert g.tolist() == [[28.0], [56.0]]  # 2 w * (1 + 4 + 9)
    assert autograd.grad(g.sum(), w)[0].tolist() == [[28.0], [28.0]]

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


@pytest.mark.parametrize("dim", [0, 1])
def test_gradgradcheck_scatter(dim):
    index = np.array([[0, 2, 1], [2, 0, 0]]) if dim == 0 else np.array([[1, 0], [3, 2], [0, 1]])

    def fn(x, src):
        out = x.scatter(dim, Tensor(index, dtype=None), src)
        return out * out * src.sum()

    rng = np.random.default_rng(3)
    assert gradgradcheck(fn, [rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 3))])


# PyTorch 2.13's numbers (benchmarks/higher_order_reference_elementwise.py): for loss =
# sum(W * op(x, y)), the gradients (gx, gy) and the Hessian-vector products (hx, hy) along V
X, Y = [0.7, 1.3, 2.1], [1.1, 0.6, 1.7]
W, V = [0.9, -1.2, 0.5], [0.3, -0.8, 1.4]
ELEMENTWISE = {
    "add": lambda x, y: (x + y) * x,
    "sub": lambda x, y: (x - y) * y,
    "mul": lambda x, y: x * y * x,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x ** y,
    "neg": lambda x, y: -(x * y * y),
    "exp": lambda x, y: (x * y).exp(),
    "log": lambda x, y: (x * y).log(),
    "sqrt": lambda x, y: (x * y).sqrt(),
    "abs": lambda x, y: (x - y).abs() * x,
    "sum": lambda x, y: (x * x).sum() * y,
    "mean": lambda x, y: (x * x * y).mean() * y,
}
TORCH = {
    "add": (
        [2.25, -3.84, 2.95],
        [0.63, -1.56, 1.05],
        [0.81, 2.88, 2.0999999999999996],
        [0.27, 0.96, 0.7],
    ),
    "sub": (
        [0.9900000000000001, -0.72, 0.85],
        [-1.3500000000000003, -0.1200000000000001, -0.6499999999999999],
        [0.27, 0.96, 0.7],
        [-0.27, -0.96, -0.7],
    ),
    "mul": (
        [1.3860000000000001, -1.8719999999999999, 3.57],
        [0.44099999999999995, -2.028, 2.205],
        [0.9720000000000001, 3.648, 5.32],
        [0.378, 2.4960000000000004, 2.94],
    ),
    "div": (
        [0.8181818181818181, -2.0, 0.29411764705882354],
        [-0.5206611570247933, 4.333333333333334, -0.3633217993079585],
        [-0.22314049586776857, -2.666666666666667, -0.2422145328719723],
        [0.06085649887302777, 8.88888888888889, 0.3561978424587828],
    ),
    "pow": (
        [0.9553114841686194, -0.6482688525537892, 1.4288032586288577],
        [-0.21683179003809883, -0.36851225813449523, 1.309513671341371],
        [0.1992607154144736, 0.8408506632158306, 3.327551855319805],
        [0.18152033463118203, 1.0777720926558552, 4.020984935975575],
    ),
    "neg": (
        [-1.0890000000000002, 0.432, -1.4449999999999998],
        [-1.3860000000000001, 1.8719999999999999, -3.57],
        [-0.5940000000000001, -1.152, -2.38],
        [-0.9720000000000002, -3.6479999999999997, -5.32],
    ),
    "exp": (
        [2.1381685912470663, -1.5706600311587047, 30.1891041788842],
        [1.3606527398844965, -3.403096734177194, 37.292422809209896],
        [1.737747927795343, 4.481616622239504, 185.46764943780389],
        [1.3178893680595554, 7.266920410827607, 223.2573045511366],
    ),
    "log": (
        [1.2857142857142858, -0.9230769230769229, 0.23809523809523808],
        [0.8181818181818181, -2.0, 0.29411764705882354],
        [-0.5510204081632655, -0.5680473372781063, -0.15873015873015875],
        [-0.22314049586776857, -2.6666666666666665, -0.24221453287197234],
    ),
    "sqrt": (
        [0.5641048534752079, -0.40761973229205445, 0.22493385271060934],
        [0.3589758158478595, -0.8831760866327847, 0.27785946511310566],
        [-0.043956222348717516, 0.14632503210484016, 0.0176418708008321],
        [0.02797214149463842, -0.3170375695604867, -0.02179289922455732],
    ),
    "abs": (
        [-0.26999999999999985, -2.4000000000000004, 1.25],
        [0.63, 1.56, -1.05],
        [-0.27, 0.96, 0.7],
        [0.27, -0.96, -0.7],
    ),
    "sum": (
        [1.568, 2.9120000000000004, 4.704000000000001],
        [5.931, -7.9079999999999995, 3.295],
        [3.374, 3.2259999999999995, 11.242],
        [3.798, -5.063999999999999, 2.11],
    ),
    "mean": (
        [0.5749333333333334, 0.5824, 2.6656000000000004],
        [2.8979333333333335, -2.9890666666666665, 3.1547333333333336],
        [1.3939333333333335, -0.13133333333333352, 8.565666666666667],
        [4.725733333333333, -5.3609, 7.3954666666666675],
    ),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_second_order_equals_pytorchs(name):
    x = Tensor(X, requires_grad=True, dtype=np.float64)
    y = Tensor(Y, requires_grad=True, dtype=np.float64)
    w, v = Tensor(W, dtype=np.float64), Tensor(V, dtype=np.float64)
    gx, gy = autograd.grad((w * ELEMENTWISE[name](x, y)).sum(), [x, y], create_graph=True)
    hx, hy = autograd.grad((gx * v).sum() + (gy * v).sum(), [x, y])
    for ours, theirs in zip((gx, gy, hx, hy), TORCH[name]):
        np.testing.assert_allclose(ours.data, theirs, rtol=1e-10, atol=1e-12)


def test_gradgradcheck_and_gradcheck_refuse_inputs_with_nothing_to_check():
    ints = Tensor(np.array([1, 2]), dtype=None)  # an integer Tensor (arrays become float64)
    with pytest.raises(ValueError, match=r"at least one floating-point input.*\['int64'\]"):
        gradgradcheck(lambda x: (x * x).sum(), [ints])
    with pytest.raises(ValueError, match="at least one floating-point input"):
        tg.gradcheck(lambda x: x * 2, [ints])
    assert gradgradcheck(lambda x: (x * x * x).sum(), [np.array([1, 2])])  # as float64
