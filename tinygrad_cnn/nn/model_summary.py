"""summary(model, input_shape): a Keras-style table of layers, output shapes, params, mult-adds
and, for a given batch size, the bytes each layer keeps for backward."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import rng
from ..autograd import enable_grad, no_grad, observe
from ..engine import Function
from ..ops._args import as_count
from ..tensor import Tensor
from .layers import Conv2d, Linear
from .module import Module
from .saved_bytes import count_bytes, saved_arrays


@dataclass
class LayerSummary:
    """One row: a leaf layer's call during the forward pass."""

    name: str
    type: str
    output_shape: Any
    params: int
    mult_adds: int
    output_bytes: int = 0
    saved_bytes: int | None = None  # kept for backward at `ModelSummary.batch_size`


@dataclass
class ModelSummary:
    """What `summary` measured; `str()` gives the table."""

    input_shape: tuple[int, ...]
    rows: list[LayerSummary] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    input_bytes: int = 0
    batch_size: int | None = None  # of the saved-for-backward column (None: not measured)
    saved_bytes: int | None = None  # kept for backward by all the model's ops, each buffer once

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
        if self.batch_size is not None:
            header += (f"Saved for bwd (batch {self.batch_size})",)
            cells = [(*c, f"{r.saved_bytes or 0:,}") for c, r in zip(cells, self.rows)]
        widths = [max(len(row[i]) for row in [header, *cells]) + 2 for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            return (row[0].ljust(widths[0]) + row[1].ljust(widths[1])
                    + "".join(cell.rjust(width) for cell, width in zip(row[2:], widths[2:])))

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
        if self.batch_size is not None:
            table[-1:-1] = [f"Saved for backward (MB), batch {self.batch_size}: "
                            f"{(self.saved_bytes or 0) / 1e6:.2f}"]
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
            verbose: bool = True, batch_size: int | None = None) -> ModelSummary:
    """Run `model` once on zeros of `input_shape` (the full shape, batch included, e.g.
    (1, 1, 28, 28)) in eval mode under no_grad, and tabulate every leaf layer's call: output
    shape, own parameters, multiply-adds (see `mult_adds`). With `batch_size`, also run one
    training-mode forward with grad on for zeros of that batch and add the bytes each layer call
    keeps for backward (`saved_bytes`: its ops' saved arrays, views counted once) and their
    total (`ModelSummary.saved_bytes`, each buffer once). Prints the table when `verbose` and
    returns a ModelSummary. Training flags, buffers (batch-norm statistics) and the random
    generator are restored afterwards; nothing is updated."""
    if batch_size is not None:
        batch_size = as_count(batch_size, "summary: batch_size")
        if batch_size == 0:
            raise ValueError("summary: batch_size must be >= 1 (the batch whose saved bytes are "
                             "counted), got 0")
    result = ModelSummary(tuple(int(d) for d in input_shape))
    names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}
    called: list[Module] = []

    def record(module: Module, inputs: tuple, output: Any) -> None:
        params = sum(p.size for p in module.parameters(recurse=False))
        called.append(module)
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
    if batch_size is not None:
        _add_saved_bytes(model, result, called, leaves, (batch_size, *input_shape[1:]), dtype)
    params = list(model.parameters())
    result.total_params = sum(p.size for p in params)
    result.trainable_params = sum(p.size for p in params if p.requires_grad)
    result.param_bytes = sum(p.data.nbytes for p in params)
    if verbose:
        print(result)
    return result


class _Recorded:
    """Observer (`autograd.observe`) that keeps the contexts of the ops recorded in a forward."""

    def __init__(self) -> None:
        self.ctxs: list[Function] = []

    def on_forward(self, ctx: Function, out: Any, seconds: float) -> None:
        if out._ctx is ctx:
            self.ctxs.append(ctx)

    def on_backward(self, ctx: Function, input_grads: Any, seconds: float) -> None:
        pass


def _add_saved_bytes(model: Module, result: ModelSummary, called: list[Module],
                     leaves: list[Module], shape: tuple[int, ...], dtype: Any) -> None:
    """One training-mode forward with grad on: each row's `saved_bytes` is that call's (the
    k-th row of a layer gets its k-th call's), the total each buffer once; then the training
    flags, the buffers and the random generator are put back as they were."""
    per_call: dict[int, list[int]] = {}
    recorded = _Recorded()

    def record(module: Module, inputs: tuple, output: Any) -> None:
        mine = [ctx for ctx in recorded.ctxs if ctx.module is module]
        recorded.ctxs = [ctx for ctx in recorded.ctxs if ctx.module is not module]
        per_call.setdefault(id(module), []).append(_saved_by(mine))
        everything.extend(mine)

    everything: list[Function] = []
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.data.copy()) for b in model.buffers()]
    state = rng.get_rng_state()
    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        model.train()
        with enable_grad(), observe(recorded):
            model(Tensor(np.zeros(shape, dtype=dtype), dtype=None))
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
        for buffer, data in buffers:
            buffer.data[...] = data
        rng.set_rng_state(state)
    result.batch_size = int(shape[0])
    result.saved_bytes = _saved_by(everything + recorded.ctxs)  # with ops outside leaf layers
    seen: dict[int, int] = {}
    for row, module in zip(result.rows, called):
        k = seen[id(module)] = seen.get(id(module), -1) + 1
        calls = per_call.get(id(module), [])
        row.saved_bytes = calls[k] if k < len(calls) else 0


def _saved_by(ctxs: list[Function]) -> int:
    return count_bytes(array for ctx in ctxs for array in saved_arrays(ctx))
