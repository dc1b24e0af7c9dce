"""The explorer's data as JSON: arrays travel as base64 float32 (exact, a third of the text)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from .. import nn
from .steps import Backprop, Step
from .trace import Trace, kernels, layers_of

SMALL = 16  # a gradient with at most this many values is shown whole, a bigger one summarised


def b64(array: np.ndarray, dtype: str = "<f4") -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def model_info(model: nn.Module, epoch_kernels: list[np.ndarray] | None = None,
               graph_svg: str | None = None,
               grad_graph_svg: str | None = None) -> dict[str, Any]:
    """What does not change with the image: the layers, their shapes, the conv kernels (and the
    first conv layer's kernels after every epoch, when a --report checkpoint kept them), the
    loss's graph and the graph of its gradient (create_graph) as SVG."""
    layers = []
    for name, layer in layers_of(model):
        entry: dict[str, Any] = {"name": name, "kind": type(layer).__name__}
        if isinstance(layer, nn.Conv2d):
            entry["conv"] = {"kernel": list(layer.kernel_size), "stride": list(layer.stride),
                             "padding": list(layer.padding), "dilation": list(layer.dilation),
                             "in": layer.in_channels, "out": layer.out_channels}
        layers.append(entry)
    convs = {name: {"shape": list(k["weight"].shape), "weight": b64(k["weight"]),
                    "bias": b64(k["bias"])} for name, k in kernels(model).items()}
    epochs = [b64(k) for k in (epoch_kernels or [])]
    first = next(iter(convs), None)
    return {"layers": layers, "kernels": convs, "epochs": epochs,
            "epoch_layer": first if epochs else None, "graph_svg": graph_svg,
            "grad_graph_svg": grad_graph_svg}


def trace_json(t: Trace, backprop: Backprop | None = None) -> dict[str, Any]:
    """One image's forward and backward: shapes, outputs, gradients, saliency, backprop steps."""
    out = {
        "image": b64(_pixels(t.image), "u1"), "input": b64(t.input),
        "probs": [float(p) for p in t.probs], "prediction": t.prediction, "target": t.target,
        "objective": t.objective,
        "layers": [{"shape": list(r.output.shape), "output": b64(r.output)} for r in t.layers],
        "grads": {str(t.target): grads_json(t)},
    }
    if backprop is not None:
        out["steps"] = [step_json(s) for s in backprop.steps]
        out["loss"] = float(backprop.loss.item())
    return out


def grads_json(t: Trace, half: bool = False) -> dict[str, Any]:
    """The gradients of one class's score; `half` stores each array as float16 of array / max|array|
    with that scale beside it (a static page keeps every class's gradients at half the size)."""
    arrays = [r.grad for r in t.layers] + [t.saliency]
    if not half:
        encoded = [b64(a) for a in arrays]
        return {"layers": encoded[:-1], "saliency": encoded[-1]}
    scales = [float(np.abs(a).max()) or 1.0 for a in arrays]
    encoded = [b64(a / m, "<f2") for a, m in zip(arrays, scales)]
    return {"layers": encoded[:-1], "saliency": encoded[-1], "scales": scales}


def _pixels(image: np.ndarray) -> np.ndarray:
    """The image as the uint8 picture the page shows (floats in [0, 1] scaled to 0..255)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def summary(array: np.ndarray) -> dict[str, Any]:
    """Shape and statistics of a gradient, and its values when it is small."""
    a = np.asarray(array, dtype=np.float64)
    out: dict[str, Any] = {"shape": list(a.shape)}
    if a.size <= SMALL:
        out["values"] = [float(v) for v in a.ravel()]
    if a.size:
        out.update(min=float(a.min()), max=float(a.max()), mean=float(a.mean()),
                   norm=float(np.sqrt((a * a).sum())))
    return out


def step_json(step: Step) -> dict[str, Any]:
    return {"node": step.node, "op": step.op, "module": step.module,
            "grad_out": summary(step.grad_out),
            "sends": [{"index": s.index, "node": s.node, "name": s.name, "leaf": s.leaf,
                       "grad": summary(s.grad)} for s in step.sends]}
