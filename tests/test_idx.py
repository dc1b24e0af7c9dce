"""Tests for the IDX reader and writer: round trips, byte layout, and every malformation."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn.datasets import IDXError, load_idx_pair, read_idx, write_idx
from tinygrad_cnn.datasets.cache import atomic_open

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    """An IDX file built by hand from the format description, independent of write_idx."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_dtype(tmp_path: Path, dtype: type, suffix: str) -> None:
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_written_bytes_follow_the_format(tmp_path: Path) -> None:
    array = np.array([[1, -2], [300, 4]], np.int16)
    write_idx(tmp_path / "a", array)
    expected = idx_bytes(0x0B, (2, 2), struct.pack(">4h", 1, -2, 300, 4))
    assert (tmp_path / "a").read_bytes() == expected


def test_reads_big_endian_floats_built_by_hand(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(idx_bytes(0x0D, (3,), struct.pack(">3f", 1.5, -2.0, 0.25)))
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), np.array([1.5, -2.0, 0.25], np.float32))


def test_gzip_is_detected_by_magic_not_name(tmp_path: Path) -> None:
    raw = idx_bytes(0x08, (2, 3), bytes(range(6)))
    (tmp_path / "no-suffix").write_bytes(gzip.compress(raw))
    (tmp_path / "fake.gz").write_bytes(raw)
    expected = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(tmp_path / "no-suffix"), expected)
    np.testing.assert_array_equal(read_idx(tmp_path / "fake.gz"), expected)


def test_result_is_writable(tmp_path: Path) -> None:
    write_idx(tmp_path / "a", np.zeros((2, 2), np.uint8))
    array = read_idx(tmp_path / "a")
    array[0, 0] = 7
    assert array[0, 0] == 7


def test_truncated_data_names_file_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(idx_bytes(0x08, (3, 4), bytes(10)))
    with pytest.raises(IDXError, match=r"short: truncated: expected 12 bytes of data for shape "
                                        r"\(3, 4\) uint8, found 10"):
        read_idx(path)


def test_trailing_bytes_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "long").write_bytes(idx_bytes(0x0C, (2,), bytes(9)))
    with pytest.raises(IDXError, match=r"long: trailing bytes: expected 8 bytes .* found 9"):
        read_idx(tmp_path / "long")


def test_bad_magic(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(IDXError, match=r"m: bad magic number 0x01020801"):
        read_idx(tmp_path / "m")


def test_unknown_type_code(tmp_path: Path) -> None:
    (tmp_path / "t").write_bytes(idx_bytes(0x0A, (1,), bytes(1)))
    with pytest.raises(IDXError, match=r"unknown IDX type code 0x0a"):
        read_idx(tmp_path / "t")


def test_zero_dimensions(tmp_path: Path) -> None:
    (tmp_path / "z").write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(IDXError, match="0 dimensions"):
        read_idx(tmp_path / "z")


def test_truncated_header(tmp_path: Path) -> None:
    (tmp_path / "h").write_bytes(b"\x00\x00\x08\x03" + bytes(5))
    with pytest.raises(IDXError, match=r"truncated header: 3 dimensions need 16 bytes, found 9"):
        read_idx(tmp_path / "h")


def test_shorter_than_a_header(tmp_path: Path) -> None:
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="too short for an IDX header"):
        read_idx(tmp_path / "tiny")


def test_dimensions_that_disagree_with_the_data(tmp_path: Path) -> None:
    # 2x3 of data under a header that claims 3x3: a dimension mismatch reads as truncation
    (tmp_path / "d").write_bytes(idx_bytes(0x08, (3, 3), bytes(6)))
    with pytest.raises(IDXError, match=r"expected 9 bytes of data for shape \(3, 3\)"):
        read_idx(tmp_path / "d")


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    rng = np.random.default_rng(1)
    blob = bytearray(gzip.compress(idx_bytes(0x08, (64, 64), rng.bytes(64 * 64))))
    if damage == "flip":
        blob[len(blob) // 2] ^= 0xFF
    else:
        blob = blob[: len(blob) // 2]
    (tmp_path / "c.gz").write_bytes(bytes(blob))
    with pytest.raises(IDXError, match=r"c\.gz: corrupt gzip data"):
        read_idx(tmp_path / "c.gz")


def test_a_gzip_claiming_far_more_than_it_can_hold_is_refused_before_reading(tmp_path: Path
                                                                           ) -> None:
    """A gzip bomb: 20x its size and over 256 MB is refused by its header, before inflating
    (it once grew in memory as long as the stream gave data)."""
    claim = (300, 1000, 1000)  # 300 MB of uint8
    blob = gzip.compress(idx_bytes(0x08, claim, bytes(4096)))
    (tmp_path / "bomb.gz").write_bytes(blob)
    with pytest.raises(IDXError, match=rf"bomb\.gz: its {len(blob):,} gzipped bytes claim "
                                       "300,000,000 bytes.*a gzip bomb"):
        read_idx(tmp_path / "bomb.gz")
    small = gzip.compress(idx_bytes(0x08, (64, 64), bytes(64 * 64)))  # 1000x, under the floor
    (tmp_path / "zeros.gz").write_bytes(small)
    assert read_idx(tmp_path / "zeros.gz").shape == (64, 64)


def test_write_refuses_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot write int64 array"):
        write_idx(tmp_path / "a", np.zeros(3, np.int64))
    assert not (tmp_path / "a").exists()


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write_idx(tmp_path / "a", np.ones(4, np.uint8))
    with pytest.raises(RuntimeError, match="boom"), atomic_open(tmp_path / "a") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), np.ones(4, np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_load_pair(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    write_idx(tmp_path / "x.gz", images)
    write_idx(tmp_path / "y", np.array([7, 1], np.uint8))
    x, y = load_idx_pair(tmp_path / "x.gz", tmp_path / "y")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, [7, 1])


def test_load_pair_count_mismatch_names_both_files(tmp_path: Path) -> None:
    write_idx(tmp_path / "imgs", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "labs", np.zeros(2, np.uint8))
    with pytest.raises(IDXError, match=r"imgs holds 3 images but .*labs holds 2 labels"):
        load_idx_pair(tmp_path / "imgs", tmp_path / "labs")


def test_load_pair_wrong_ndim(tmp_path: Path) -> None:
    write_idx(tmp_path / "imgs", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "labs", np.zeros((3, 1), np.uint8))
    with pytest.raises(IDXError, match=r"labs: expected labels of shape \(N,\), found \(3, 1\)"):
        load_idx_pair(tmp_path / "imgs", tmp_path / "labs")
    with pytest.raises(IDXError, match=r"labs: expected images of shape \(N, H, W\)"):
        load_idx_pair(tmp_path / "labs", tmp_path / "labs")
