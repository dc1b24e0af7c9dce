"""save/load: nested checkpoints (state dicts, epoch, config) in one .npz, no pickle, atomic."""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .fileio import atomic_write
from .safetensors_io import is_safetensors_path, load_safetensors, save_safetensors
from .tensor import Tensor

MANIFEST = "__manifest__"
FORMAT = "tinygrad_cnn.checkpoint/1"
_NUMBER = (bool, int, float)


class CheckpointError(ValueError):
    """A checkpoint file is missing pieces, corrupt, truncated, or needs pickle."""


def save(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `obj` (a dict, nested dicts/lists of arrays, Tensors, numbers, strings, None) to
    `path` as one .npz: arrays under slash-joined keys ("model/conv1.weight"), Python scalars as
    0-d arrays, and a JSON manifest that rebuilds the exact structure and types. The file is
    written to a temporary file in the same folder, fsynced, then renamed over `path`, so a
    crash never leaves a half-written checkpoint. `path` is used exactly (no ".npz" added).
    A path ending in ".safetensors" writes a flat state dict as safetensors instead."""
    if is_safetensors_path(path):
        return save_safetensors(obj, path)
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict at the top level, got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, [], arrays)
    arrays[MANIFEST] = np.array(json.dumps({"format": FORMAT, "tree": tree}))
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def _encode(value: Any, path: list[str], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The manifest node for `value`; arrays and scalars go into `arrays` under unique keys."""
    where = "/".join(path) or "<root>"
    if value is None:
        return {"type": "none"}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"save: dict keys must be str; {where!r} has key {key!r}")
            items.append([key, _encode(item, path + [key], arrays)])
        return {"type": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__ if type(value) in (list, tuple) else "list"
        if all(type(v) in _NUMBER for v in value):  # one JSON leaf, exact ints/floats/bools
            return {"type": kind, "numbers": list(value)}
        return {"type": kind, "items": [_encode(v, path + [str(i)], arrays)
                                        for i, v in enumerate(value)]}
    if isinstance(value, Tensor):
        node = _store(value.data, path, arrays, where)
        return {**node, "type": "tensor", "requires_grad": value.requires_grad}
    if isinstance(value, np.ndarray):
        return _store(value, path, arrays, where)
    if isinstance(value, np.generic):
        return {**_store(np.asarray(value), path, arrays, where), "type": "numpy_scalar"}
    if type(value) in _NUMBER or isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return {"type": "bigint", "value": str(value)}
        return {**_store(np.asarray(value), path, arrays, where), "type": type(value).__name__}
    raise TypeError(f"save: cannot store {type(value).__name__} at {where!r} without pickle; "
                    "use arrays, Tensors, numbers, strings, None, lists and dicts")


def _store(array: np.ndarray, path: list[str], arrays: dict[str, np.ndarray],
           where: str) -> dict[str, Any]:
    if array.dtype.hasobject:
        raise TypeError(f"save: the array at {where!r} has dtype object, which needs pickle")
    key = "/".join(path) or "_"
    unique, n = key, 1
    while unique in arrays or unique == MANIFEST:  # a key containing "/" may collide with a path
        unique, n = f"{key}#{n}", n + 1
    arrays[unique] = array
    return {"type": "array", "key": unique}


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by `save` (exact types and structure). A plain .npz without a
    manifest loads as a flat dict of arrays. Raises FileNotFoundError for a missing file and
    CheckpointError naming the file for anything that is not a readable, pickle-free .npz.
    A ".safetensors" path loads as a flat dict of arrays."""
    if is_safetensors_path(path):
        return load_safetensors(path)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path!r} is not a .npz archive: it is truncated, "
                              "corrupt, or another kind of file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise CheckpointError(f"checkpoint {path!r} contains pickled objects, which are "
                                  "never loaded (allow_pickle=False)") from error
        raise CheckpointError(f"checkpoint {path!r} is corrupt: {error}") from error
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as error:
        raise CheckpointError(f"checkpoint {path!r} is corrupt or truncated: {error}") from error
    if MANIFEST not in arrays:
        return arrays
    try:
        manifest = json.loads(str(arrays.pop(MANIFEST)))
        if manifest.get("format") != FORMAT:
            raise CheckpointError(f"checkpoint {path!r} has unknown format "
                                  f"{manifest.get('format')!r} (expected {FORMAT!r})")
        return _decode(manifest["tree"], arrays)
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint {path!r} has a damaged manifest: {error!r}") from error


def _decode(node: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    kind = node["type"]
    if kind == "none":
        return None
    if kind == "dict":
        return {key: _decode(item, arrays) for key, item in node["items"]}
    if kind in ("list", "tuple"):
        items = node["numbers"] if "numbers" in node else [_decode(v, arrays)
                                                            for v in node["items"]]
        return tuple(items) if kind == "tuple" else list(items)
    if kind == "bigint":
        return int(node["value"])
    array = arrays[node["key"]]
    if kind == "array":
        return array
    if kind == "tensor":
        return Tensor(array, requires_grad=node["requires_grad"], dtype=None)
    if kind == "numpy_scalar":
        return array[()]
    if kind in ("int", "float", "bool", "str"):
        return {"int": int, "float": float, "bool": bool, "str": str}[kind](array[()])
    raise KeyError(f"unknown node type {kind!r}")
