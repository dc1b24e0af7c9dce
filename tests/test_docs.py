"""The docs stay true: ops.md matches its generator; the numbers of the backprop and
higher-order tutorials are right."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import tinygrad_cnn as tg

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _load(name: str):  # docs/ is not a package: load its scripts by path
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ops_table_is_current():
    expected = _load("gen_ops_table").render()
    assert (DOCS / "ops.md").read_text(encoding="utf-8") == expected, (
        "docs/ops.md is out of date: run python docs/gen_ops_table.py"
    )


def test_every_op_class_has_a_row_with_a_gradient():
    gen = _load("gen_ops_table")
    classes = gen.op_classes()
    text = gen.render()
    assert len(classes) >= 40
    for _, _, cls in classes:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{cls.__name__}` |"))
        forward, gradient = row.split(" | ")[2:4]
        assert forward.strip("` ") and gradient.strip("` |"), row


def test_split_docstring():
    gen = _load("gen_ops_table")
    assert gen.split_docstring("out = x * y;  grad_x = g * y, grad_y = g * x.") == (
        "out = x * y", "grad_x = g * y, grad_y = g * x")
    doc = "out = a (p). Training: grad_x = b; eval: grad_x = c.\n x (N,)."
    gradient = "Training: grad_x = b; eval: grad_x = c. x (N,)"
    assert gen.split_docstring(doc) == ("out = a (p)", gradient)
    assert gen.split_docstring("out = x <op> y; never differentiable.") == (
        "out = x <op> y", "never differentiable")


def test_backprop_tutorial_numbers():
    """The values and gradients derived by hand in docs/tutorial_backprop.md."""
    t = _load("backprop_example").neuron()
    expected = {"p": [0.5, -0.5], "s": 0.0, "z": 0.25, "a": 0.25, "e": -0.75, "loss": 0.5625}
    for name, value in expected.items():
        np.testing.assert_array_equal(t[name].data, value)
    grads = {"loss": 1.0, "e": -1.5, "a": -1.5, "z": -1.5, "s": -1.5, "p": [-1.5, -1.5],
             "b": -1.5, "w": [-1.5, -3.0]}
    for name, grad in grads.items():
        np.testing.assert_array_equal(t[name].grad.data, grad)
    assert t["x"].grad is None and t["y"].grad is None


# ----- docs/tutorial_higher_order.md and its script docs/higher_order_example.py ----------------
def test_higher_order_newton_converges_to_one():
    """DeZero's example: Newton's method on x**4 - 2x**2 from 2, with f'' from autograd."""
    iterates = _load("higher_order_example").newton()
    expected = [2.0]  # the same iteration in float64 with the derivatives written by hand
    for _ in range(7):
        x = expected[-1]
        expected.append(x - (4 * x**3 - 4 * x) / (12 * x**2 - 4))
    np.testing.assert_allclose(iterates, expected, rtol=1e-6)
    assert iterates[-1] == 1.0


def test_higher_order_tanh_derivatives_match_closed_forms():
    derivatives = _load("higher_order_example").tanh_derivatives(1.0, 4)
    t = np.tanh(1.0)
    closed = [1 - t**2, -2 * t * (1 - t**2), (1 - t**2) * (6 * t**2 - 2),
              8 * t * (1 - t**2) * (2 - 3 * t**2)]
    np.testing.assert_allclose([d.item() for d in derivatives], closed, rtol=1e-5)


def test_higher_order_hessian_vector_product_on_lenet():
    v_hv, finite = _load("higher_order_example").hessian_vector_product()
    assert abs(v_hv) > 1e-3  # a real curvature, not an accidental zero
    np.testing.assert_allclose(v_hv, finite, rtol=1e-6)


def test_higher_order_gradient_penalty_is_differentiated_through_the_backward():
    """The penalty's gradient w.r.t. the critic's weights (double backprop) equals central
    differences (float64), and training pulls the critic's gradient norm towards 1."""
    example = _load("higher_order_example")
    tg.manual_seed(1)
    model = example.critic().double()
    real = tg.rand(4, 1, 16, 16, dtype=tg.float64)
    fake = tg.rand(4, 1, 16, 16, dtype=tg.float64)
    weight = model[0].weight
    v = tg.randn_like(weight)

    def penalty() -> tg.Tensor:
        tg.manual_seed(2)  # the same interpolation points every time
        return example.gradient_penalty(model, real, fake)[0]

    (grad_w,) = tg.autograd.grad(penalty(), weight)
    eps = 1e-6
    with tg.no_grad():
        weight += eps * v
    plus = penalty().item()
    with tg.no_grad():
        weight -= 2 * eps * v
    minus = penalty().item()
    directional = (grad_w * v).sum().item()
    assert abs(directional) > 1e-3
    np.testing.assert_allclose(directional, (plus - minus) / (2 * eps), rtol=1e-5)

    log = example.train_critic()
    (_, _, first_penalty, first_norm), (_, distance, last_penalty, last_norm) = log[0], log[-1]
    assert last_penalty < first_penalty / 10 and abs(last_norm - 1) < abs(first_norm - 1) / 4
    assert distance > 0.5  # and the critic tells squares from noise


def test_higher_order_tutorial_quotes_the_script():
    """The outputs quoted on the page are what the script prints."""
    page = (DOCS / "tutorial_higher_order.md").read_text(encoding="utf-8")
    example = _load("higher_order_example")
    newton = [f"  step {i}: x = {x:.7f}" for i, x in enumerate(example.newton()[:7])]
    tanh = [f"  order {n}: {d.item():+.6f}  ({example.op_count(d)} ops)"
            for n, d in enumerate(example.tanh_derivatives(), start=1)]
    v_hv, finite = example.hessian_vector_product()
    hvp = [f"LeNet Hessian-vector product: v.Hv = {v_hv:.6f}, finite differences {finite:.6f}"]
    for line in newton + tanh + hvp:
        assert line in page, line
    for picture in ("tanh_grad_graph.svg", "tanh_grad2_graph.svg"):
        assert f"(img/{picture})" in page and (DOCS / "img" / picture).is_file()
