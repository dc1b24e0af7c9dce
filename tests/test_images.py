"""Pictures as 8-bit grey: every Pillow mode at its right scale, transparency over white, the
pixel limit; and the photo preprocessing of `predict` on synthetic photos."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygrad_cnn.datasets import DataFileError
from tinygrad_cnn.datasets.images import read_gray
from tinygrad_cnn.datasets.preprocess import load_digit_image, mnistify, otsu_threshold

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_photos import photo, render_digit  # noqa: E402


def two_pixels(mode: str) -> tuple[Image.Image, str, list[int]]:
    """A 1x2 image in `mode` (paper, then ink), the format to save it in, and the grey levels
    it must read as."""
    if mode == "1":
        return Image.fromarray(np.array([[True, False]])), "png", [255, 0]
    if mode == "I;16":
        return Image.fromarray(np.array([[0x8000, 0xFFFF]], np.uint16)), "png", [128, 255]
    if mode == "I":
        return Image.fromarray(np.array([[32768, 65535]], np.int32)), "tiff", [128, 255]
    if mode == "F":
        return Image.fromarray(np.array([[1.0, 0.25]], np.float32)), "tiff", [255, 64]
    if mode == "P":
        image = Image.new("P", (2, 1))
        image.putpalette([255, 255, 255, 0, 0, 0])
        image.putdata([0, 1])
        return image, "png", [255, 0]
    if mode == "RGBA":  # black ink on a transparent background: what drawing apps export
        return Image.frombytes("RGBA", (2, 1), bytes([0, 0, 0, 0, 0, 0, 0, 255])), "png", [255, 0]
    if mode == "LA":
        return Image.frombytes("LA", (2, 1), bytes([0, 0, 0, 255])), "png", [255, 0]
    if mode == "CMYK":
        return Image.frombytes("CMYK", (2, 1), bytes([0, 0, 0, 0, 0, 0, 0, 255])), "tiff", [255, 0]
    if mode == "RGB":
        return Image.frombytes("RGB", (2, 1), bytes([255, 255, 255, 128, 128, 128])), "png", \
            [255, 128]
    return Image.fromarray(np.array([[200, 30]], np.uint8)), "png", [200, 30]


@pytest.mark.parametrize("mode", ["1", "L", "I;16", "I", "F", "P", "RGB", "RGBA", "LA", "CMYK"])
def test_every_mode_reads_as_grey_at_its_scale(mode: str, tmp_path: Path) -> None:
    image, fmt, expected = two_pixels(mode)
    path = tmp_path / f"picture.{fmt}"
    image.save(path)
    with Image.open(path) as saved:
        assert saved.mode.startswith(mode[0]), saved.mode  # the file really holds that mode
    gray = read_gray(path)
    assert gray.dtype == np.uint8 and gray.shape == (1, 2)
    assert gray.ravel().tolist() == expected


def test_palette_transparency_is_white_paper(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 0, 0, 0])
    image.putdata([0, 1])
    image.info["transparency"] = 0
    image.save(tmp_path / "p.png", transparency=0)
    assert read_gray(tmp_path / "p.png").ravel().tolist() == [255, 0]


def fake_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (its data is not there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_huge_picture_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(fake_png(20000, 20000))
    with pytest.raises(DataFileError, match=r"huge\.png: .*more than 50,000,000"):
        read_gray(path)
    with pytest.raises(DataFileError, match=r"huge\.png"):
        load_digit_image(path)


def test_ink_on_transparent_background_is_a_digit(tmp_path: Path) -> None:
    ink = render_digit(7, 120) > 0.5
    rgba = np.zeros((120, 120, 4), np.uint8)
    rgba[ink, 3] = 255  # black strokes, everything else fully transparent black
    Image.fromarray(rgba).save(tmp_path / "drawn.png")
    clean = mnistify(255 - 255 * ink.astype(np.float32))
    assert np.array_equal(load_digit_image(tmp_path / "drawn.png"), clean)


def test_otsu_splits_two_levels() -> None:
    values = np.concatenate([np.full(100, 10.0), np.full(30, 200.0)])
    assert 10 < otsu_threshold(values) < 200


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


@pytest.mark.parametrize("seed", range(20))
def test_a_photo_becomes_the_digit_it_shows(seed: int) -> None:
    digit = seed % 10
    clean = mnistify(255 - 255 * render_digit(digit, 200))  # the same strokes, drawn cleanly
    seen = mnistify(photo(digit, seed))  # shaded, off-centre, noisy, JPEG
    assert correlation(seen, clean) > 0.7
    rows, cols = np.nonzero(seen > 64)
    assert max(np.ptp(rows), np.ptp(cols)) >= 16  # the digit, not a speck, fills the 20x20 box


def test_a_blank_photo_has_no_ink() -> None:
    paper = photo(1, 0).copy()
    paper[:] = np.linspace(150, 240, paper.shape[1])[None].astype(np.uint8)  # light, no digit
    with pytest.raises(ValueError, match="no ink"):
        mnistify(paper)
