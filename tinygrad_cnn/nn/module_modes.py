"""Module's modes and whole-module operations under PyTorch's names: train/eval, zero_grad,
requires_grad_, to/cpu/float/double/half, apply, and add_module, register_parameter,
get_submodule (a mixin, so module.py keeps discovery and state dicts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import devices
from ..tensor import Tensor

if TYPE_CHECKING:
    from .module import Module


class ModuleModes:
    training: bool
    parameters: Callable
    buffers: Callable
    modules: Callable
    children: Callable

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every submodule (Dropout, BatchNorm read it)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (backward() accumulates into .grad)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = Tensor(np.zeros_like(param.data), dtype=None)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """PyTorch's Module.to: a device ("cpu") leaves the module as it is; a float dtype casts
        every floating parameter, buffer and gradient in place (the same Parameter objects)."""
        dtype = devices.dtype_asked(args, kwargs, "to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError("nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype}")
        for tensor in [*self.parameters(), *self.buffers()]:
            for t in (tensor, tensor.grad):
                if t is not None and t.dtype.kind == "f":
                    t.data = t.data.astype(dtype)
        return self

    def cpu(self) -> Module:
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every submodule, children before parents (as PyTorch), then on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def half(self) -> Module:
        return self.to(np.float16)

    def add_module(self, name: str, module: Module | None) -> None:
        """Attach `module` as the child `name` (the same as setting the attribute)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: a module name is a non-empty string without '.', got "
                           f"{name!r}")
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param: Any) -> None:
        """Attach `param` (a Parameter, or None) as `name`."""
        from .module import Parameter

        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__} as "
                            f"parameter {name!r} (nn.Parameter or None required)")
        setattr(self, name, param)

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path `target` ("" is this module)."""
        module: Any = self
        for part in target.split(".") if target else ():
            children = dict(module.named_children())
            if part not in children:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking "
                                     f"for {target!r})")
            module = children[part]
        return module
