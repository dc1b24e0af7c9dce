"""The explorer page: one HTML file with its CSS, scripts and (for a static page) data inline."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import autograd, nn
from ..autograd import toposort
from ..fileio import atomic_write
from .payload import grads_json, model_info, trace_json
from .steps import Backprop, record_backprop
from .trace import trace

ASSETS = Path(__file__).with_name("assets")
SCRIPTS = ("data.js", "draw.js", "views.js", "graph.js", "main.js")  # in this order


def page_html(data: dict[str, Any], title: str = "tinygrad_cnn explorer") -> str:
    """The page around `data`: {"mode": "server"} or a static page's whole payload."""
    # '<' as \u003c: the JSON (graph SVG included) can never close or confuse its script tag
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    parts = {"TITLE": html.escape(title), "CSS": (ASSETS / "page.css").read_text("utf-8"),
             "SCRIPT": "\n".join((ASSETS / name).read_text("utf-8") for name in SCRIPTS),
             "DATA": payload}
    template = (ASSETS / "page.html").read_text("utf-8")
    return re.sub(r"__(TITLE|CSS|SCRIPT|DATA)__", lambda m: parts[m.group(1)], template)


def graph_svg(backprop: Backprop) -> str | None:
    """The loss graph as draw_graph draws it, grouped by layer, without values (the page shows
    them per step); None when Graphviz's `dot` is missing."""
    from ..viz import draw_graph

    return _svg(draw_graph(backprop.loss, model=backprop.model, group_by_module=True,
                           show_values=False, show_grads=False))


def grad_graph_svg(backprop: Backprop) -> str | None:
    """The graph of d loss / d image that backward records with create_graph=True: each op's
    backward drawn as ops (`ReLUBackward`, `Conv2dBackward`, ...), the forward greyed; None
    when Graphviz's `dot` is missing."""
    from ..viz import draw_graph

    image = next(t for t in toposort(backprop.loss) if t.name == "image")
    (grad,) = autograd.grad(backprop.loss, image, create_graph=True, retain_graph=True)
    return _svg(draw_graph(grad, model=backprop.model, show_values=False, show_grads=False))


def _svg(dot: Any) -> str | None:
    import graphviz

    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        return None
    return svg[svg.index("<svg"):]


def image_entry(model: nn.Module, image: np.ndarray, label: int | None, name: str,
                normalize: Any = None) -> tuple[dict[str, Any], Backprop]:
    """One image of a static page: its trace with the gradients of every class's score, and the
    backprop steps of its loss (for `label`, or the predicted class)."""
    first = trace(model, image, normalize=normalize)
    raw = trace_json(first)
    for cls in range(first.probs.size):
        if cls != first.target:
            other = trace(model, image, cls, normalize=normalize)
            raw["grads"][str(cls)] = grads_json(other, half=True)
    backprop = record_backprop(model, image, first.prediction if label is None else label,
                               normalize)
    steps = trace_json(first, backprop)
    raw["steps"], raw["loss"] = steps["steps"], steps["loss"]
    return {"name": name, "label": label, "trace": raw}, backprop


def static_data(model: nn.Module, images: Sequence[np.ndarray],
                labels: Sequence[int | None] | None = None, names: Sequence[str] | None = None,
                epoch_kernels: list[np.ndarray] | None = None,
                normalize: Any = None) -> dict[str, Any]:
    """Everything a static page shows for these images (no server needed)."""
    if len(images) == 0:
        raise ValueError("a static explorer page needs at least one image")
    labels = list(labels) if labels is not None else [None] * len(images)
    names = list(names) if names is not None else [f"image {i}" for i in range(len(images))]
    entries, first = [], None
    for image, label, name in zip(images, labels, names):
        entry, backprop = image_entry(model, image, None if label is None else int(label), name,
                                      normalize)
        entries.append(entry)
        first = first or backprop
    return {"mode": "static", "images": entries,
            "model": model_info(model, epoch_kernels, graph_svg(first), grad_graph_svg(first))}


class Explorer:
    """A static explorer page; in Jupyter it shows itself inline (in an iframe, so its scripts
    and styles stay its own)."""

    def __init__(self, page: str) -> None:
        self.html = page

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="explorer" '
                'style="width: 100%; height: 900px; border: 1px solid #ddd"></iframe>')

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        with atomic_write(path, "w") as f:
            f.write(self.html)
        return path


def explore(model: nn.Module, images: np.ndarray, labels: Sequence[int] | int | None = None,
            epoch_kernels: list[np.ndarray] | None = None, normalize: Any = None,
            title: str = "tinygrad_cnn explorer") -> Explorer:
    """The static explorer for one (H, W) image or a stack (K, H, W) of them: every layer's
    output and gradient, the conv arithmetic, the kernels, the backprop steps of the loss."""
    images = np.asarray(images)
    images = images[None] if images.ndim == 2 else images
    labels = [labels] * len(images) if isinstance(labels, (int, np.integer)) else labels
    return Explorer(page_html(static_data(model, list(images), labels, None, epoch_kernels,
                                          normalize), title))


def write_static(path: str | os.PathLike[str], model: nn.Module, images: np.ndarray,
                 labels: Sequence[int] | None = None,
                 epoch_kernels: list[np.ndarray] | None = None,
                 names: Sequence[str] | None = None, normalize: Any = None) -> Path:
    """The static explorer for `images` as one self-contained HTML file (written atomically)."""
    data = static_data(model, list(images), labels, names, epoch_kernels, normalize)
    return Explorer(page_html(data)).save(path)
