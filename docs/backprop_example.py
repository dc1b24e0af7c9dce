"""The one-neuron example of docs/tutorial_backprop.md: prints every value and gradient, and with
--draw redraws docs/img/backprop_neuron.svg.

    python docs/backprop_example.py [--draw]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn.viz import draw_graph, render_graph, retain_grads  # noqa: E402


def neuron() -> dict[str, Tensor]:
    """Build loss = (relu(w . x + b) - y)**2, run backward, return every tensor by name."""
    x = Tensor([1.0, 2.0], name="x")  # the input: no gradient wanted
    w = Tensor([0.5, -0.25], requires_grad=True, name="w")  # the parameters
    b = Tensor(0.25, requires_grad=True, name="b")
    y = Tensor(1.0, name="y")  # the target

    p = w * x  # the products w_i * x_i
    s = p.sum()  # the weighted sum
    z = s + b  # plus the bias
    a = z.relu()  # the activation
    e = a - y  # the error
    loss = e**2  # the squared error

    tensors = dict(x=x, w=w, b=b, y=y, p=p, s=s, z=z, a=a, e=e, loss=loss)
    for name, t in tensors.items():
        t.name = name
    retain_grads(loss)  # keep .grad on every tensor, not only on w and b, to show them all
    loss.backward()
    return tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", action="store_true", help="redraw docs/img/backprop_neuron.svg")
    args = parser.parse_args()
    tensors = neuron()
    for name, t in tensors.items():
        grad = None if t.grad is None else t.grad.data
        print(f"{name:>4} = {t.data!s:<14} grad = {grad}")
    if args.draw:
        dot = draw_graph(tensors["loss"], show_rules=True)
        print(render_graph(dot, ROOT / "docs" / "img" / "backprop_neuron.svg"))


if __name__ == "__main__":
    main()
