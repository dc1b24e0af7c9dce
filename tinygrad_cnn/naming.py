"""Display names for modules and parameters, shared by the graph viewer, profiler and monitors."""

from __future__ import annotations

from collections import Counter
from typing import Any


class ModuleNames:
    """Dotted names (PyTorch-style, from `model.named_modules()` / `named_parameters()`) when a
    model is given; otherwise the class name, numbered from the second instance (`Linear_2`).
    The model itself is named by its class."""

    def __init__(self, model: Any = None) -> None:
        self.params: dict[int, str] = {}
        self.modules: dict[int, str] = {}
        if model is not None:
            self.params = {id(p): name for name, p in model.named_parameters()}
            self.modules = {id(m): name for name, m in model.named_modules()}
        self._counts: Counter[str] = Counter()
        self._fallback: dict[int, str] = {}

    def module(self, module: Any) -> str:
        """The module's dotted name, or its (numbered) class name."""
        name = self.modules.get(id(module))
        if name:
            return name
        if name == "":
            return type(module).__name__
        if id(module) not in self._fallback:
            cls = type(module).__name__
            self._counts[cls] += 1
            count = self._counts[cls]
            self._fallback[id(module)] = cls if count == 1 else f"{cls}_{count}"
        return self._fallback[id(module)]

    def title(self, module: Any) -> str:
        """`name (Class)`, or just the name when it already is the class name."""
        name, cls = self.module(module), type(module).__name__
        return name if name.split("_")[0] == cls else f"{name} ({cls})"

    def param(self, tensor: Any) -> str | None:
        """The parameter's dotted name, else `tensor.name` (None when it has neither)."""
        return self.params.get(id(tensor)) or tensor.name

