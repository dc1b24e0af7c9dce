"""PyTorch's first- and second-order numbers for tests/test_higher_order_layers.py (issue 18).

Runs only under PyTorch (never in CI, never imported by the tests):

    /work/venvs/torch/bin/python benchmarks/higher_order_reference_layers.py

For each case, fixed small float64 inputs (`values`: sines, so the test rebuilds them without a
random generator) and a fixed direction v per input, it prints the first-order gradients
g = grad(f(inputs).sum(), inputs, create_graph=True) and the Hessian-vector product
grad(g, inputs, v) (the sum over inputs of <g_i, v_i>, differentiated), each flattened and
rounded to 10 significant digits. The output is the `TORCH` dict pasted into the test.
"""

from __future__ import annotations

import pprint

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's habit)

torch.set_default_dtype(torch.float64)


def values(shape: tuple, phase: float, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Deterministic inputs in [low, high]: a sine of the flat position (the test has the same)."""
    n = int(np.prod(shape))
    unit = (np.sin(np.arange(n) * 0.9 + phase) + 1) / 2
    return (low + (high - low) * unit).reshape(shape)


I3 = np.array([0, 2, 1, 2])
IGNORED = np.array([0, -100, 1, 2])
T4 = np.array([[[0, 2], [1, 1]], [[2, 0], [1, 2]]])
MASK = values((3, 4), 0.4) > 0


def _mlp_penalty(x, w1, b1, w2, b2):
    """A gradient penalty (double backprop) on a small MLP: mse to 0.5 plus the squared norm of
    d out / d x, as WGAN-GP's penalty."""
    out = F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2)
    (dx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return F.mse_loss(out, torch.full_like(out, 0.5)) + (dx * dx).sum()


# name: (f, input shapes and value ranges); the test's table has the same names and inputs
CASES = {
    "reshape_permute": (lambda x: (x.reshape(4, 3).permute(1, 0) * x), [((3, 4), -1, 1)]),
    "expand": (lambda x: x.reshape(3, 1, 4).expand(3, 2, 4) ** 3, [((3, 4), -1, 1)]),
    "transpose_t": (lambda x: x.t() * x.transpose(0, 1) ** 2, [((3, 4), -1, 1)]),
    "flatten_squeeze": (lambda x: x.unsqueeze(1).flatten(1).squeeze() ** 3, [((3, 4), -1, 1)]),
    "pad": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5) ** 3, [((3, 4), -1, 1)]),
    "getitem": (lambda x: x[[0, 0, 2]][:, 1:3] ** 3, [((3, 4), -1, 1)]),
    "getitem_mixed": (lambda x: x[1, [0, 3, 3]] ** 3 + x[..., None][:, 2] ** 2,
                      [((3, 4), -1, 1)]),
    "getitem_mask": (lambda x: x[torch.from_numpy(MASK)] ** 3, [((3, 4), -1, 1)]),
    "cat": (lambda x, y: torch.cat([x, x * y, y], 1) ** 2, [((3, 4), -1, 1), ((3, 1), -1, 1)]),
    "stack": (lambda x, y: torch.stack([x, x * y], 1) ** 2, [((3, 4), -1, 1), ((3, 4), -1, 1)]),
    "flip": (lambda x: x.flip(0, 1) * x, [((3, 4), -1, 1)]),
    "repeat": (lambda x: x.repeat(2, 1, 2) ** 3, [((3, 4), -1, 1)]),
    "narrow": (lambda x: x.narrow(1, 1, 2) ** 3, [((3, 4), -1, 1)]),
    "split_chunk": (lambda x: x.split([1, 3], 1)[1] ** 2 * x.chunk(2, 1)[0][:, :1],
                    [((3, 4), -1, 1)]),
    "gather": (lambda x: x.gather(1, torch.tensor([[0, 1, 1], [2, 3, 0], [3, 3, 3]])) ** 3,
               [((3, 4), -1, 1)]),
    "index_select": (lambda x: x.index_select(1, torch.tensor([0, 2, 2])) ** 3,
                     [((3, 4), -1, 1)]),
    "masked_fill": (lambda x, v: x.masked_fill(torch.from_numpy(MASK), v) ** 3 * (1 + x),
                    [((3, 4), -1, 1), ((), -1, 1)]),
    "where": (lambda x, y: torch.where(torch.from_numpy(MASK), x * x, y ** 3),
              [((3, 4), -1, 1), ((4,), -1, 1)]),
    "embedding": (lambda w: F.embedding(torch.tensor([[0, 2], [2, 1]]), w, padding_idx=1) ** 3,
                  [((3, 4), -1, 1)]),
    "matmul": (lambda a, b: (a @ b) ** 2, [((3, 4), -1, 1), ((4, 2), -1, 1)]),
    "matmul_batched": (lambda a, b: (a @ b) ** 2, [((2, 3, 4), -1, 1), ((4, 2), -1, 1)]),
    "matmul_vectors": (lambda a, b, c: (a @ b) ** 2 * (b @ c),
                       [((3, 4), -1, 1), ((4,), -1, 1), ((4,), -1, 1)]),
    "linear": (lambda x, w, b: F.linear(x, w, b) ** 2,
               [((5, 4), -1, 1), ((3, 4), -1, 1), ((3,), -1, 1)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, torch.from_numpy(I3)), [((4, 3), -2, 2)]),
    "cross_entropy_sum_smoothing": (
        lambda x: F.cross_entropy(x, torch.from_numpy(I3), reduction="sum",
                                  label_smoothing=0.2), [((4, 3), -2, 2)]),
    "cross_entropy_ignore_none": (
        lambda x: F.cross_entropy(x, torch.from_numpy(IGNORED), reduction="none") ** 2,
        [((4, 3), -2, 2)]),
    "cross_entropy_4d": (
        lambda x: F.cross_entropy(x, torch.from_numpy(T4), label_smoothing=0.1),
        [((2, 3, 2, 2), -2, 2)]),
    "nll_loss": (lambda x: F.nll_loss(F.log_softmax(x, 1), torch.from_numpy(IGNORED)),
                 [((4, 3), -2, 2)]),
    "mse_loss": (lambda x, y: F.mse_loss(x * x, y), [((4, 3), -1, 1), ((4, 3), -1, 1)]),
    "mse_loss_none": (lambda x, y: F.mse_loss(x, y, reduction="none") ** 2,
                      [((4, 3), -1, 1), ((4, 3), -1, 1)]),
    "binary_cross_entropy": (lambda p, y: F.binary_cross_entropy(p, y),
                             [((4, 3), 0.1, 0.9), ((4, 3), 0, 1)]),
    "bce_with_logits": (lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
                        [((4, 3), -3, 3), ((4, 3), 0, 1)]),
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 2 * (1 + x),
        [((3, 2, 2, 3), -1, 1), ((2,), 0.5, 1.5), ((2,), -1, 1)]),
    "batch_norm_train_2d": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 3,
        [((4, 3), -1, 1), ((3,), 0.5, 1.5), ((3,), -1, 1)]),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, torch.tensor([0.1, -0.2]), torch.tensor([0.8, 1.3]),
                                     w, b, training=False) ** 2 * (1 + x),
        [((3, 2, 2, 3), -1, 1), ((2,), 0.5, 1.5), ((2,), -1, 1)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3,), w, b) ** 2 * (1 + x),
                   [((2, 2, 3), -1, 1), ((3,), 0.5, 1.5), ((3,), -1, 1)]),
    "layer_norm_2d_shape": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b) ** 3,
                            [((2, 2, 3), -1, 1), ((2, 3), 0.5, 1.5), ((2, 3), -1, 1)]),
    "normalize": (lambda x: F.layer_norm(x, x.shape[1:]) ** 2 * (1 + x), [((3, 2, 2), -1, 1)]),
    "gradient_penalty_mlp": (
        _mlp_penalty,
        [((5, 4), -1, 1), ((3, 4), -1, 1), ((3,), -0.5, 0.5), ((1, 3), -1, 1), ((1,), -1, 1)]),
}


def inputs_of(specs: list) -> list[np.ndarray]:
    return [values(shape, 0.3 + 0.7 * i, low, high) for i, (shape, low, high) in enumerate(specs)]


def directions_of(specs: list) -> list[np.ndarray]:
    return [values(shape, 1.1 + 0.5 * i) for i, (shape, _, _) in enumerate(specs)]


def reference(f, specs: list) -> dict:
    xs = [torch.tensor(a, requires_grad=True) for a in inputs_of(specs)]
    vs = [torch.tensor(v) for v in directions_of(specs)]
    grads = torch.autograd.grad(f(*xs).sum(), xs, create_graph=True, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads)]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    hvp = torch.autograd.grad(dot, xs, allow_unused=True)
    hvp = [torch.zeros_like(x) if h is None else h for x, h in zip(xs, hvp)]
    return {"grad": [_flat(g) for g in grads], "hvp": [_flat(h) for h in hvp]}


def _flat(t: torch.Tensor) -> list[float]:
    return [float(f"{v:.10g}") for v in t.detach().reshape(-1).tolist()]


def main() -> None:
    numbers = {name: reference(f, specs) for name, (f, specs) in CASES.items()}
    print(f"# PyTorch {torch.__version__}'s numbers: benchmarks/higher_order_reference_layers.py")
    print("TORCH = " + pprint.pformat(numbers, width=99, compact=True, sort_dicts=False))


if __name__ == "__main__":
    main()
