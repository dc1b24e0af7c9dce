"""The docs stay true: ops.md matches its generator; the backprop tutorial's numbers are right."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

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
