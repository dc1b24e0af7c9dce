"""Containers: Sequential, ModuleList (children named "0", "1", ...), ModuleDict and Identity."""

from __future__ import annotations

import operator
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
        return self._list()[_checked_index(index, len(self))]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the child at `index` (it keeps its name)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        names = [name for name, _ in self.named_children()]
        setattr(self, names[_checked_index(index, len(names))], module)

    def __delitem__(self, index: int | slice) -> None:
        """Remove the child(ren) at `index`; the rest are numbered "0", "1", ... again, as
        PyTorch renumbers them."""
        names, kept = [name for name, _ in self.named_children()], self._list()
        del kept[index if isinstance(index, slice) else _checked_index(index, len(kept))]
        for name in names:
            delattr(self, name)
        for module in kept:
            self.append(module)

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
        from . import parallel  # its list of per-sample layers imports the layer modules

        n, members = parallel.slices_for(self, x)
        if n > 1:  # slices of the batch on n threads (nn/parallel.py; tg.set_num_threads)
            return parallel.run_split(self, x, n, members)
        for module in self:
            x = module(x)
        return x


class ModuleDict(Module):
    """Modules by name, in insertion order: `d["conv"]`, `in`, len, keys/values/items, update."""

    def __init__(self, modules: dict[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__}")
        if hasattr(type(self), name):  # the entries are attributes here: it would hide a method
            raise KeyError(f"ModuleDict: the key {name!r} is the name of a ModuleDict method "
                           f"or attribute; pick another")
        self.add_module(name, module)

    def __getitem__(self, name: str) -> Module:
        children = dict(self.named_children())
        if name not in children:
            raise KeyError(name)
        return children[name]

    def __delitem__(self, name: str) -> None:
        self[name]  # noqa: B018 (a KeyError for an unknown name)
        delattr(self, name)

    def __contains__(self, name: object) -> bool:
        return name in dict(self.named_children())

    def __len__(self) -> int:
        return len(self._members()[2])

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list[str]:
        return [name for name, _ in self.named_children()]

    def values(self) -> list[Module]:
        return [module for _, module in self.named_children()]

    def items(self) -> list[tuple[str, Module]]:
        return list(self.named_children())

    def update(self, modules: dict[str, Module] | Iterable[tuple[str, Module]]) -> None:
        for name, module in (modules.items() if isinstance(modules, dict) else modules):
            self[name] = module


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); like PyTorch's, it takes and ignores
    any arguments, so it can stand in for a layer in place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


def _checked_index(index: Any, size: int) -> int:
    """An int index within -size..size-1 (PyTorch's IndexError "index 5 is out of range")."""
    index = operator.index(index)  # a float or a str: TypeError, as for a list
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of range")
    return index
