"""Training plots as PNG and GIF: curves, conv kernels, feature maps, confusion, mistakes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from PIL import Image

from .fileio import atomic_write, make_folder

# Figures are built directly (no pyplot), so no backend switch and no global figure registry.

DPI = 100


class History(TypedDict, total=False):
    """What `plot_history` reads. Per-step lists hold one value per optimizer step (the training
    mini-batch); per-epoch lists hold one value per entry of `epoch`. Accuracies are fractions in
    [0, 1]. Every key is optional; a missing or empty list is simply not drawn.
    step_loss, step_acc: training mini-batch loss and accuracy at each step.
    steps_per_epoch: steps in one epoch, to place steps on the epoch axis; default
        len(step_loss) // len(epoch).
    epoch: epoch numbers (default 1, 2, ...).
    train_loss, train_acc, test_loss, test_acc: per-epoch values.
    """

    step_loss: list[float]
    step_acc: list[float]
    steps_per_epoch: int
    epoch: list[int]
    train_loss: list[float]
    train_acc: list[float]
    test_loss: list[float]
    test_acc: list[float]


def _save(fig: Figure, path: str | Path) -> Path:
    make_folder((path := Path(path)).parent)
    with atomic_write(path) as f:  # a failed write leaves the old picture
        fig.savefig(f, dpi=DPI, format=path.suffix.lstrip(".").lower() or "png")
    return path


def plot_history(history: History, path: str | Path) -> Path:
    """Loss (left) and accuracy (right) against epochs: per step thin and light, per epoch bold,
    train blue and test orange. Returns `path`."""
    per_epoch_keys = ("train_loss", "train_acc", "test_loss", "test_acc")
    longest = max(len(history.get(key, [])) for key in per_epoch_keys)
    epochs = list(history.get("epoch", [])) or list(range(1, longest + 1))
    steps = len(history.get("step_loss", []) or history.get("step_acc", []))
    per_epoch = history.get("steps_per_epoch") or (steps // len(epochs) if epochs else 1) or 1
    step_x = (np.arange(steps) + 1) / per_epoch  # step i ends at epoch (i + 1) / steps_per_epoch
    fig = Figure(figsize=(11, 4), layout="constrained")
    for ax, metric, label in zip(fig.subplots(1, 2), ("loss", "acc"), ("loss", "accuracy (%)")):
        scale = 100.0 if metric == "acc" else 1.0
        if history.get(f"step_{metric}"):
            values = np.asarray(history[f"step_{metric}"], dtype=float) * scale
            ax.plot(step_x, values, color="tab:blue", alpha=0.3, lw=0.8, label="train (step)")
        for split, color in (("train", "tab:blue"), ("test", "tab:orange")):
            if history.get(f"{split}_{metric}"):
                values = np.asarray(history[f"{split}_{metric}"], dtype=float) * scale
                ax.plot(epochs, values, "o-", color=color, lw=2.2, label=f"{split} (epoch)")
        if metric == "loss" and ax.lines and all(min(line.get_ydata()) > 0 for line in ax.lines):
            ax.set_yscale("log")  # losses fall by orders of magnitude; a log axis keeps the tail
        ax.set(xlabel="epoch", ylabel=label, title=label.split(" ")[0])
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend()
    return _save(fig, path)


def _kernel_mosaic(weight: np.ndarray, max_out: int, max_in: int) -> tuple[np.ndarray, str]:
    """Tile a (C_out, C_in, KH, KW) weight into one 2-D image with NaN gutters between tiles:
    rows are output channels, columns input channels (C_in = 1: a near-square grid)."""
    weight = np.asarray(weight, dtype=np.float32)
    if weight.ndim != 4:
        raise ValueError(f"expected conv weights (C_out, C_in, KH, KW), got shape {weight.shape}")
    c_out, c_in, kh, kw = weight.shape
    note = ""
    if c_out > max_out or c_in > max_in:
        note = f" (first {min(c_out, max_out)} of {c_out} out, {min(c_in, max_in)} of {c_in} in)"
        weight = weight[:max_out, :max_in]
        c_out, c_in = weight.shape[:2]
    if c_in == 1:
        tiles = weight[:, 0]
        cols = math.ceil(math.sqrt(c_out))
        rows = math.ceil(c_out / cols)
    else:
        tiles = weight.reshape(c_out * c_in, kh, kw)
        rows, cols = c_out, c_in
    mosaic = np.full((rows * (kh + 1) - 1, cols * (kw + 1) - 1), np.nan, dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        mosaic[r * (kh + 1) : r * (kh + 1) + kh, c * (kw + 1) : c * (kw + 1) + kw] = tile
    return mosaic, note


def _kernel_figure(weight: np.ndarray, title: str | None, vmax: float) -> Figure:
    mosaic, note = _kernel_mosaic(weight, max_out=32, max_in=16)
    height = 4.0
    width = min(max(height * mosaic.shape[1] / mosaic.shape[0] + 1.0, 4), 12)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    # a diverging map centred on zero: red and blue are weights of opposite sign, white is zero
    cmap = colormaps["RdBu_r"].with_extremes(bad="#dddddd")  # NaN gutters between tiles: grey
    image = ax.imshow(mosaic, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    c_out, c_in, kh, kw = np.shape(weight)
    ax.set_title(f"{title or 'conv kernels'}\n{c_out}x{c_in} kernels of {kh}x{kw}{note}")
    ax.set(xticks=[], yticks=[])
    if c_in > 1:
        ax.set(xlabel="input channel ->", ylabel="<- output channel")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _vmax(*weights: np.ndarray) -> float:
    return max(float(np.max(np.abs(w))) for w in weights) or 1.0


def plot_kernels(weight: np.ndarray, path: str | Path, title: str | None = None) -> Path:
    """Conv weights (C_out, C_in, KH, KW) as an image grid, one tile per (out, in) pair (one per
    output channel when C_in = 1), on a colour scale symmetric about zero. `title` names the
    layer and epoch, e.g. "conv1, epoch 3". Returns `path`."""
    weight = np.asarray(weight)
    if weight.ndim != 4 or not weight.size:
        raise ValueError(f"plot_kernels: expected conv weights (C_out, C_in, KH, KW) with at "
                         f"least one kernel, got shape {weight.shape}")
    return _save(_kernel_figure(weight, title, _vmax(weight)), path)


def _figure_to_rgb(fig: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def kernels_gif(
    weights_per_epoch: Sequence[np.ndarray],
    path: str | Path,
    duration_ms: int = 600,
    titles: Sequence[str] | None = None,
) -> Path:
    """An animated GIF of conv kernels, one frame per entry of `weights_per_epoch`, titled
    `titles[i]` (default "epoch i+1"). One colour scale for all frames, so change is visible."""
    if not weights_per_epoch:
        raise ValueError("kernels_gif needs at least one set of weights")
    titles = titles or [f"epoch {i + 1}" for i in range(len(weights_per_epoch))]
    vmax = _vmax(*weights_per_epoch)
    rgb = [_figure_to_rgb(_kernel_figure(w, t, vmax)) for w, t in zip(weights_per_epoch, titles)]
    frames = [Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE) for a in rgb]
    path = Path(path)
    make_folder(path.parent)
    with atomic_write(path) as f:
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                       duration=duration_ms, loop=0, optimize=False)
    return path


def _as_image(image: np.ndarray) -> np.ndarray:
    """(H, W), (1, H, W) or (3, H, W) -> something imshow draws: (H, W) or (H, W, 3)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] == 1:
        return image[0]
    if image.ndim == 3 and image.shape[0] == 3:
        low, high = image.min(), image.max()
        return np.moveaxis((image - low) / (high - low or 1.0), 0, -1)
    if image.ndim != 2:
        raise ValueError(f"expected an image (H, W), (1, H, W) or (3, H, W), got {image.shape}")
    return image


def plot_feature_maps(image: np.ndarray, activations: Sequence[tuple[str, np.ndarray]],
                      path: str | Path, max_channels: int = 8) -> Path:
    """The input image, then one row per layer: the first `max_channels` maps of a (C, H, W)
    activation as images (one colour scale per layer), a (F,) vector as a bar chart when F <= 32
    and a heat strip otherwise. A leading batch axis of size 1 is dropped. Returns `path`."""
    rows = [(name, np.asarray(a, dtype=np.float32)) for name, a in activations]
    rows = [(name, a[0] if a.ndim in (2, 4) and a.shape[0] == 1 else a) for name, a in rows]
    widest = max((len(a) for _, a in rows if a.ndim == 3), default=1)
    cols = max(4, min(max_channels, widest))  # 4 at least, so bar charts have room
    fig = Figure(figsize=(1.4 * cols + 1.5, 1.5 * (len(rows) + 1)), layout="constrained")
    grid = fig.add_gridspec(len(rows) + 1, cols)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(_as_image(image), cmap="gray", interpolation="nearest")
    ax.set(xticks=[], yticks=[], ylabel="input")
    for r, (name, act) in enumerate(rows, start=1):
        label = f"{name}\n{tuple(act.shape)}"
        if act.ndim == 3:
            maps = act[:max_channels]
            if len(act) > max_channels:
                label += f"\nfirst {max_channels}"
            low, high = float(maps.min()), float(maps.max())
            for c, fmap in enumerate(maps):
                ax = fig.add_subplot(grid[r, c])
                ax.imshow(fmap, cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
                ax.set(xticks=[], yticks=[], ylabel=label if c == 0 else None)
        elif act.ndim == 1:
            ax = fig.add_subplot(grid[r, :])
            if act.size <= 32:
                ax.bar(np.arange(act.size), act, color="tab:blue")
                ax.set_xticks(np.arange(act.size))
            else:
                ax.imshow(act[None, :], cmap="viridis", aspect="auto", interpolation="nearest")
                ax.set_yticks([])
            ax.set_ylabel(label)
        else:
            raise ValueError(f"activation {name!r} has shape {act.shape}; expected (C,H,W) or (F,)")
    return _save(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[t, p] = how many samples of true class t were predicted as p, shape (K, K), int64."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions")
    for name, values in (("label", labels), ("prediction", predictions)):
        bad = values[(values < 0) | (values >= num_classes)]
        if bad.size:  # bincount would silently spill into the next row, or fail to reshape
            raise ValueError(f"a {name} of {bad[0]} is outside the {num_classes} classes")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def plot_confusion_matrix(
    labels: np.ndarray,
    predictions: np.ndarray,
    path: str | Path,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
) -> Path:
    """The confusion matrix with the count in every cell, coloured by the share of the true class,
    and each class's accuracy on the right. Returns `path`."""
    if len(labels) == 0 or len(labels) != len(predictions):
        raise ValueError(f"plot_confusion_matrix: expected as many predictions as labels (at "
                         f"least one), got {len(labels)} labels and {len(predictions)} predictions")
    if num_classes is None:
        largest = max(np.max(labels), np.max(predictions))
        num_classes = len(class_names) if class_names else int(largest) + 1
    counts = confusion_matrix(labels, predictions, num_classes)
    names = list(class_names) if class_names else [str(k) for k in range(num_classes)]
    totals = counts.sum(axis=1)
    share = counts / np.maximum(totals, 1)[:, None]
    fig = Figure(figsize=(1.0 + 0.6 * num_classes, 0.6 * num_classes + 0.8), layout="constrained")
    ax = fig.add_subplot()
    # gamma < 1 lifts small shares so a handful of mistakes next to ~1000 hits is still visible
    ax.imshow(share, cmap="Blues", norm=PowerNorm(gamma=0.4, vmin=0, vmax=1))
    for (t, p), n in np.ndenumerate(counts):
        color = "white" if share[t, p] > 0.5 else ("#bbbbbb" if n == 0 else "black")
        ax.text(p, t, str(n), ha="center", va="center", fontsize=8, color=color)
    ticks = np.arange(num_classes)
    ax.set(xticks=ticks, yticks=ticks, xticklabels=names, yticklabels=names)
    ax.set(xlabel="predicted", ylabel="true")
    accuracy = np.diag(counts) / np.maximum(totals, 1)
    right = ax.secondary_yaxis("right")
    right.set_yticks(ticks, labels=[f"{100 * a:.1f}%" for a in accuracy])
    right.set_ylabel("per-class accuracy")
    overall = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"confusion matrix: {counts.sum()} samples, accuracy {100 * overall:.2f}%")
    return _save(fig, path)


def most_confident_wrong(labels: np.ndarray, probabilities: np.ndarray, k: int) -> np.ndarray:
    """Indices of at most `k` misclassified samples, highest predicted-class probability first
    (ties: lower index first)."""
    predictions = np.argmax(probabilities, axis=1)
    confidence = np.max(probabilities, axis=1)
    wrong = np.flatnonzero(predictions != np.asarray(labels).ravel())
    order = np.argsort(-confidence[wrong], kind="stable")
    return wrong[order[:k]]


def plot_most_confident_wrong(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    path: str | Path,
    k: int = 16,
    class_names: Sequence[str] | None = None,
) -> Path:
    """The `k` images the model got most confidently wrong, each titled "true 7 / pred 1 (0.98)".
    `images` (N, H, W) or (N, 1, H, W); `probabilities` (N, num_classes). Returns `path`."""
    probabilities = np.asarray(probabilities)
    indices = most_confident_wrong(labels, probabilities, k)
    names = list(class_names) if class_names else [str(c) for c in range(probabilities.shape[1])]
    cols = max(1, min(8, len(indices)))
    rows = max(1, math.ceil(len(indices) / cols))
    fig = Figure(figsize=(1.6 * cols, 1.8 * rows + 0.4), layout="constrained")
    fig.suptitle(f"most confident mistakes ({len(indices)} shown)")
    if len(indices) == 0:
        fig.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    for i, n in enumerate(indices):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(_as_image(images[n]), cmap="gray", interpolation="nearest")
        pred = int(np.argmax(probabilities[n]))
        title = f"true {names[int(labels[n])]} / pred {names[pred]} ({probabilities[n, pred]:.2f})"
        ax.set_title(title, fontsize=8)
        ax.set(xticks=[], yticks=[])
    return _save(fig, path)
