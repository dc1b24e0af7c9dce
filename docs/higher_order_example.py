"""The examples of docs/tutorial_higher_order.md: Newton's method, the derivatives of tanh, a
Hessian-vector product on LeNet and a gradient penalty. Prints every number the page quotes;
with --draw it redraws docs/img/tanh_grad_graph.svg and docs/img/tanh_grad2_graph.svg.

    python docs/higher_order_example.py [--draw]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinygrad_cnn as tg  # noqa: E402
from tinygrad_cnn import Tensor, nn, optim  # noqa: E402
from tinygrad_cnn.nn import functional as F  # noqa: E402
from tinygrad_cnn.viz import draw_graph, render_graph  # noqa: E402


# ----- 1. Newton's method: x <- x - f'(x) / f''(x) ---------------------------------------------
def f(x: Tensor) -> Tensor:
    return x**4 - 2 * x**2


def newton(x0: float = 2.0, steps: int = 7) -> list[float]:
    """The iterates of Newton's method on f from x0, first and second derivative by autograd."""
    x = Tensor(x0, requires_grad=True)
    iterates = [x.item()]
    for _ in range(steps):
        (dy,) = tg.autograd.grad(f(x), x, create_graph=True)  # f'(x), itself a graph
        (d2y,) = tg.autograd.grad(dy, x)  # f''(x): the gradient of the gradient
        with tg.no_grad():
            x -= dy / d2y
        iterates.append(x.item())
    return iterates


# ----- 2. The derivatives of tanh, and their graphs --------------------------------------------
def tanh_derivatives(x0: float = 1.0, n: int = 4) -> list[Tensor]:
    """tanh'(x0), tanh''(x0), ... up to the n-th derivative, each a graph of its own."""
    x = Tensor(x0, requires_grad=True, name="x")
    y = x.tanh()
    derivatives = []
    for _ in range(n):
        (y,) = tg.autograd.grad(y, x, create_graph=True)  # differentiate the last derivative
        derivatives.append(y)
    return derivatives


def op_count(t: Tensor) -> int:
    return sum(node._ctx is not None for node in tg.autograd.toposort(t))


# ----- 3. A Hessian-vector product on LeNet ----------------------------------------------------
def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def lenet_batch() -> tuple[nn.Module, Tensor, Tensor]:
    """LeNet in float64 (so finite differences can check it) and a batch of 8 random images."""
    tg.manual_seed(0)
    model = lenet().double()
    images = tg.randn(8, 1, 28, 28, dtype=tg.float64)
    labels = tg.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    return model, images, labels


def gradients(model: nn.Module, images: Tensor, labels: Tensor) -> list[Tensor]:
    return list(tg.autograd.grad(F.cross_entropy(model(images), labels), model.parameters()))


def hessian_vector_product() -> tuple[float, float]:
    """v . (H v) for a random direction v, by double backprop and by central differences of
    the gradient along v: (g(w + eps v) - g(w - eps v)) / (2 eps)."""
    model, images, labels = lenet_batch()
    params = list(model.parameters())
    v = [tg.randn_like(p) for p in params]  # one direction in parameter space
    loss = F.cross_entropy(model(images), labels)
    grads = tg.autograd.grad(loss, params, create_graph=True)
    g_dot_v = sum((g * vi).sum() for g, vi in zip(grads, v))  # a scalar: d loss / dw . v
    hv = tg.autograd.grad(g_dot_v, params)  # its gradient is H v
    v_hv = sum((h * vi).sum() for h, vi in zip(hv, v)).item()

    eps = 1e-6  # small: ReLU and max pooling have kinks that a larger step may cross
    with tg.no_grad():
        for p, vi in zip(params, v):
            p += eps * vi
    plus = gradients(model, images, labels)
    with tg.no_grad():
        for p, vi in zip(params, v):
            p -= 2 * eps * vi
    minus = gradients(model, images, labels)
    finite = sum(((gp - gm) * vi).sum().item() for gp, gm, vi in zip(plus, minus, v)) / (2 * eps)
    return v_hv, finite


# ----- 4. A gradient penalty (WGAN-GP): double backprop in training -----------------------------
def critic() -> nn.Module:
    """A small CNN that scores 1x16x16 images (one number each)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2), nn.LeakyReLU(0.2),  # (B, 1, 16, 16) -> (B, 8, 7, 7)
        nn.Conv2d(8, 16, 3, stride=2), nn.LeakyReLU(0.2),  # -> (B, 16, 3, 3)
        nn.Flatten(), nn.Linear(16 * 3 * 3, 1),
    )


def gradient_penalty(model: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """WGAN-GP's penalty mean((|d D(x_hat) / d x_hat| - 1)**2) at random points x_hat between
    real and fake images; also returns the gradient norms."""
    t = tg.rand(real.shape[0], 1, 1, 1)
    x_hat = (t * real + (1 - t) * fake).detach().requires_grad_()
    (g,) = tg.autograd.grad(model(x_hat).sum(), x_hat, create_graph=True)  # a graph: keep it
    norms = (g * g).sum(dim=(1, 2, 3)).sqrt()
    return ((norms - 1) ** 2).mean(), norms


def train_critic(steps: int = 60, lam: float = 10.0) -> list[tuple[int, float, float, float]]:
    """Train the critic to tell squares from noise, with the penalty; (step, Wasserstein
    estimate, penalty, mean gradient norm) every 20 steps."""
    tg.manual_seed(0)
    model = critic()
    opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = np.random.default_rng(0)
    log = []
    for step in range(steps + 1):
        real = np.zeros((16, 1, 16, 16), np.float32)
        for image, (r, c) in zip(real, rng.integers(0, 11, (16, 2))):
            image[0, r:r + 6, c:c + 6] = 1.0  # a bright square somewhere
        real, fake = Tensor(real), Tensor(rng.random((16, 1, 16, 16), np.float32))
        distance = model(real).mean() - model(fake).mean()
        penalty, norms = gradient_penalty(model, real, fake)
        loss = -distance + lam * penalty
        opt.zero_grad()
        loss.backward()  # through the gradient g too: double backprop
        opt.step()
        if step % 20 == 0:
            log.append((step, distance.item(), penalty.item(), norms.mean().item()))
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", action="store_true",
                        help="redraw docs/img/tanh_grad_graph.svg and tanh_grad2_graph.svg")
    args = parser.parse_args()

    print("Newton's method on f(x) = x**4 - 2x**2 from x0 = 2:")
    for i, x in enumerate(newton()):
        print(f"  step {i}: x = {x:.7f}")

    print("derivatives of tanh at x = 1 (ops in each derivative's graph):")
    derivatives = tanh_derivatives()
    for n, d in enumerate(derivatives, start=1):
        print(f"  order {n}: {d.item():+.6f}  ({op_count(d)} ops)")

    v_hv, finite = hessian_vector_product()
    print(f"LeNet Hessian-vector product: v.Hv = {v_hv:.6f}, finite differences {finite:.6f}")

    print("critic trained with a gradient penalty (lambda = 10):")
    for step, distance, penalty, norm in train_critic():
        print(f"  step {step:3d}: distance {distance:+.4f}  penalty {penalty:.4f}  "
              f"mean |grad| {norm:.4f}")

    if args.draw:
        for d, name in zip(derivatives, ("tanh_grad_graph.svg", "tanh_grad2_graph.svg")):
            print(render_graph(draw_graph(d), ROOT / "docs" / "img" / name))


if __name__ == "__main__":
    main()
