"""summary(model, input_shape): a Keras-style table of layers, output shapes, params, mult-adds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .layers import Conv2d, Linear
from .module import Module


@dataclass
class LayerSummary:
    """One row: a leaf layer's call during the forward pass."""

    name: str
    type: str
    output_shape: Any
    params: int
    mult_adds: int
    output_bytes: int = 0


@dataclass
class ModelSummary:
    """What `summary` measured; `str()` gives the table."""

    input_shape: tuple[int, ...]
    rows: list[LayerSummary] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    input_bytes: int = 0

    @property
    def total_mult_adds(self) -> int:
        return sum(row.mult_adds for row in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def param_size_mb(self) -> float:
        return self.param_bytes / 1e6

    @property
    def activation_size_mb(self) -> float:
        return sum(row.output_bytes for row in self.rows) / 1e6

    def __str__(self) -> str:
        header = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds")
        cells = [(f"{r.name} ({r.type})", str(r.output_shape), f"{r.params:,}",
                  f"{r.mult_adds:,}") for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *cells]) + 2 for i in range(4)]

        def line(row: tuple[str, ...]) -> str:
            return (row[0].ljust(widths[0]) + row[1].ljust(widths[1])
                    + row[2].rjust(widths[2]) + row[3].rjust(widths[3]))

        rule = "=" * sum(widths)
        table = [rule, line(header), rule, *(line(c) for c in cells), rule]
        table += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds: {self.total_mult_adds:,} ({self.total_mult_adds / 1e6:.2f} M)",
            rule,
            f"Input size (MB): {self.input_bytes / 1e6:.2f}",
            f"Forward pass size (MB): {self.activation_size_mb:.2f}",
            f"Params size (MB): {self.param_size_mb:.2f}",
            rule,
        ]
        return "\n".join(table)

    def __repr__(self) -> str:  # short: `summary()` already printed the table
        return (f"ModelSummary(layers={len(self.rows)}, total_params={self.total_params:,}, "
                f"mult_adds={self.total_mult_adds:,})")


def mult_adds(module: Module, output: Any) -> int:
    """Multiply-adds of one call: Conv2d N*C_out*OH*OW*(C_in/groups)*KH*KW, Linear
    (rows of the input)*in*out; bias adds and every other layer count 0 (as torchinfo's
    convention for the layers that dominate)."""
    if isinstance(module, Conv2d) and isinstance(output, Tensor):
        kh, kw = module.kernel_size
        return output.size * module.in_channels // module.groups * kh * kw
    if isinstance(module, Linear) and isinstance(output, Tensor):
        return output.size * module.in_features
    return 0


def _shape_of(output: Any) -> Any:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (list, tuple)):
        return [_shape_of(o) for o in output]
    return type(output).__name__


def _bytes_of(output: Any) -> int:
    if isinstance(output, Tensor):
        return output.data.nbytes
    if isinstance(output, (list, tuple)):
        return sum(_bytes_of(o) for o in output)
    return 0


def summary(model: Module, input_shape: tuple[int, ...], dtype: Any = np.float32,
            verbose: bool = True) -> ModelSummary:
    """Run `model` once on zeros of `input_shape` (the full shape, batch included, e.g.
    (1, 1, 28, 28)) in eval mode under no_grad, and tabulate every leaf layer's call: output
    shape, own parameters, multiply-adds (see `mult_adds`). Prints the table when `verbose`
    and returns a ModelSummary. Training flags are restored afterwards; nothing is updated."""
    result = ModelSummary(tuple(int(d) for d in input_shape))
    names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}

    def record(module: Module, inputs: tuple, output: Any) -> None:
        params = sum(p.size for p in module.parameters(recurse=False))
        result.rows.append(LayerSummary(names[id(module)], type(module).__name__,
                                        _shape_of(output), params, mult_adds(module, output),
                                        _bytes_of(output)))

    modes = [(m, m.training) for m in model.modules()]
    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        model.eval()
        x = np.zeros(result.input_shape, dtype=dtype)
        result.input_bytes = x.nbytes
        with no_grad():
            model(Tensor(x, dtype=None))
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    params = list(model.parameters())
    result.total_params = sum(p.size for p in params)
    result.trainable_params = sum(p.size for p in params if p.requires_grad)
    result.param_bytes = sum(p.data.nbytes for p in params)
    if verbose:
        print(result)
    return result
