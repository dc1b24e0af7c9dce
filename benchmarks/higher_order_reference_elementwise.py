"""PyTorch 2.13's first-order gradients and Hessian-vector products for the elementwise ops and
sum/mean, printed as the literals tests/test_higher_order.py holds. Runs only where torch is
installed (never in CI):

    /work/venvs/torch/bin/python benchmarks/higher_order_reference_elementwise.py
"""

from __future__ import annotations

import torch

X = [0.7, 1.3, 2.1]
Y = [1.1, 0.6, 1.7]
W = [0.9, -1.2, 0.5]  # fixed weights: loss = sum(W * op(x, y))
V = [0.3, -0.8, 1.4]  # the direction of the Hessian-vector product, for x and for y

CASES = {
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


def main() -> None:
    for name, fn in CASES.items():
        x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(Y, dtype=torch.float64, requires_grad=True)
        w, v = torch.tensor(W, dtype=torch.float64), torch.tensor(V, dtype=torch.float64)
        gx, gy = torch.autograd.grad((w * fn(x, y)).sum(), (x, y), create_graph=True)
        hx, hy = torch.autograd.grad((gx * v).sum() + (gy * v).sum(), (x, y))
        print(f'    "{name}": ({gx.tolist()}, {gy.tolist()}, {hx.tolist()}, {hy.tolist()}),')


if __name__ == "__main__":
    main()
