"""Training-health numbers per layer: activation statistics, gradient norms, update/weight ratios.

    monitor = HealthMonitor(model)
    for x, y in batches:
        with monitor.track():                 # activations of every layer's output
            loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.before_step()                 # gradient norms; snapshot of the weights
        opt.step()
        monitor.after_step()                  # ||w_after - w_before|| / ||w_before||
    log[epoch] = monitor.summary(reset=True)  # averages over the epoch, plain floats

What the numbers mean (each averaged over the steps or forward passes seen since the last reset):
- activation_rms, activation_mean, activation_std: sqrt(mean(a^2)), mean and standard deviation
  of every element of the layer's output; zero_fraction: the share of exact zeros (dead ReLUs).
- grad_norm: the L2 norm of the layer's parameter gradients (all its parameters together).
- weight_norm: the L2 norm of its parameters; update_ratio: ||delta w|| / ||w|| for one optimizer
  step (about 1e-3 is healthy for SGD; much larger diverges, much smaller barely learns).

Layers are the modules without children plus any module that owns parameters directly, keyed by
their title: the dotted name and class, e.g. 'features.0 (Conv2d)'; parameters by dotted name.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .naming import ModuleNames

ACTIVATION_KEYS = ("activation_rms", "activation_mean", "activation_std", "zero_fraction")
PARAM_KEYS = ("grad_norm", "weight_norm", "update_ratio")


def _sq_norm(array: np.ndarray) -> float:
    flat = np.asarray(array, dtype=np.float64).ravel()
    return float(flat @ flat)


def activation_stats(array: np.ndarray) -> dict[str, float]:
    """rms, mean, std and zero fraction of every element of one layer output."""
    flat = np.asarray(array).ravel()
    n = max(flat.size, 1)
    mean = float(flat.mean(dtype=np.float64)) if flat.size else 0.0
    mean_sq = float(flat.astype(np.float64) @ flat.astype(np.float64)) / n
    return {
        "activation_rms": math.sqrt(mean_sq),
        "activation_mean": mean,
        "activation_std": math.sqrt(max(mean_sq - mean * mean, 0.0)),
        "zero_fraction": (flat.size - int(np.count_nonzero(flat))) / n,
    }


class _Mean:
    """Running means of named numbers."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: self.sums[key] / self.counts[key] for key in self.sums}


class HealthMonitor:
    """Per-layer training-health numbers of `model` (an nn.Module); see the module docstring."""

    def __init__(self, model: Any) -> None:
        if not hasattr(model, "named_modules"):
            raise TypeError(f"HealthMonitor watches an nn.Module, got {type(model).__name__}")
        self.model = model
        names = ModuleNames(model)
        self.layers: dict[str, Any] = {}  # layer name -> module, in model order
        self.params: dict[str, tuple[str, Any]] = {}  # param name -> (layer name, param)
        modules = dict(model.named_modules())
        for module in modules.values():
            if not any(True for _ in module.children()):
                self.layers[names.title(module)] = module
        seen: set[int] = set()
        # each module's own parameters, so a name is never parsed back into its owner's name
        # (`heads.0` of a list attribute belongs to the module holding `heads`)
        for mname, owner in modules.items():
            for pname, param in owner.named_parameters(mname, recurse=False):
                if id(param) not in seen:  # a shared parameter counts once, as in named_parameters
                    seen.add(id(param))
                    self.layers.setdefault(names.title(owner), owner)
                    self.params[pname] = (names.title(owner), param)
        self._snapshot: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        """Start a new averaging window (an epoch)."""
        self._activations: dict[str, _Mean] = {name: _Mean() for name in self.layers}
        self._layer_params: dict[str, _Mean] = {name: _Mean() for name in self.layers}
        self._param: dict[str, _Mean] = {name: _Mean() for name in self.params}
        self.steps = 0

    @contextmanager
    def track(self) -> Iterator[HealthMonitor]:
        """Record activation statistics of every layer's output while inside (forward hooks)."""
        handles = [module.register_forward_hook(self._hook(name))
                   for name, module in self.layers.items()]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def _hook(self, layer: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            data = getattr(output, "data", None)
            if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating):
                self._activations[layer].add(activation_stats(data))

        return hook

    def before_step(self) -> None:
        """Call after backward() and before optimizer.step(): records gradient norms and keeps a
        copy of the weights for `after_step`."""
        grads: dict[str, float] = {}
        for pname, (_, param) in self.params.items():
            self._snapshot[pname] = param.data.copy()
            if param.grad is not None:
                grads[pname] = _sq_norm(param.grad.data)
                self._param[pname].add({"grad_norm": math.sqrt(grads[pname])})
        per_layer: dict[str, float] = {}
        for pname, square in grads.items():
            layer = self.params[pname][0]
            per_layer[layer] = per_layer.get(layer, 0.0) + square
        for layer, square in per_layer.items():
            self._layer_params[layer].add({"grad_norm": math.sqrt(square)})

    def after_step(self) -> None:
        """Call after optimizer.step(): records weight norms and update/weight ratios."""
        if not self._snapshot:
            raise RuntimeError("HealthMonitor.after_step() needs before_step() before the "
                               "optimizer step")
        per_layer: dict[str, list[float]] = {}
        for pname, (layer, param) in self.params.items():
            before = self._snapshot[pname]
            weight_sq = _sq_norm(before)
            delta_sq = _sq_norm(param.data.astype(np.float64) - before)
            self._param[pname].add({"weight_norm": math.sqrt(weight_sq),
                                    "update_ratio": _ratio(delta_sq, weight_sq)})
            sums = per_layer.setdefault(layer, [0.0, 0.0])
            sums[0] += weight_sq
            sums[1] += delta_sq
        for layer, (weight_sq, delta_sq) in per_layer.items():
            self._layer_params[layer].add({"weight_norm": math.sqrt(weight_sq),
                                           "update_ratio": _ratio(delta_sq, weight_sq)})
        self._snapshot = {}
        self.steps += 1

    def summary(self, by: str = "layer", reset: bool = False) -> dict[str, dict[str, float]]:
        """Averages since the last reset as plain floats: {layer: {activation_rms, ...,
        grad_norm, weight_norm, update_ratio}} (`by="layer"`), or {param name: {grad_norm,
        weight_norm, update_ratio}} (`by="parameter"`). Numbers never measured are left out."""
        if by == "layer":
            result = {name: {**self._activations[name].means(), **self._layer_params[name].means()}
                      for name in self.layers}
        elif by == "parameter":
            result = {name: mean.means() for name, mean in self._param.items()}
        else:
            raise ValueError(f"summary: by must be 'layer' or 'parameter', got {by!r}")
        if reset:
            self.reset()
        return {name: values for name, values in result.items() if values}

    def table(self, by: str = "layer") -> str:
        """The summary as a printable table."""
        return format_health(self.summary(by))


def _ratio(delta_sq: float, weight_sq: float) -> float:
    return math.sqrt(delta_sq / weight_sq) if weight_sq > 0 else math.inf if delta_sq else 0.0


def format_health(summary: dict[str, dict[str, float]]) -> str:
    """A table with one row per layer (or parameter) and one column per number."""
    keys = [k for k in ACTIVATION_KEYS + PARAM_KEYS if any(k in v for v in summary.values())]
    width = max([5] + [len(name) for name in summary])
    lines = [f"{'layer':<{width}}" + "".join(f"  {k:>15}" for k in keys)]
    for name, values in summary.items():
        cells = "".join(f"  {values[k]:>15.4g}" if k in values else f"  {'-':>15}" for k in keys)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)
