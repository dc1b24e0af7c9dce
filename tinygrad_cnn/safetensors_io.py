"""Weights as .safetensors (Hugging Face's pickle-free format) through the safetensors NumPy API.

`tg.save(model.state_dict(), "model.safetensors")` and `tg.load("model.safetensors")` come here
by the file's suffix. The keys are our state_dict's, which are PyTorch's (`0.weight`,
`1.running_mean`, ...), so the same architecture in PyTorch loads the file with
`model.load_state_dict(safetensors.torch.load_file(path))`. The library loads when used.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from .fileio import atomic_write, open_regular
from .tensor import Tensor

SUFFIX = ".safetensors"
INSTALL_HINT = "pip install safetensors  (or pip install -e '.[onnx]')"


def is_safetensors_path(path: str | os.PathLike) -> bool:
    return os.fspath(path).lower().endswith(SUFFIX)


def _library() -> Any:
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(f"reading and writing .safetensors files needs the safetensors "
                          f"package: {INSTALL_HINT}") from error
    return safetensors.numpy


def save_safetensors(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write a flat name -> array (or Tensor) dict, e.g. `model.state_dict()`, atomically."""
    if not isinstance(state, dict):
        raise TypeError(f"save: a .safetensors file holds a flat dict of arrays, got "
                        f"{type(state).__name__}")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"save: .safetensors keys must be str, got {key!r}")
        array = value.data if isinstance(value, Tensor) else value
        if not isinstance(array, (np.ndarray, np.generic)):
            raise TypeError(f"save: .safetensors stores arrays only; {key!r} is "
                            f"{type(value).__name__} (save training state such as optimizers "
                            "and epochs to a .npz checkpoint)")
        if array.dtype.hasobject:
            raise TypeError(f"save: {key!r} has dtype object, which safetensors cannot store")
        arrays[key] = np.asarray(array, order="C")  # ascontiguousarray would make 0-d 1-d
    library = _library()
    try:
        data = library.save(arrays, metadata={"producer": "tinygrad_cnn"})
    except Exception as error:  # the library's own error type (e.g. an unsupported dtype)
        raise TypeError(f"save: cannot write {os.fspath(path)!r} as safetensors: {error}") from None
    with atomic_write(path) as f:
        f.write(data)


# the format's own dtype names; BF16 and the float8 kinds have no NumPy dtype
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32,
          "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}
# The JSON header's limit: ours are a few KB, a model of 10,000 tensors needs about 1 MB; the
# library's own 100 MB parses into many times that in Python objects, over 1 GiB for tiny entries
MAX_HEADER = 4 * 2**20


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a .safetensors file as name -> ndarray, reading only what the header names. The
    header's length, each tensor's dtype, shape and byte range are checked against each other
    and against the file's size before any array exists; CheckpointError naming the file when
    it is not a readable safetensors file (FIFOs and folders included)."""
    from .serialization import CheckpointError  # serialization imports this module

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")

    def damaged(problem: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path!r} is not a readable safetensors file "
                               f"(truncated, corrupt, or another kind of file): {problem}")

    with open_regular(path, CheckpointError) as f:
        size = os.fstat(f.fileno()).st_size
        entries = _header(f, size, damaged)
        return {name: _tensor(f, 8 + entries["__length__"], name, entry, damaged)
                for name, entry in entries.items() if name not in ("__length__", "__metadata__")}


def _header(f: BinaryIO, size: int, damaged: Callable[[str], Exception]) -> dict[str, Any]:
    """The JSON header after its 8-byte little-endian length, checked to lie inside the file;
    its data ranges must tile the rest of the file in order, as the format requires."""
    prefix = f.read(8)
    if len(prefix) < 8:
        raise damaged(f"{size} bytes, fewer than the 8 of the header's length")
    length = int.from_bytes(prefix, "little")
    if length > min(MAX_HEADER, size - 8):
        raise damaged(f"the header claims {length:,} bytes; the file has {size:,} and the "
                      f"limit is {MAX_HEADER:,}")
    try:
        header = json.loads(f.read(length))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise damaged(f"the header is not JSON ({type(error).__name__})") from None
    if not isinstance(header, dict):
        raise damaged("the header is not a JSON object")
    ranges = sorted(_range(name, entry, damaged) for name, entry in header.items()
                    if name != "__metadata__")
    end = 0
    for begin, stop, name in ranges:
        if begin != end:
            raise damaged(f"tensor {name!r} starts at byte {begin:,}, not {end:,}")
        end = stop
    if 8 + length + end != size:
        raise damaged(f"the tensors end at byte {8 + length + end:,} of a {size:,}-byte file")
    return {**header, "__length__": length}


def _range(name: str, entry: Any, damaged: Callable[[str], Exception]) -> tuple[int, int, str]:
    """(begin, end, name) of one tensor, after its dtype and shape account for its bytes."""
    ok = isinstance(entry, dict) and entry.get("dtype") in DTYPES
    shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
    ints = [*(shape or []), *(offsets or [])]
    if not (ok and isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2
            and all(type(v) is int and v >= 0 for v in ints)):
        raise damaged(f"tensor {name!r:.60} has no dtype of {sorted(DTYPES)}, shape and "
                      "data_offsets")
    nbytes = math.prod(shape) * np.dtype(DTYPES[entry["dtype"]]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise damaged(f"tensor {name!r:.60} of {entry['dtype']} {tuple(shape)} needs {nbytes:,} "
                      f"bytes, its data_offsets {offsets} hold {offsets[1] - offsets[0]:,}")
    return offsets[0], offsets[1], name


def _tensor(f: BinaryIO, start: int, name: str, entry: dict[str, Any],
            damaged: Callable[[str], Exception]) -> np.ndarray:
    try:  # an empty tensor's other dimensions are not bounded by the file's size
        array = np.empty(entry["shape"], np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<"))
    except ValueError as error:  # "Maximum allowed dimension exceeded", too many dimensions
        raise damaged(f"tensor {name!r:.60} of shape {entry['shape']!s:.80} is no array "
                      f"({error})") from None
    f.seek(start + entry["data_offsets"][0])
    if f.readinto(memoryview(array.reshape(-1).view(np.uint8))) != array.nbytes:
        raise damaged(f"tensor {name!r} is cut short")
    return array
