"""PyTorch's second-order numbers for conv and pooling, which tests/test_higher_order_conv.py keeps
written down (run only under the torch venv, never in CI):

    /work/venvs/torch/bin/python benchmarks/higher_order_reference_conv.py

Each case is a Hessian-vector product in float64: g = autograd.grad(f, inputs, create_graph=True),
then autograd.grad(g, inputs, v). Inputs, weights and the vectors v come from `fixed` (a formula,
so no random stream has to agree between NumPy versions); the test builds the same ones.
The first small case prints every number; the others print summaries (sum, sum of |.|, the dot
product with `fixed(shape, 99)` and the first four entries), LeNet's of its gradient too.
"""

from __future__ import annotations

import textwrap

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own alias)


def fixed(shape: tuple, seed: int, scale: float = 1.0) -> np.ndarray:
    """Deterministic float64 values in [-scale, scale) that look random (no ties), from a
    formula (the fractional part of a scaled sine) rather than a random stream."""
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    frac = np.modf(np.abs(np.sin(i * 12.9898 + seed * 78.233 + 1.0)) * 43758.5453)[0]
    return (scale * (2 * frac - 1)).reshape(shape)


def hvp(f, values: list[np.ndarray], vectors: list[np.ndarray]) -> tuple:
    """(f, its gradients, the Hessian-vector product) for inputs `values`, all float64."""
    leaves = [torch.tensor(v, requires_grad=True) for v in values]
    out = f(*leaves)
    grads = torch.autograd.grad(out, leaves, create_graph=True)
    products = torch.autograd.grad(grads, leaves, [torch.tensor(v) for v in vectors],
                                   allow_unused=True, materialize_grads=True)
    return (out.item(), [g.detach().numpy() for g in grads],
            [h.detach().numpy() for h in products])


def small_cases() -> dict:
    """name -> (f, input shapes); x is the first input, the conv weight the second."""
    return {
        # the brief's case: conv -> relu -> max pool -> sum
        "conv_relu_maxpool_sum": (
            lambda x, w, b: F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2).sum(),
            [(2, 2, 5, 5), (3, 2, 3, 3), (3,)]),
        # groups, dilation, padding; avg pooling without the padding counted; squared
        "grouped_dilated_avgpool_square": (
            lambda x, w, b: (F.avg_pool2d(F.relu(F.conv2d(x, w, b, padding=2, dilation=2,
                                                          groups=2)), 3, 2, 1,
                                          count_include_pad=False) ** 2).sum(),
            [(2, 4, 6, 6), (4, 2, 3, 3), (4,)]),
        # stride 2, max pooling with padding and ceil_mode, adaptive pooling; squared
        "strided_pool_ceil_adaptive_square": (
            lambda x, w, b: (F.adaptive_avg_pool2d(F.max_pool2d(F.relu(F.conv2d(
                x, w, b, stride=2, padding=1)), 2, 1, 1, ceil_mode=True), (2, 3)) ** 2).sum(),
            [(2, 2, 7, 7), (3, 2, 3, 3), (3,)]),
    }


def lenet(x, w1, b1, w2, b2, w3, b3):
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
    return F.cross_entropy(F.linear(h.reshape(h.shape[0], -1), w3, b3), torch.tensor([3, 7]))


LENET_SHAPES = [(2, 1, 28, 28), (6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (10, 256), (10,)]
LENET_SCALES = [1.0, 0.2, 0.1, 0.08, 0.1, 0.06, 0.1]


def summary(a: np.ndarray) -> list[float]:
    return [a.sum(), np.abs(a).sum(), (a * fixed(a.shape, 99)).sum(), *a.ravel()[:4]]


def show(name: str, values: list[float]) -> None:
    """`name: [values],` wrapped to 100 columns, ready to paste into the test."""
    text = f"{name!r}: [{', '.join(f'{v:.12g}' for v in values)}],"
    print(textwrap.fill(text, 100, initial_indent=" " * 4, subsequent_indent=" " * 8))


def main() -> None:
    torch.set_default_dtype(torch.float64)
    for name, (f, shapes) in small_cases().items():
        values = [fixed(s, i, 0.8) for i, s in enumerate(shapes)]
        vectors = [fixed(s, 10 + i) for i, s in enumerate(shapes)]
        out, _, products = hvp(f, values, vectors)
        print(f"# {name}: f = {out:.12g}")
        everything = name == "conv_relu_maxpool_sum"  # the others as summaries
        for i, product in enumerate(products[:2]):
            show(f"{name} hvp {i}", product.ravel() if everything else summary(product))
    values = [fixed(s, i, scale) for i, (s, scale) in enumerate(zip(LENET_SHAPES, LENET_SCALES))]
    vectors = [fixed(s, 10 + i) for i, s in enumerate(LENET_SHAPES)]
    out, grads, products = hvp(lenet, values, vectors)
    print(f"# lenet: loss = {out:.12g}")
    for i, (g, h) in enumerate(zip(grads, products)):
        show(f"lenet grad {i}", summary(g))
        show(f"lenet hvp {i}", summary(h))


if __name__ == "__main__":
    main()
