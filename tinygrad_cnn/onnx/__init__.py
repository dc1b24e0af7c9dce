"""ONNX, the way out and back in: `export(model, example_input, path)` and `load(path)`.

Both load the onnx package when called (`pip install -e '.[onnx]'`); importing this module
needs only the core.
"""

from .common import OnnxError
from .export import export
from .importer import load

__all__ = ["OnnxError", "export", "load"]
