"""docs/ops.md is generated from the op docstrings and must match what gen_ops_table.py writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_ops_table", DOCS / "gen_ops_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ops_table_is_current():
    expected = _generator().render()
    assert (DOCS / "ops.md").read_text(encoding="utf-8") == expected, (
        "docs/ops.md is out of date: run python docs/gen_ops_table.py"
    )


def test_every_op_class_has_a_row_with_a_gradient():
    gen = _generator()
    classes = gen.op_classes()
    text = gen.render()
    assert len(classes) >= 40
    for _, _, cls in classes:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{cls.__name__}` |"))
        forward, gradient = row.split(" | ")[2:4]
        assert forward.strip("` ") and gradient.strip("` |"), row


def test_split_docstring():
    gen = _generator()
    assert gen.split_docstring("out = x * y;  grad_x = g * y, grad_y = g * x.") == (
        "out = x * y", "grad_x = g * y, grad_y = g * x")
    doc = "out = a (p). Training: grad_x = b; eval: grad_x = c.\n x (N,)."
    gradient = "Training: grad_x = b; eval: grad_x = c. x (N,)"
    assert gen.split_docstring(doc) == ("out = a (p)", gradient)
    assert gen.split_docstring("out = x <op> y; never differentiable.") == (
        "out = x <op> y", "never differentiable")
