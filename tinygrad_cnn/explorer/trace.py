"""What the explorer shows for one image: each layer's output and gradient, the saliency map,
the conv kernels, and the arithmetic behind one conv output cell."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, ops
from ..data import Normalize
from ..tensor import Tensor

# nn's layers, each shown as one row; a model made of others is refused, naming the layer
SHOWN = (nn.Conv2d, nn.Linear, nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.Softmax,
         nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d,
         nn.LayerNorm, nn.Normalization, nn.Identity)
# layers that map each value on its own (in eval mode): a conv cell's value continues through them
PER_VALUE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.BatchNorm2d, nn.Dropout, nn.Identity)


class ExplorerError(ValueError):
    """The model or the request is something the explorer cannot show; the message says why."""


@dataclass
class LayerTrace:
    """One layer's row: its input and output for the image (batch axis dropped), and d(objective)
    / d(output)."""

    name: str
    module: nn.Module
    input: np.ndarray
    output: np.ndarray
    grad: np.ndarray

    @property
    def kind(self) -> str:
        return type(self.module).__name__


@dataclass
class Trace:
    """Forward and backward of one image: `objective` is the logit of `target`, or the loss for
    `label` when one is given; `saliency` is its gradient with respect to the model input."""

    image: np.ndarray
    input: np.ndarray
    layers: list[LayerTrace]
    probs: np.ndarray
    target: int
    label: int | None
    objective: float
    saliency: np.ndarray = field(repr=False)

    @property
    def prediction(self) -> int:
        return int(self.probs.argmax())


def layers_of(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The layers in the order they run, nested Sequentials flattened to dotted names; raises
    ExplorerError naming the first layer the explorer cannot show."""
    if not isinstance(model, nn.Sequential):
        raise ExplorerError(
            f"cannot show {type(model).__name__}: the explorer runs a model layer by layer, so it "
            "shows an nn.Sequential of nn's layers (its forward() could do anything else)")
    layers = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential):
            layers += layers_of(child, f"{prefix}{name}.")
        elif type(child) in SHOWN:
            layers.append((f"{prefix}{name}", child))
        else:
            known = ", ".join(cls.__name__ for cls in SHOWN)
            raise ExplorerError(f"cannot show layer {prefix}{name} ({type(child).__name__}): the "
                                f"explorer shows nn's own layers ({known}) and nn.Sequential")
    if not layers:
        raise ExplorerError("the model has no layers to show")
    return layers


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients inside (the caller's model gets no `.grad` and no
    batch-norm statistics update); every module's mode and flag come back afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad = False
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad = flag


def model_input(image: np.ndarray, normalize: Any = None) -> np.ndarray:
    """(1, 1, H, W) float32 for one (H, W) image: uint8 pixels or floats in [0, 1], through
    `normalize` (MNIST's Normalize by default), as training and predict see them."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ExplorerError(f"expected one grayscale image (H, W), got shape {image.shape}")
    floats = np.issubdtype(image.dtype, np.floating)
    if image.dtype != np.uint8 and not (floats and np.isfinite(image).all()):
        raise ExplorerError(f"image must be uint8 or finite floats, got {image.dtype}")
    return np.asarray((normalize or Normalize())(image[None, None]), dtype=np.float32)


def trace(model: nn.Module, image: np.ndarray, target: int | None = None,
          label: int | None = None, normalize: Any = None) -> Trace:
    """Run `image` through `model` layer by layer and back: every layer's output, the gradient of
    the `target` logit (default: the predicted class), or of the cross-entropy loss for `label`,
    with respect to every layer's output and to the input."""
    layers = layers_of(model)
    x = Tensor(model_input(image, normalize), requires_grad=True)
    inputs, outputs = [], []
    with frozen(model):
        h = x
        for _, layer in layers:
            inputs.append(h)
            h = layer(h)
            h.retain_grad()
            outputs.append(h)
        if h.ndim != 2 or h.shape[0] != 1:
            raise ExplorerError(f"the last layer gives shape {h.shape}, expected (1, classes)")
        probs = h.softmax(axis=1).data[0]
        target = int(probs.argmax()) if target is None else _class(target, probs.size, "target")
        if label is None:
            objective = h[0, target]
        else:
            label = _class(label, probs.size, "label")
            objective = ops.cross_entropy(h, Tensor(np.array([label]), dtype=None))
        objective.backward()
    rows = [LayerTrace(name, layer, i.data[0], o.data[0], _grad(o)[0])
            for (name, layer), i, o in zip(layers, inputs, outputs)]
    return Trace(np.asarray(image), x.data[0], rows, probs, target, label, float(objective.item()),
                 _grad(x)[0])


def _grad(t: Tensor) -> np.ndarray:
    return t.grad.data if t.grad is not None else np.zeros_like(t.data)


def _class(value: Any, classes: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ExplorerError(f"{what} must be an integer class, got {value!r}")
    if not 0 <= value < classes:
        raise ExplorerError(f"{what} {value} is not a class (0..{classes - 1})")
    return int(value)


def kernels(model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
    """Each conv layer's weight (C_out, C_in, KH, KW) and bias (zeros when it has none)."""
    found = {}
    for name, layer in layers_of(model):
        if isinstance(layer, nn.Conv2d):
            bias = layer.bias.data if layer.bias is not None else np.zeros(layer.out_channels)
            found[name] = {"weight": layer.weight.data, "bias": bias}
    return found


def conv_cell(t: Trace, layer: int, channel: int, row: int, col: int) -> dict[str, Any]:
    """The arithmetic behind one conv output value: the input window (zeros where it covers
    padding), the kernel, their element-wise products, sum + bias, and the value after each
    following per-value layer (the activation). Computed by loops, apart from the engine."""
    conv = t.layers[layer].module
    if not isinstance(conv, nn.Conv2d):
        raise ExplorerError(f"layer {t.layers[layer].name} is a {t.layers[layer].kind}, not Conv2d")
    x = t.layers[layer].input.astype(np.float64)
    _, OH, OW = t.layers[layer].output.shape
    if not (0 <= channel < conv.out_channels and 0 <= row < OH and 0 <= col < OW):
        shape = (conv.out_channels, OH, OW)
        raise ExplorerError(f"cell ({channel}, {row}, {col}) is outside the map {shape}")
    KH, KW = conv.kernel_size
    rows = [row * conv.stride[0] - conv.padding[0] + ky * conv.dilation[0] for ky in range(KH)]
    cols = [col * conv.stride[1] - conv.padding[1] + kx * conv.dilation[1] for kx in range(KW)]
    window = np.zeros((x.shape[0], KH, KW))
    for ky, y in enumerate(rows):
        for kx, xx in enumerate(cols):
            if 0 <= y < x.shape[1] and 0 <= xx < x.shape[2]:
                window[:, ky, kx] = x[:, y, xx]
    kernel = conv.weight.data[channel].astype(np.float64)
    products = window * kernel
    bias = float(conv.bias.data[channel]) if conv.bias is not None else 0.0
    then = []
    for following in t.layers[layer + 1:]:
        if not isinstance(following.module, PER_VALUE):
            break
        then.append((following.name, following.kind, float(following.output[channel, row, col])))
    return {"rows": rows, "cols": cols, "window": window, "kernel": kernel, "products": products,
            "sum": float(products.sum()), "bias": bias, "value": float(products.sum()) + bias,
            "then": then}
