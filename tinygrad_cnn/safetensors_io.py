"""Weights as .safetensors (Hugging Face's pickle-free format) through the safetensors NumPy API.

`tg.save(model.state_dict(), "model.safetensors")` and `tg.load("model.safetensors")` come here
by the file's suffix. The keys are our state_dict's, which are PyTorch's (`0.weight`,
`1.running_mean`, ...), so the same architecture in PyTorch loads the file with
`model.load_state_dict(safetensors.torch.load_file(path))`. The library loads when used.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .fileio import atomic_write
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
        data = library.save(arrays)
    except Exception as error:  # the library's own error type (e.g. an unsupported dtype)
        raise TypeError(f"save: cannot write {os.fspath(path)!r} as safetensors: {error}") from None
    with atomic_write(path) as f:
        f.write(data)


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a .safetensors file as name -> ndarray; CheckpointError naming the file when it is
    not a readable safetensors file."""
    from .serialization import CheckpointError  # serialization imports this module

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    library = _library()
    with open(path, "rb") as f:
        data = f.read()
    try:
        return dict(library.load(data))
    except Exception as error:  # SafetensorError, and the header's JSON errors
        raise CheckpointError(f"checkpoint {path!r} is not a readable safetensors file "
                              f"(truncated, corrupt, or another kind of file): {error}") from None
