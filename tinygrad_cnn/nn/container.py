"""Containers: Sequential, ModuleList (children named "0", "1", ...) and Identity."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module


class _IndexedModules(Module):
    """Children named "0", "1", ...: indexing, slicing, len, iteration and append."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> _IndexedModules:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _IndexedModules:
        for module in modules:
            self.append(module)
        return self

    def _list(self) -> list[Module]:
        return [child for _, child in self.named_children()]

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            sliced = type(self).__new__(type(self))
            _IndexedModules.__init__(sliced, self._list()[index])
            return sliced
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._members()[2])

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list())


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the parent finds (names `0`, `1`, ...); no forward."""


class Sequential(_IndexedModules):
    """Modules applied in order: `Sequential(conv, relu, ...)` or from an (ordered) dict of
    name -> module, which names the children."""

    def __init__(self, *modules: Module | dict[str, Module]) -> None:
        if len(modules) == 1 and isinstance(modules[0], dict):
            super().__init__()
            for name, module in modules[0].items():
                setattr(self, name, module)
        else:
            super().__init__(modules)  # type: ignore[arg-type]

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x: Any) -> Any:
        return x
