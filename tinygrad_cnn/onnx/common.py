"""What export and import share: the onnx library loaded on use, the error type, the names."""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "pip install onnx onnxruntime  (or pip install -e '.[onnx]')"
MIN_OPSET = 17  # LayerNormalization, which LayerNorm and Normalization export to, is opset 17
INPUT, OUTPUT = "input", "output"
NORMALIZATION_SCALE = "normalization_scale"  # marks a LayerNormalization exported from one
# The batch size as the importer's Shape node reports it: not a size any layer has, so a shape
# computation that used it for anything but a Reshape's first dimension fails instead of baking in
# the example's batch (x.view(x.size(0), -1) exports as Shape, Gather, Unsqueeze, Concat, Reshape)
BATCH = -(2 ** 30)


class OnnxError(ValueError):
    """A model cannot be exported to ONNX, or an ONNX graph cannot be loaded as a model."""


def onnx_library() -> Any:
    """The onnx package, or ImportError with the command that installs it."""
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401 (used as onnx.numpy_helper)
    except ImportError as error:
        raise ImportError(f"ONNX export and import need the onnx package: {INSTALL_HINT}") \
            from error
    return onnx


def constant_name(path: str, what: str) -> str:
    """Initializers that are not state (a Normalization's ones, a dropout ratio) are named like
    PyTorch's exporter names its constants, "/<layer path>/<what>", so the importer knows them."""
    return f"/{path}/{what}"


def is_constant_name(name: str) -> bool:
    return name.startswith("/")
