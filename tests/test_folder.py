"""Tests for image folders (dir/<label>/*.png): loading, the skip/error policy, and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygrad_cnn.datasets import DataFileError, export_image_folder, load_image_folder


def save_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Labels 0, 2 and 10 (numeric, not name order), files named out of creation order."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label, names in ((0, ["b.png", "a.png"]), (2, ["z.png"]), (10, ["c.png", "d.png"])):
        for name in sorted(names):
            pixels = rng.integers(0, 256, (28, 28), dtype=np.uint8)
            save_png(tmp_path / "digits" / str(label) / name, pixels)
            images.append(pixels)
            labels.append(label)
    return tmp_path / "digits", np.stack(images), np.array(labels)


def test_loads_in_label_then_name_order(folder: tuple) -> None:
    directory, expected_images, expected_labels = folder
    images, labels = load_image_folder(directory)
    assert images.dtype == np.uint8 and images.shape == (5, 28, 28)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(images, expected_images)


def test_non_image_files_are_skipped_with_one_warning(folder: tuple) -> None:
    directory, expected_images, _ = folder
    (directory / "0" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (directory / "2" / "notes.txt").write_text("my sevens look like ones")
    (directory / "README").write_text("loose file beside the label folders")
    with pytest.warns(UserWarning, match=r"skipped 3 entries .*: README, 0/\.DS_Store, "
                                         r"2/notes\.txt"):
        images, _ = load_image_folder(directory)
    np.testing.assert_array_equal(images, expected_images)


def test_label_folder_that_is_not_a_number(folder: tuple) -> None:
    directory = folder[0]
    save_png(directory / "seven" / "a.png", np.zeros((28, 28), np.uint8))
    with pytest.raises(DataFileError, match=r"seven: label folder name 'seven' is not a "
                                            r"non-negative integer"):
        load_image_folder(directory)


def test_no_images_at_all(tmp_path: Path) -> None:
    (tmp_path / "empty" / "3").mkdir(parents=True)
    with pytest.raises(DataFileError, match=r"empty: no images found"):
        load_image_folder(tmp_path / "empty")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"missing: not a directory"):
        load_image_folder(tmp_path / "missing")


def test_empty_label_folder_warns(folder: tuple) -> None:
    directory = folder[0]
    (directory / "5").mkdir()
    with pytest.warns(UserWarning, match=r"label folders .* with no images: 5"):
        _, labels = load_image_folder(directory)
    assert 5 not in labels


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_image_names_the_file(folder: tuple, damage: str) -> None:
    directory = folder[0]
    good = (directory / "2" / "z.png").read_bytes()
    content = b"this is not a png" if damage == "garbage" else good[: len(good) // 2]
    (directory / "2" / "broken.png").write_bytes(content)
    with pytest.raises(DataFileError, match=r"2/broken\.png: cannot read image"):
        load_image_folder(directory)


def test_other_sizes_are_resized_with_one_warning(tmp_path: Path) -> None:
    save_png(tmp_path / "d" / "1" / "big.png", np.full((56, 40), 200, np.uint8))
    save_png(tmp_path / "d" / "1" / "big2.png", np.full((20, 20), 7, np.uint8))
    save_png(tmp_path / "d" / "1" / "ok.png", np.zeros((28, 28), np.uint8))
    with pytest.warns(UserWarning, match=r"resized 2 of 3 images .*: 1/big\.png \(40x56\), "
                                         r"1/big2\.png \(20x20\)") as record:
        images, _ = load_image_folder(tmp_path / "d")
    assert len(record) == 1
    assert images.shape == (3, 28, 28)
    assert (images[0] == 200).all() and (images[1] == 7).all() and (images[2] == 0).all()


def test_color_images_become_grayscale(tmp_path: Path) -> None:
    rgb = np.zeros((28, 28, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: ITU-R 601 luma 0.299 * 255 -> 76
    save_png(tmp_path / "d" / "4" / "red.png", rgb)
    images, labels = load_image_folder(tmp_path / "d")
    assert (images == 76).all() and labels.tolist() == [4]


def test_export_then_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (25, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 25)
    export_image_folder(images, labels, tmp_path / "out")
    assert (tmp_path / "out" / str(labels[0]) / "00000.png").is_file()
    loaded_images, loaded_labels = load_image_folder(tmp_path / "out")
    # the folder groups by label; within a label, zero-padded names keep the original order
    order = np.argsort(labels, kind="stable")
    np.testing.assert_array_equal(loaded_labels, labels[order])
    np.testing.assert_array_equal(loaded_images, images[order])


def test_export_accepts_channel_axis(tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28).reshape(2, 1, 28, 28).astype(np.uint8)
    export_image_folder(images, np.array([1, 1]), tmp_path / "out")
    np.testing.assert_array_equal(load_image_folder(tmp_path / "out")[0], images[:, 0])


def test_export_refuses_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(DataFileError, match=r"out: not empty"):
        export_image_folder(np.zeros((1, 28, 28), np.uint8), np.array([0]), tmp_path / "out")


def test_export_checks_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, H, W\), got float"):
        export_image_folder(np.zeros((1, 28, 28)), np.array([0]), tmp_path / "a")
    with pytest.raises(ValueError, match=r"expected 2 integer labels"):
        export_image_folder(np.zeros((2, 28, 28), np.uint8), np.array([0]), tmp_path / "b")
    with pytest.raises(ValueError, match="labels must be non-negative"):
        export_image_folder(np.zeros((1, 28, 28), np.uint8), np.array([-1]), tmp_path / "c")


def test_mnistify_inverts_crops_scales_and_centres() -> None:
    from tinygrad_cnn.datasets.preprocess import mnistify

    paper = np.full((120, 90), 230.0)  # dark ink on light paper, off centre, too large
    paper[10:100, 5:25] = 15.0
    out = mnistify(paper)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out[0, 0] == 0 and out.max() == 255  # inverted: black background, white ink
    rows, cols = np.nonzero(out)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20
    assert rows.max() - rows.min() + 1 == 20  # the long side fills the 20x20 box
    mass = out.astype(np.float64)
    cy = (mass.sum(axis=1) @ np.arange(28)) / mass.sum()
    cx = (mass.sum(axis=0) @ np.arange(28)) / mass.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_mnistify_rejects_a_blank_image() -> None:
    from tinygrad_cnn.datasets.preprocess import mnistify

    with pytest.raises(ValueError, match="no ink"):
        mnistify(np.full((40, 40), 255.0))


def test_fashion_photos_are_inverted_and_resized_without_digit_cropping(tmp_path: Path) -> None:
    from tinygrad_cnn.datasets.preprocess import load_digit_image

    photo = np.full((56, 84), 250, np.uint8)  # a dark object on white, off to one side
    photo[10:30, 5:40] = 10
    path = tmp_path / "shirt.png"
    Image.fromarray(photo).save(path)
    out = load_digit_image(path, digit=False)
    expected = np.asarray(Image.fromarray(255 - photo).resize((28, 28), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(out, expected)  # inverted and resized, not re-centred
    assert out[0, -1] < 10 and out[7, 5] > 200
