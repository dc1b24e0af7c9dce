"""The IDX file format of MNIST-style datasets: read (raw or gzipped), write, and load pairs."""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..fileio import INFLATION_FLOOR, MAX_INFLATION, open_regular
from .cache import atomic_open
from .checks import check_images, check_labels
from .errors import IDXError

PathLike = str | os.PathLike[str]

# IDX type codes; multi-byte values are stored big-endian
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
MAX_DIMS = 16  # datasets use 1 to 4; NumPy allows 64
MAX_BYTES = 2**48  # what any shape may claim (the product of its non-zero dimensions)


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzipped (detected by its magic bytes, not its name), into a
    writable native-endian array. Raises `IDXError` naming the file on any malformation. A
    gzipped file is inflated as a stream and never past the size its header states (plus one
    byte that detects trailing data), so a small file claiming little cannot fill memory."""
    path = Path(path)
    try:
        raw = open_regular(path, IDXError)  # a FIFO or a folder: at once, without blocking
    except IDXError as exc:
        raise IDXError(f"{path}: cannot read ({exc})") from None
    except OSError as exc:
        raise IDXError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            return _read_stream(raw, str(path), path.stat().st_size)
        with gzip.GzipFile(fileobj=raw) as stream:
            return _read_stream(stream, str(path), None, os.fstat(raw.fileno()).st_size)


def decode_idx(data: bytearray | bytes, name: str) -> np.ndarray:
    """Decode an IDX file's bytes, gunzipping them first if they start with the gzip magic."""
    if data[:2] != GZIP_MAGIC:
        return parse_idx(data, name)
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        return _read_stream(stream, name, None, len(data))


def _read_stream(stream: BinaryIO, name: str, size: int | None, packed: int | None = None
                 ) -> np.ndarray:
    """Read the header, then exactly the data it announces; `size` is the whole file's size
    when known (raw files), so a wrong size fails before anything is allocated; `packed` the
    gzipped file's size, which bounds what its header may claim as read_npz bounds members."""
    try:
        head = stream.read(4)
        if len(head) == 4 and head[:2] == b"\0\0":
            head += stream.read(4 * head[3])
        dtype, shape, header = _parse_header(head, name)
        expected = math.prod(shape) * dtype.itemsize
        if size is not None:
            _check_size(size - header, expected, shape, dtype, name)
        if packed is not None and expected > max(INFLATION_FLOOR, MAX_INFLATION * packed):
            raise IDXError(f"{name}: its {packed:,} gzipped bytes claim {expected:,} bytes of "
                           f"data (the limit is {MAX_INFLATION}x the file, or "
                           f"{INFLATION_FLOOR:,} bytes): a gzip bomb or a damaged file, not read")
        data = bytearray(header) + _read_at_most(stream, expected + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXError(f"{name}: corrupt gzip data ({exc})") from None
    found = len(data) - header
    _check_size(found, expected, shape, dtype, name, more=size is None and found > expected)
    return _to_array(data, dtype, shape, header)


def _read_at_most(stream: BinaryIO, limit: int, chunk: int = 1 << 20) -> bytearray:
    """Up to `limit` bytes from `stream`, read in chunks (memory grows with what is there)."""
    data = bytearray()
    while len(data) < limit:
        piece = stream.read(min(chunk, limit - len(data)))
        if not piece:
            break
        data += piece
    return data


def parse_idx(data: bytearray | bytes, name: str) -> np.ndarray:
    """Decode uncompressed IDX bytes; `name` is used in error messages. The array shares memory
    with `data`, so it is writable exactly when `data` is (a bytearray)."""
    dtype, shape, header = _parse_header(data[:4 + 4 * data[3]] if len(data) >= 4 else data, name)
    expected = math.prod(shape) * dtype.itemsize
    _check_size(len(data) - header, expected, shape, dtype, name)
    return _to_array(data, dtype, shape, header)


def _parse_header(head: bytes | bytearray, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, header length) from the bytes of an IDX header."""
    if len(head) < 4:
        raise IDXError(f"{name}: truncated: {len(head)} bytes is too short for an IDX header")
    if head[0] != 0 or head[1] != 0:
        magic = int.from_bytes(head[:4], "big")
        raise IDXError(f"{name}: bad magic number 0x{magic:08x} (IDX files start with 0x0000)")
    code, ndim = head[2], head[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02x}" for c in TYPE_CODES)
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02x} (known: {known})")
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(head) < header:
        raise IDXError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
                       f"found {len(head)}")
    shape = tuple(int(d) for d in np.frombuffer(bytes(head[4:header]), ">u4"))
    claimed = math.prod(d for d in shape if d) * TYPE_CODES[code].itemsize
    if ndim > MAX_DIMS or claimed > MAX_BYTES:
        raise IDXError(f"{name}: the header declares shape {shape[:MAX_DIMS]}"
                       f"{'...' if ndim > MAX_DIMS else ''} ({ndim} dimensions); at most "
                       f"{MAX_DIMS} dimensions and {MAX_BYTES:,} bytes are read")
    return TYPE_CODES[code], shape, header


def _check_size(found: int, expected: int, shape: tuple[int, ...], dtype: np.dtype, name: str,
                more: bool = False) -> None:
    if found != expected:
        problem = "truncated" if found < expected else "trailing bytes"
        amount = f"more than {expected}" if more else str(found)
        raise IDXError(f"{name}: {problem}: expected {expected} bytes of data for shape {shape} "
                       f"{dtype.name}, found {amount}")


def _to_array(data: bytearray | bytes, dtype: np.dtype, shape: tuple[int, ...], header: int
              ) -> np.ndarray:
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzipped when `path` ends in .gz; atomic (temp + replace)."""
    array = np.asarray(array)
    codes = {dtype.str.lstrip("<>|="): code for code, dtype in TYPE_CODES.items()}
    key = array.dtype.str.lstrip("<>|=")
    if key not in codes or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"cannot write {array.dtype} array of shape {array.shape} as IDX "
                         f"(supported: uint8, int8, int16, int32, float32, float64; 1-255 dims)")
    code = codes[key]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    blob = header + payload
    if str(path).endswith(".gz"):
        blob = gzip.compress(blob, mtime=0)  # mtime=0: identical arrays give identical files
    with atomic_open(path) as f:
        f.write(blob)


def load_idx_pair(images_path: PathLike, labels_path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file (N, H, W) and a labels file (N,) and check that they belong together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise IDXError(f"{images_path}: expected images of shape (N, H, W), found {images.shape}")
    if labels.ndim != 1:
        raise IDXError(f"{labels_path}: expected labels of shape (N,), found {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise IDXError(f"{labels_path}: labels are {labels.dtype}; labels must be integers "
                       "(IDX type 0x08, 0x09, 0x0B or 0x0C)")
    if len(images) != len(labels):
        raise IDXError(f"count mismatch: {images_path} holds {len(images)} images but "
                       f"{labels_path} holds {len(labels)} labels")
    return images, labels


def load_idx_split(directory: PathLike, split: str, num_classes: int | None = None,
                   image_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 'train' or 'test' split from a folder of MNIST-named IDX files (raw or .gz):
    (images (N, H, W), labels int64 (N,)). With `num_classes` and `image_shape`, labels and
    images are checked too (datasets.checks), and errors name the file."""
    directory, prefix = Path(directory), "t10k" if split == "test" else "train"
    if not directory.is_dir():
        raise IDXError(f"{directory}: not a folder of IDX files")
    paths = []
    for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        found = [p for p in (directory / name, directory / f"{name}.gz") if p.is_file()]
        if not found:
            raise IDXError(f"{directory}: no {name} or {name}.gz (MNIST's file names)")
        paths.append(found[0])
    images, labels = load_idx_pair(*paths)
    if image_shape is not None:
        check_images(images, str(paths[0]), image_shape)
    if num_classes is not None:
        check_labels(labels, num_classes, str(paths[1]))
    return images, labels.astype(np.int64)
