"""Watch a CNN think: every layer's output and gradient for one image, the conv arithmetic, the
backprop steps, as an HTML page (static, in Jupyter, or served to a browser on this machine)."""

from .page import Explorer, explore, page_html, static_data, write_static
from .server import ExplorerApp, make_server, serve
from .steps import Backprop, Step, StepRecorder, record_backprop
from .trace import ExplorerError, Trace, conv_cell, kernels, layers_of, trace

__all__ = [
    "Backprop", "Explorer", "ExplorerError", "Step", "StepRecorder", "Trace", "conv_cell",
    "explore", "kernels", "layers_of", "page_html", "record_backprop", "static_data", "trace",
    "ExplorerApp", "make_server", "serve", "write_static",
]
