"""save/load: nested checkpoints (state dicts, epoch, config) in one .npz, no pickle, atomic."""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import numpy as np

from .fileio import atomic_write, read_npz
from .safetensors_io import is_safetensors_path, load_safetensors, save_safetensors
from .tensor import Tensor

MANIFEST = "__manifest__"
FORMAT = "tinygrad_cnn.checkpoint/1"
_NUMBER = (bool, int, float)
# A manifest's JSON parses into many times its size when it is made of tiny items ("[[],[],..."),
# so its size and its count of items are bounded before it is parsed. A training run's is mostly
# its history, one string; 10,000 arrays take about 200,000 items
MAX_MANIFEST_BYTES = 32 * 2**20
MAX_MANIFEST_ITEMS = 2**20
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')


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
        if callable(getattr(obj, "state_dict", None)):  # torch.save(model, path)
            raise TypeError(f"save: a whole {type(obj).__name__} would need pickle, which "
                            "checkpoints here never use; save model.state_dict() and rebuild "
                            "the model before load_state_dict, as PyTorch recommends")
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
    # the shape and dtype let load check each member's header before reading its data
    return {"type": "array", "key": unique, "shape": list(array.shape), "dtype": array.dtype.str}


def load(path: str | os.PathLike, map_location: Any = None, *,
         weights_only: bool | None = None) -> dict[str, Any]:
    """Read a checkpoint written by `save` (exact types and structure). PyTorch's
    `map_location` and `weights_only` are accepted: arrays load on the CPU (a device or name
    other than the CPU is refused; a dict or function mapping devices has nothing to remap), and
    a checkpoint here is only data, never pickle, whichever is asked. Only regular files
    carrying its manifest are read: a plain .npz, a .zip, a PyTorch .pt, a FIFO or a folder
    raises CheckpointError, and so does a damaged manifest, naming the file and the key. Every
    member is checked before its array exists: its .npy header's shape and dtype must account for
    exactly its inflated size, and the members together may not inflate past the limits below (a
    zip bomb). Raises FileNotFoundError for a missing file. A ".safetensors" path loads as a flat
    dict of arrays."""
    device = getattr(map_location, "type", map_location)
    if isinstance(device, str) and not device.startswith("cpu"):
        raise ValueError(f"load: map_location={map_location!r}: arrays load on the CPU, the "
                         "only device here")
    if is_safetensors_path(path):
        return load_safetensors(path)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    manifest = _manifest(path)
    declared = _declared(manifest.get("tree"))
    arrays = read_npz(path, CheckpointError, "checkpoint",
                      lambda names: [name for name in names if name != f"{MANIFEST}.npy"],
                      lambda key, shape, dtype: _check_declared(path, declared, key, shape, dtype))
    try:
        return _decode(manifest.get("tree"), arrays, "<root>", 0)
    except _Damage as damage:
        raise CheckpointError(f"checkpoint {path!r} has a damaged manifest at key "
                              f"{damage.args[0]!r}: {damage.args[1]}") from None


def _manifest(path: str) -> dict[str, Any]:
    """The checkpoint's manifest, read before any of its arrays."""
    only = f"{MANIFEST}.npy"

    def manifest_only(names: list[str]) -> list[str]:
        _check_members(path, names)
        return [only]

    def small(key: str, shape: tuple, dtype: np.dtype) -> None:
        if math.prod(shape) * dtype.itemsize > MAX_MANIFEST_BYTES:
            raise CheckpointError(f"checkpoint {path!r} has a manifest of "
                                  f"{math.prod(shape) * dtype.itemsize:,} bytes, more than "
                                  f"{MAX_MANIFEST_BYTES:,}: damaged or crafted, not read")

    text = str(read_npz(path, CheckpointError, "checkpoint", manifest_only, small)[MANIFEST])
    items = _json_items(text)
    if items > MAX_MANIFEST_ITEMS:
        raise CheckpointError(f"checkpoint {path!r} has a manifest of {items:,} JSON items, more "
                              f"than {MAX_MANIFEST_ITEMS:,}: damaged or crafted, not parsed")
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path!r} has a damaged manifest: "
                              f"{type(error).__name__}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise CheckpointError(f"checkpoint {path!r} has unknown format {found!r:.60} "
                              f"(expected {FORMAT!r})")
    return manifest


def _json_items(text: str) -> int:
    """How many values, keys and containers the JSON text holds (its separators and opening
    brackets outside strings), in two linear scans and without parsing it."""
    bare = _STRING.sub("", _ESCAPE.sub("", text))
    return sum(bare.count(mark) for mark in "[{,:")


def _declared(tree: Any) -> dict[str, tuple[list, str]]:
    """key -> (shape, dtype) of every array node that records them (files written before the
    manifest recorded shapes have none; their members are checked by their headers alone)."""
    declared, stack = {}, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 2 * MAX_DEPTH + 2:  # a dict item is a [key, node] pair: two levels
            continue  # _decode says the manifest is damaged
        if isinstance(node, dict):
            if isinstance(node.get("key"), str) and "shape" in node:
                declared[node["key"]] = (node.get("shape"), node.get("dtype"))
            items = node.get("items")
            stack += [(child, depth + 1) for child in items] if isinstance(items, list) else []
        elif isinstance(node, list):
            stack += [(child, depth + 1) for child in node]
    return declared


def _check_declared(path: str, declared: dict, key: str, shape: tuple, dtype: np.dtype) -> None:
    """A member's header must say what the manifest says of it, before its data is read."""
    if key in declared and declared[key] != (list(shape), dtype.str):
        raise CheckpointError(f"checkpoint {path!r}: member {key + '.npy'!r} holds {dtype.str} "
                              f"{shape}, its manifest declares {declared[key][1]!r:.20} of shape "
                              f"{declared[key][0]!r:.60}: the archive is damaged")


def _check_members(path: str, names: list[str]) -> None:
    """Refuse an archive without our manifest before reading any of it."""
    if f"{MANIFEST}.npy" in names:
        return
    if any(name.endswith("data.pkl") for name in names):
        raise CheckpointError(f"{path!r} is a PyTorch (pickle) file, not a tinygrad_cnn "
                              "checkpoint; it is never unpickled. Export its state_dict to "
                              ".safetensors or .npz arrays and load those")
    raise CheckpointError(f"{path!r} is not a tinygrad_cnn checkpoint (no {MANIFEST} in the "
                          "archive); read plain .npz arrays with numpy.load")


class _Damage(Exception):
    """(where, problem) of a malformed manifest node; load() adds the file name."""


MAX_DEPTH = 100  # state dicts nest a few levels; a deeper manifest is damaged or hostile
_SCALARS = {"int": int, "float": float, "bool": bool, "str": str}


def _field(node: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = node.get(name)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _Damage(where, f"{name!r} should be {getattr(kind, '__name__', kind)}, "
                             f"found {type(value).__name__}")
    return value


def _decode(node: Any, arrays: dict[str, np.ndarray], where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _Damage(where, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise _Damage(where, f"a node should be an object, found {type(node).__name__}")
    kind = _field(node, "type", str, where)
    if kind == "none":
        return None
    if kind == "dict":
        return dict(_decode_items(_field(node, "items", list, where), arrays, where, depth))
    if kind in ("list", "tuple"):
        if "numbers" in node:
            items = _field(node, "numbers", list, where)
            if not all(type(v) in _NUMBER for v in items):
                raise _Damage(where, "'numbers' should hold only numbers")
        else:
            items = [_decode(v, arrays, f"{where}/{i}", depth + 1)
                     for i, v in enumerate(_field(node, "items", list, where))]
        return tuple(items) if kind == "tuple" else list(items)
    if kind == "bigint":
        value = _field(node, "value", str, where)
        if not value.lstrip("-").isdigit():
            raise _Damage(where, f"'value' should be an integer, found {value!r:.40}")
        return int(value)
    if kind not in ("array", "tensor", "numpy_scalar", *_SCALARS):
        raise _Damage(where, f"unknown node type {kind!r:.40}")
    key = _field(node, "key", str, where)
    if key not in arrays:
        raise _Damage(where, f"its array {key!r:.60} is not in the archive")
    return _leaf(kind, node, arrays[key], where)


def _decode_items(items: list, arrays: dict[str, np.ndarray], where: str, depth: int):
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise _Damage(where, "a dict item should be a [key, node] pair")
        yield item[0], _decode(item[1], arrays, f"{where}/{item[0]}".removeprefix("<root>/"),
                               depth + 1)


def _leaf(kind: str, node: dict[str, Any], array: np.ndarray, where: str) -> Any:
    if kind == "array":
        return array
    if kind == "tensor":
        if array.dtype.kind not in "biuf":
            raise _Damage(where, f"a tensor cannot hold {array.dtype} data")
        return Tensor(array, requires_grad=_field(node, "requires_grad", bool, where), dtype=None)
    if array.ndim != 0:
        raise _Damage(where, f"a {kind} should be a 0-d array, found shape {array.shape}")
    if kind == "numpy_scalar":
        return array[()]
    try:
        return _SCALARS[kind](array[()])
    except (TypeError, ValueError):
        raise _Damage(where, f"a {kind} cannot be read from {array.dtype} data") from None
