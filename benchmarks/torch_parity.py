"""Our ops, layers and optimizers against PyTorch's, number for number (run only under the
torch venv; the tests keep PyTorch's numbers written down, so CI needs no torch):

    /work/venvs/torch/bin/python benchmarks/torch_parity.py

Each case runs the same float64 inputs through both libraries and compares the forward values,
the gradient of every input (for a random weighting of the output), a Hessian-vector product
(the gradient's own gradient along a random direction, through create_graph=True) and what
each one raises.
Prints one line per failing case and a summary; exit status 1 if any case fails.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygrad_cnn as tg  # noqa: E402

F = tg.nn.functional
RNG = np.random.default_rng(0)
FAILURES: list[str] = []
COUNT = [0]
SECOND_ORDER = [0]  # cases whose Hessian-vector product was compared


def _both(values: list[np.ndarray]) -> tuple[list, list]:
    ts = [torch.tensor(v, requires_grad=v.dtype.kind == "f") for v in values]
    gs = [tg.tensor(v, requires_grad=v.dtype.kind == "f") for v in values]
    return ts, gs


def check(name: str, ours: Callable, theirs: Callable | None, *values: np.ndarray) -> None:
    """ours(*tinygrad tensors) against theirs(*torch tensors) (theirs=None: the same code)."""
    COUNT[0] += 1
    theirs = theirs or ours
    ts, gs = _both(list(values))
    try:
        expected = theirs(*ts)
    except Exception as err:  # noqa: BLE001 (either side may refuse; both must)
        expected = err
    try:
        got = ours(*gs)
    except Exception as err:  # noqa: BLE001
        got = err
    if isinstance(expected, Exception) or isinstance(got, Exception):
        if isinstance(expected, Exception) != isinstance(got, Exception):
            FAILURES.append(f"{name}: PyTorch {_what(expected)}, ours {_what(got)}")
        return
    expected = expected[0] if isinstance(expected, tuple) else expected
    got = got[0] if isinstance(got, tuple) else got
    if tuple(expected.shape) != got.shape or not np.allclose(
            got.data, expected.detach().numpy(), rtol=1e-6, atol=1e-8, equal_nan=True):
        FAILURES.append(f"{name}: forward differs ({tuple(expected.shape)} vs {got.shape})")
        return
    if not expected.requires_grad:
        return
    weights = RNG.standard_normal(got.shape)
    t_in = [t for t in ts if t.requires_grad]
    g_in = [g for g in gs if g.requires_grad]
    t_grads = torch.autograd.grad((expected * torch.tensor(weights)).sum(), t_in,
                                  create_graph=True, allow_unused=True)
    g_grads = tg.autograd.grad((got * tg.tensor(weights)).sum(), g_in, create_graph=True,
                               allow_unused=True)
    if not _same_grads(name, "gradient", t_in, t_grads, g_grads):
        return
    # second order: a Hessian-vector product along a random direction for every input
    directions = [RNG.standard_normal(t.shape) for t in t_in]
    t_hvp = _hvp(torch, t_in, t_grads, directions)
    g_hvp = _hvp(tg, g_in, g_grads, directions)
    if t_hvp is not None or g_hvp is not None:  # a side without a graph has zeros there
        SECOND_ORDER[0] += 1
        nothing = (None,) * len(t_in)
        _same_grads(name, "Hessian-vector product", t_in, t_hvp or nothing, g_hvp or nothing)


def _hvp(lib: Any, inputs: list, grads: tuple, directions: list) -> tuple | None:
    """d/d inputs of sum(grad_i * v_i): None when no gradient has a graph (linear ops)."""
    terms = [(g * lib.tensor(v)).sum() for g, v in zip(grads, directions)
             if g is not None and g.requires_grad]
    if not terms:
        return None
    return lib.autograd.grad(sum(terms[1:], terms[0]), inputs, allow_unused=True)


def _same_grads(name: str, what: str, inputs: list, want: tuple, have: tuple) -> bool:
    for i, (t, w, h) in enumerate(zip(inputs, want, have)):
        w = np.zeros(t.shape) if w is None else w.detach().numpy(force=True)
        h = np.zeros(t.shape) if h is None else h.data
        if not np.allclose(h, w, rtol=1e-5, atol=1e-7):
            FAILURES.append(f"{name}: {what} of input {i} differs")
            return False
    return True


def _what(value: Any) -> str:
    return f"raised {type(value).__name__}" if isinstance(value, Exception) else "returned"


def elementwise() -> None:
    normal = lambda *s: RNG.standard_normal(s)  # noqa: E731
    positive = lambda *s: RNG.uniform(0.5, 2.0, s)  # noqa: E731
    for sa, sb in [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5,), ())]:
        for op in ("add", "sub", "mul", "div", "maximum", "minimum", "pow"):
            make = positive if op in ("pow", "div") else normal
            check(f"{op}{sa}{sb}", getattr(tg.ops, op), getattr(torch, op), make(*sa), make(*sb))
    for op in ("exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "sin", "cos", "neg",
               "sign", "floor", "ceil", "round"):
        value = positive(3, 4) if op in ("log", "sqrt") else normal(3, 4)
        check(op, lambda x, op=op: getattr(x, op)(), None, value)
    for op in ("silu", "elu", "softplus", "leaky_relu", "gelu", "relu6", "hardtanh"):
        check(op, getattr(F, op) if hasattr(F, op) else getattr(tg.ops, op),
              getattr(TF, op), normal(3, 4) * 4)


def reductions() -> None:
    for shape, dim in [((3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), -1), ((5,), 0)]:
        x = RNG.standard_normal(shape)
        for op, keep in itertools.product(("sum", "mean", "amax", "amin", "logsumexp", "var",
                                           "std", "norm"), (False, True)):
            if op == "norm":
                check(f"norm{shape}{dim}", lambda t, d=dim, k=keep: t.norm(dim=d, keepdim=k),
                      None, x)
                continue
            check(f"{op}{shape}{dim}{keep}", lambda t, op=op, d=dim, k=keep: getattr(t, op)(
                dim=d, keepdim=k), None, x)
        if isinstance(dim, int):
            for op in ("max", "min", "softmax", "log_softmax", "cumsum", "prod", "argmax"):
                check(f"{op}{shape}{dim}", lambda t, op=op, d=dim: getattr(t, op)(dim=d), None, x)


def movement_and_indexing() -> None:
    x = RNG.standard_normal((2, 3, 4))
    index = np.array([[[0, 3]] * 3] * 2)
    cases: dict[str, Callable] = {
        "permute": lambda t: t.permute(2, 0, 1), "transpose": lambda t: t.transpose(0, 2),
        "view": lambda t: t.view(-1, 4), "flatten": lambda t: t.flatten(1),
        "expand": lambda t: t[:, :1].expand(2, 5, 4), "slice": lambda t: t[:, ::2, 1:],
        "mask": lambda t: t[t > 0], "fancy": lambda t: t[[0, 1, 1], [2, 0, 2]],
        "int and list": lambda t: t[1, :, [0, 3]], "none": lambda t: t[None, 1, :, [0, 3]],
        "flip": lambda t: t.flip(0, 2), "repeat": lambda t: t.repeat(2, 1, 1),
        "chunk": lambda t: t.chunk(2, 2)[1], "split": lambda t: t.split([1, 2], 1)[1],
        "narrow": lambda t: t.narrow(1, 1, 2), "mT": lambda t: t.mT,
        "gather": lambda t: t.gather(2, (tg if isinstance(t, tg.Tensor) else torch).tensor(index)),
        "masked_fill": lambda t: t.masked_fill(t > 0.5, 0.0), "clamp": lambda t: t.clamp(-0.5, 0.5),
        "matmul": lambda t: t @ t.transpose(1, 2), "rsub": lambda t: 1 - t,
        "mod": lambda t: t % 0.3, "rpow": lambda t: 2 ** t,
    }
    for name, fn in cases.items():
        check(name, fn, None, x)
    check("cat", lambda a: tg.cat([a, a * 2], dim=1), lambda a: torch.cat([a, a * 2], dim=1), x)
    check("where", lambda a: tg.where(a > 0, a, a * 2), lambda a: torch.where(a > 0, a, a * 2), x)


def layers() -> None:
    x = RNG.standard_normal((2, 3, 9, 8))
    w, b = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
    for kw in (dict(), dict(stride=2), dict(padding=(2, 1), stride=(1, 2)), dict(dilation=2),
               dict(padding="same")):
        check(f"conv2d {kw}", lambda a, c, d, kw=kw: F.conv2d(a, c, d, **kw),
              lambda a, c, d, kw=kw: TF.conv2d(a, c, d, **kw), x, w, b)
    for k, s, p, ceil in itertools.product((2, 3), (1, 2), (0, 1), (False, True)):
        if 2 * p <= k:
            check(f"max_pool {k} {s} {p} {ceil}", lambda a, k=k, s=s, p=p, c=ceil: F.max_pool2d(
                a, k, s, p, ceil_mode=c), lambda a, k=k, s=s, p=p, c=ceil: TF.max_pool2d(
                a, k, s, p, ceil_mode=c), x)
            check(f"avg_pool {k} {s} {p} {ceil}", lambda a, k=k, s=s, p=p, c=ceil: F.avg_pool2d(
                a, k, s, p, c, False), lambda a, k=k, s=s, p=p, c=ceil: TF.avg_pool2d(
                a, k, s, p, c, False), x)
    check("adaptive_avg_pool2d", lambda a: F.adaptive_avg_pool2d(a, (4, 3)),
          lambda a: TF.adaptive_avg_pool2d(a, (4, 3)), x)
    labels = RNG.integers(0, 5, 6)
    for kw in (dict(), dict(reduction="sum"), dict(label_smoothing=0.2), dict(ignore_index=2)):
        check(f"cross_entropy {kw}", lambda a, t, kw=kw: F.cross_entropy(a, t, **kw),
              lambda a, t, kw=kw: TF.cross_entropy(a, t, **kw), RNG.standard_normal((6, 5)),
              labels)
    check("layer_norm", lambda a, c, d: F.layer_norm(a, (4,), c, d),
          lambda a, c, d: TF.layer_norm(a, (4,), c, d), RNG.standard_normal((3, 4)),
          RNG.standard_normal(4), RNG.standard_normal(4))


def optimizers() -> None:
    specs = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
             ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
             ("Adam", dict(lr=0.01, weight_decay=0.1)), ("Adam", dict(lr=0.01, amsgrad=True)),
             ("AdamW", dict(lr=0.01, betas=(0.8, 0.99))),
             ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
             ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5))]
    for name, kw in specs:
        COUNT[0] += 1
        w0, xs = RNG.standard_normal((4, 3)), [RNG.standard_normal((5, 3)) for _ in range(5)]
        wt = torch.tensor(w0, requires_grad=True)
        wg = tg.tensor(w0, requires_grad=True)
        opt_t, opt_g = getattr(torch.optim, name)([wt], **kw), getattr(tg.optim, name)([wg], **kw)
        for x in xs:
            for w, opt, lib in ((wt, opt_t, torch), (wg, opt_g, tg)):
                opt.zero_grad()
                (lib.tensor(x) @ w.T).tanh().pow(2).sum().backward()
                opt.step()
        if not np.allclose(wg.data, wt.detach().numpy(), rtol=1e-6, atol=1e-9):
            FAILURES.append(f"{name} {kw}: parameters differ after 5 steps")


def main() -> int:
    for group in (elementwise, reductions, movement_and_indexing, layers, optimizers):
        group()
    for line in FAILURES:
        print(line)
    print(f"{COUNT[0] - len(FAILURES)} of {COUNT[0]} cases agree with PyTorch {torch.__version__}"
          f" ({SECOND_ORDER[0]} of them also in a Hessian-vector product)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
