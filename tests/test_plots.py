"""Tests for tinygrad_cnn.plots: valid images of sensible size, and the numbers behind them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tinygrad_cnn import plots


def _history(epochs: int = 3, steps_per_epoch: int = 20) -> plots.History:
    rng = np.random.default_rng(0)
    steps = epochs * steps_per_epoch
    loss = 2.3 * np.exp(-np.arange(steps) / 15) + 0.05 + 0.02 * rng.random(steps)
    return {
        "step_loss": loss.tolist(),
        "step_acc": (1 - loss / 2.5).tolist(),
        "epoch": list(range(1, epochs + 1)),
        "train_loss": [0.5, 0.2, 0.1][:epochs],
        "train_acc": [0.85, 0.95, 0.97][:epochs],
        "test_loss": [0.3, 0.15, 0.09][:epochs],
        "test_acc": [0.9, 0.96, 0.98][:epochs],
    }


def _open_png(path, min_size=(200, 150)) -> Image.Image:
    with Image.open(path) as image:
        image.verify()  # raises on a truncated or corrupt file
    with Image.open(path) as image:
        image.load()
    assert image.format == "PNG"
    assert image.width >= min_size[0] and image.height >= min_size[1]
    assert image.width <= 3000 and image.height <= 3000
    return image


def _has_colour_variety(path) -> bool:
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return len(np.unique(pixels, axis=0)) > 20  # something was drawn, not a blank canvas


def test_plot_history_writes_png_and_is_deterministic(tmp_path):
    first = plots.plot_history(_history(), tmp_path / "a" / "history.png")
    second = plots.plot_history(_history(), tmp_path / "history2.png")
    assert first == tmp_path / "a" / "history.png"  # parent folders are created
    image = _open_png(first)
    assert image.width > image.height  # two panels side by side
    assert _has_colour_variety(first)
    assert first.read_bytes() == second.read_bytes()


def test_plot_history_accepts_partial_history(tmp_path):
    history = {"epoch": [1, 2], "test_acc": [0.9, 0.95]}
    _open_png(plots.plot_history(history, tmp_path / "h.png"))
    _open_png(plots.plot_history({}, tmp_path / "empty.png"))
    _open_png(plots.plot_history({"train_acc": [0.5, 0.7, 0.8]}, tmp_path / "no_epochs.png"))


@pytest.mark.parametrize("shape", [(8, 1, 5, 5), (4, 3, 3, 3), (64, 40, 3, 3)])
def test_plot_kernels_writes_png(tmp_path, shape):
    weight = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    path = plots.plot_kernels(weight, tmp_path / "k.png", title="conv1, epoch 2")
    _open_png(path)
    assert _has_colour_variety(path)


def test_kernel_mosaic_places_every_tile():
    weight = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    mosaic, note = plots._kernel_mosaic(weight, max_out=32, max_in=16)
    assert note == ""
    assert mosaic.shape == (2 * 3 - 1, 3 * 3 - 1)  # 2 rows x 3 cols of 2x2 tiles, 1-pixel gutters
    for o in range(2):
        for i in range(3):
            tile = mosaic[3 * o : 3 * o + 2, 3 * i : 3 * i + 2]
            np.testing.assert_array_equal(tile, weight[o, i])
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[:, 2]).all()


def test_plot_kernels_rejects_non_4d(tmp_path):
    with pytest.raises(ValueError, match=r"\(C_out, C_in, KH, KW\)"):
        plots.plot_kernels(np.zeros((3, 3)), tmp_path / "k.png")


def test_kernels_gif_has_one_frame_per_epoch(tmp_path):
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(6, 1, 5, 5)) * (1 + e) for e in range(4)]
    path = plots.kernels_gif(weights, tmp_path / "kernels.gif", duration_ms=250)
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 4
        assert gif.info["duration"] == 250
        assert gif.info.get("loop") == 0  # loops forever
        first = np.asarray(gif.convert("RGB"))
        gif.seek(3)
        assert not np.array_equal(first, np.asarray(gif.convert("RGB")))


def test_kernels_gif_rejects_empty(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        plots.kernels_gif([], tmp_path / "k.gif")


def test_plot_feature_maps_writes_png(tmp_path):
    rng = np.random.default_rng(3)
    activations = [
        ("conv1", rng.random((8, 24, 24))),
        ("pool1", rng.random((1, 8, 12, 12))),  # leading batch axis of 1 is dropped
        ("fc1", rng.normal(size=100)),
        ("logits", rng.normal(size=(1, 10))),
    ]
    path = plots.plot_feature_maps(rng.random((1, 28, 28)), activations, tmp_path / "fm.png")
    image = _open_png(path)
    assert image.height > 400  # input row plus four layer rows
    assert _has_colour_variety(path)


def test_plot_feature_maps_rejects_bad_shape(tmp_path):
    with pytest.raises(ValueError, match="'bad' has shape"):
        plots.plot_feature_maps(np.zeros((28, 28)), [("bad", np.zeros((2, 3)))], tmp_path / "f.png")


def test_confusion_matrix_matches_naive_loop_and_histogram2d():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 10, 500)
    predictions = rng.integers(0, 10, 500)
    counts = plots.confusion_matrix(labels, predictions, 10)
    naive = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(labels, predictions):
        naive[t, p] += 1
    np.testing.assert_array_equal(counts, naive)
    hist, _, _ = np.histogram2d(labels, predictions, bins=10, range=[[0, 10], [0, 10]])
    np.testing.assert_array_equal(counts, hist.astype(np.int64))
    assert counts.sum() == 500


def test_confusion_matrix_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        plots.confusion_matrix([0, 1, 2], [0, 1], 3)


def test_plot_confusion_matrix_writes_png(tmp_path):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, 300)
    predictions = np.where(rng.random(300) < 0.8, labels, rng.integers(0, 10, 300))
    path = plots.plot_confusion_matrix(labels, predictions, tmp_path / "cm.png")
    image = _open_png(path, min_size=(400, 400))
    assert abs(image.width - image.height) < 0.3 * image.width  # a square-ish matrix
    names = ["zero", "one", "two"]
    _open_png(plots.plot_confusion_matrix([0, 1, 2], [0, 2, 2], tmp_path / "c3.png", names))


def _naive_most_confident_wrong(labels, probabilities, k):
    wrong = []
    for i, (label, p) in enumerate(zip(labels, probabilities)):
        pred = max(range(len(p)), key=lambda c: (p[c], -c))  # first maximum, like argmax
        if pred != label:
            wrong.append((-p[pred], i))
    return [i for _, i in sorted(wrong)[:k]]


def test_most_confident_wrong_matches_naive_sort():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 10, 200)
    probabilities = rng.dirichlet(np.full(10, 0.3), size=200)
    probabilities[[10, 20]] = probabilities[30]  # equal confidences: lower index first
    labels[[10, 20, 30]] = (np.argmax(probabilities[30]) + 1) % 10
    got = plots.most_confident_wrong(labels, probabilities, k=16)
    assert got.tolist() == _naive_most_confident_wrong(labels, probabilities, 16)
    assert len(got) == 16
    predictions = np.argmax(probabilities, axis=1)
    assert (predictions[got] != labels[got]).all()


def test_most_confident_wrong_with_no_mistakes_is_empty(tmp_path):
    probabilities = np.eye(3)
    assert plots.most_confident_wrong([0, 1, 2], probabilities, k=5).size == 0
    path = plots.plot_most_confident_wrong(np.zeros((3, 8, 8)), [0, 1, 2], probabilities,
                                           tmp_path / "none.png")
    _open_png(path, min_size=(100, 100))


def test_plot_most_confident_wrong_writes_png(tmp_path):
    rng = np.random.default_rng(7)
    images = rng.random((50, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 50)
    probabilities = rng.dirichlet(np.ones(10), size=50)
    path = plots.plot_most_confident_wrong(images, labels, probabilities, tmp_path / "w.png", k=8)
    image = _open_png(path)
    assert image.width > 2 * image.height  # 8 images in one row
