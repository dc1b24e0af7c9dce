"""The report of a classification run: plots, the loss's graph and report.html (tools tier)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, plots
from .autograd import no_grad
from .ops import cross_entropy
from .report import write_report
from .runs import evaluating, predict_proba
from .tensor import Tensor
from .viz import GraphvizNotFoundError, draw_graph, render_graph


def write_run_report(out: str | Path, config: dict, model: nn.Module, history: dict,
                     kernels: Sequence[np.ndarray], health: dict, profile_table: str | None,
                     test_x: np.ndarray, test_y: np.ndarray,
                     transform: Callable[[np.ndarray], np.ndarray],
                     class_names: Sequence[str]) -> Path:
    """Plots of the run, the graph of the loss, and out/report.html that shows them all."""
    out = Path(out)
    images = [("Loss and accuracy", plots.plot_history(history, out / "history.png"))]
    if kernels:
        images.append(("First conv layer's kernels, epoch by epoch",
                       plots.kernels_gif(kernels, out / "kernels.gif",
                                         titles=[f"epoch {i + 1}" for i in range(len(kernels))])))
        images.append(("Kernels after the last epoch",
                       plots.plot_kernels(kernels[-1], out / "kernels.png", "last epoch")))
    maps = feature_maps(model, test_x[0], transform)
    images.append(("Feature maps of a test image after every layer",
                   plots.plot_feature_maps(test_x[0], maps, out / "feature_maps.png")))
    probs = predict_proba(model, test_x, transform)
    images.append(("Confusion matrix (test set)", plots.plot_confusion_matrix(
        test_y, probs.argmax(axis=1), out / "confusion.png", class_names=class_names)))
    images.append(("The test images it got most confidently wrong",
                   plots.plot_most_confident_wrong(test_x, test_y, probs, out / "wrong.png",
                                                   class_names=class_names)))
    # traced at the training batch size (test images repeated if there are fewer): the conv
    # algorithm, chosen by the batch's shape and named in each conv's node, is then the one the
    # profile and the training steps ran
    rows = np.arange(int(config.get("batch_size") or 2)) % len(test_x)
    graph = draw_loss_graph(model, transform(test_x[rows, None]), test_y[rows], out)
    columns = ("epoch", "train_loss", "train_acc", "test_acc", "seconds")
    epochs = [{key: history[key][i] for key in columns} for i in range(len(history["epoch"]))]
    last_health = health[max(health, key=int)] if health else None
    explorer = write_explorer(out, model, test_x, test_y, kernels, transform)
    return write_report(out, config, epochs, profile_table, graph, images, last_health,
                        explorer=explorer)


def write_explorer(out: Path, model: nn.Module, test_x: np.ndarray, test_y: np.ndarray,
                   kernels: Sequence[np.ndarray], transform: Callable) -> Path | None:
    """out/explorer.html for three test images; None (and a warning) for a model it can't show."""
    from .explorer import ExplorerError, write_static

    try:
        return write_static(out / "explorer.html", model, test_x[:3], test_y[:3], list(kernels),
                            normalize=transform)
    except ExplorerError as exc:
        print(f"warning: the report has no explorer: {exc}", file=sys.stderr)
        return None


@no_grad()
def feature_maps(model: nn.Module, image: np.ndarray, transform: Callable[[np.ndarray], Any]
                 ) -> list[tuple[str, np.ndarray]]:
    """The output of every top-level layer for one image (H, W)."""
    x, maps = Tensor(transform(image[None, None])), []
    with evaluating(model):
        for name, layer in model.named_children():
            x = layer(x)
            maps.append((f"{name} {type(layer).__name__}", x.data[0]))
    return maps


def draw_loss_graph(model: nn.Module, x: np.ndarray, labels: np.ndarray, out: Path) -> Path:
    """The autograd graph of the loss on the inputs `x`, one cluster per layer, as out/graph.svg
    (or out/graph.dot, with a warning, when Graphviz is missing)."""
    with evaluating(model):  # no running-statistics update from these test images
        loss = cross_entropy(model(Tensor(x)), Tensor(labels, dtype=None))
    loss.backward()  # so the picture shows every parameter's gradient
    dot = draw_graph(loss, model=model, group_by_module=True)
    model.zero_grad()
    try:
        return render_graph(dot, out / "graph.svg")
    except GraphvizNotFoundError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return out / "graph.dot"
