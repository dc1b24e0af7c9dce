"""PyTorch's first and second derivatives for the activation, trig, rounding, compare, reduce,
cast and copy ops: the numbers tests/test_higher_order_activations.py keeps written down.

Runs only where PyTorch is installed (never in CI, never imported by tests):

    /work/venvs/torch/bin/python benchmarks/higher_order_reference_activations.py

For each case, with fixed float64 inputs: loss = sum(W * f(inputs)), the first-order gradient
g = autograd.grad(loss, inputs, create_graph=True) and the Hessian-vector product
autograd.grad(g, inputs, V) (one V per input). Then the 1st..4th derivatives of tanh and
Newton's method on x**4 - 2 x**2 from 2.0. Prints Python literals to paste into the test.
"""

from __future__ import annotations

import textwrap

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's habit)

X = [[0.3, -1.2, 0.8], [1.5, -0.4, -2.1]]
Y = [[-0.2, -0.7, 1.1], [0.9, 0.35, -1.6]]
X_ZEROS = [[0.0, -1.2, 0.8], [1.5, 0.0, 0.0]]  # prod: one zero in row 0, two in row 1
W = [[0.7, -1.1, 0.4], [1.3, 0.6, -0.9]]
V = [[0.5, 0.2, -0.3], [-0.8, 1.1, 0.6]]
V2 = [[-0.4, 0.9, 0.1], [0.3, -0.6, 1.2]]
TANH_POINTS = [-1.0, 0.0, 0.5, 1.5]


def _copy_into(x):
    z = torch.zeros(2, 3, dtype=torch.float64)
    z.copy_(x * x)
    return z * x


def _setitem(x):
    z = x * 1.0
    z[:, 1] = x[:, 0] ** 2
    return z * z


# name: (f, inputs); every input requires grad
CASES = {
    "sigmoid": (torch.sigmoid, [X]),
    "relu": (lambda x: torch.relu(x) * x, [X]),
    "tanh": (torch.tanh, [X]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1) * x, [X]),
    "hardtanh": (lambda x: F.hardtanh(x) * x, [X]),
    "relu6": (lambda x: F.relu6(x * 4) * x, [X]),
    "softmax": (lambda x: torch.softmax(x, dim=1), [X]),
    "log_softmax": (lambda x: torch.log_softmax(x, dim=0), [X]),
    "silu": (F.silu, [X]),
    "elu": (lambda x: F.elu(x, alpha=0.7), [X]),
    "softplus": (lambda x: F.softplus(x, beta=2.0), [X]),
    "softplus_linear": (lambda x: F.softplus(x * 10, beta=2.0, threshold=20.0) * x, [X]),
    "gelu": (F.gelu, [X]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [X]),
    "sin": (torch.sin, [X]),
    "cos": (torch.cos, [X]),
    "floor": (lambda x: x * x * torch.floor(x), [X]),
    "ceil": (lambda x: x * x * torch.ceil(x), [X]),
    "round": (lambda x: x * x * torch.round(x * 3), [X]),
    "sign": (lambda x: x * x * torch.sign(x), [X]),
    "remainder": (lambda x, y: torch.remainder(x, y) * x * y, [X, Y]),
    "maximum": (lambda x, y: torch.maximum(x, y) * x * y, [X, Y]),
    "minimum": (lambda x, y: torch.minimum(x, y) * x * y, [X, Y]),
    "clamp": (lambda x: torch.clamp(x, -0.5, 0.5) * x, [X]),
    "max": (lambda x: torch.max(x * x) * x, [X]),
    "max_dim": (lambda x: torch.max(x * x, dim=1).values, [X]),
    "min_dim": (lambda x: torch.min(x * x, dim=0, keepdim=True).values * x, [X]),
    "amax": (lambda x: torch.amax(x * x, dim=1, keepdim=True) * x, [X]),
    "amin": (lambda x: torch.amin(x * x, dim=0), [X]),
    "var": (lambda x: torch.var(x, dim=1), [X]),
    "var_all_biased": (lambda x: torch.var(x, unbiased=False) * x, [X]),
    "std": (lambda x: torch.std(x, dim=0, keepdim=True), [X]),
    "prod": (lambda x: torch.prod(x, dim=1), [X]),
    "prod_all": (lambda x: torch.prod(x) * x, [X]),
    "prod_zeros": (lambda x: torch.prod(x, dim=1, keepdim=True) * x, [X_ZEROS]),
    "logsumexp": (lambda x: torch.logsumexp(x, dim=1), [X]),
    "logsumexp_all": (lambda x: torch.logsumexp(x, dim=(0, 1)) * x, [X]),
    "norm": (lambda x: torch.norm(x) * x, [X]),
    "norm_p3": (lambda x: torch.norm(x, p=3, dim=1), [X]),
    "norm_p1": (lambda x: torch.norm(x, p=1, dim=0) * x, [X]),
    "norm_inf": (lambda x: torch.norm(x, p=float("inf")) * x, [X]),
    "cumsum": (lambda x: torch.cumsum(x * x, dim=1) * x, [X]),
    "cast": (lambda x: (x.float() * x.float()).double() * x, [X]),
    "clone": (lambda x: x.clone() * x, [X]),
    "copy_": (_copy_into, [X]),
    "setitem": (_setitem, [X]),
}


def derivatives(f, inputs):
    """loss = sum(W * f(inputs)): (its gradients, the Hessian times (V, V2, ...))."""
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    out = f(*leaves)
    weight = torch.tensor(W, dtype=torch.float64)
    loss = (out * weight).sum() if out.dim() == 2 else (out * weight[0, : out.numel()]).sum()
    grads = torch.autograd.grad(loss, leaves, create_graph=True)
    vectors = [torch.tensor(v, dtype=torch.float64) for v in (V, V2)[: len(leaves)]]
    hvp = torch.autograd.grad(grads, leaves, vectors, allow_unused=True)
    hvp = [torch.zeros_like(x) if h is None else h for h, x in zip(hvp, leaves)]
    return [g.tolist() for g in grads], [h.tolist() for h in hvp]


def tanh_derivatives(points):
    """d^n/dx^n tanh x for n = 1..4 at each point."""
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y, rows = torch.tanh(x), []
    for _ in range(4):
        (y,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        rows.append(y.tolist())
    return rows


def newton(x0, steps):
    """Newton's method on f(x) = x**4 - 2 x**2: x <- x - f'(x) / f''(x)."""
    x, path = torch.tensor(x0, dtype=torch.float64, requires_grad=True), [x0]
    for _ in range(steps):
        y = x**4 - 2 * x**2
        (g,) = torch.autograd.grad(y, x, create_graph=True)
        (h,) = torch.autograd.grad(g, x)
        x = (x - g / h).detach().requires_grad_()
        path.append(x.item())
    return path


def literal(value) -> str:
    """Nested lists of floats to 12 significant digits (the test compares at rtol 1e-5)."""
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "0.0" if value == 0 else f"{float(value):.12g}"


def wrapped(text: str, indent: int) -> str:
    return textwrap.fill(text, 99, initial_indent=" " * indent, subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)


def main() -> None:
    print(f"# PyTorch {torch.__version__}: benchmarks/higher_order_reference_activations.py")
    print("TORCH = {  # name: (gradient per input, Hessian-vector product per input)")
    for name, (f, inputs) in CASES.items():
        grads, hvp = derivatives(f, inputs)
        print(f"    {name!r}: (")
        print(wrapped(literal(grads) + ",", 8))
        print(wrapped(literal(hvp) + "),", 8))
    print("}")
    print("TANH_DERIVATIVES = (  # d^n/dx^n tanh at TANH_POINTS, n = 1..4")
    print(wrapped(literal(tanh_derivatives(TANH_POINTS)) + ")", 4))
    print(f"NEWTON = {literal(newton(2.0, 6))}")


if __name__ == "__main__":
    main()
