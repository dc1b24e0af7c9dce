"""Module (parameters, buffers, submodules, state dicts, forward hooks, train/eval and the other
whole-module operations under PyTorch's names) and Parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import devices
from ..autograd import module_scope
from ..tensor import Tensor

Hook = Callable[["Module", tuple, Any], Any]


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates: requires_grad=True by default.
    Float arrays keep their dtype (and are not copied); anything else becomes float32."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        dtype = None if isinstance(data, (np.ndarray, Tensor)) else np.float32
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class HookHandle:
    """Returned by `register_forward_hook`; `remove()` detaches the hook."""

    def __init__(self, hooks: list[Hook], hook: Hook) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


_PLAIN = frozenset({bool, int, float, str, type(None)})  # attribute types that hold no member


class Module:
    """Base class of layers and models. Parameters, buffers and submodules are found from the
    attributes (and from lists/tuples held in attributes), in the order they were assigned;
    names are dotted paths like PyTorch's (`features.0.weight`, `bn.running_mean`)."""

    training: bool = True  # class default, so a subclass that forgets super().__init__() works

    def __init__(self) -> None:
        self.training = True
        self._buffer_names: set[str] = set()
        self._forward_hooks: list[Hook] = []

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # every op recorded inside knows which layer made it (profiler, graph viewer)
        with module_scope(self):
            out = self.forward(*args, **kwargs)
        for hook in list(self.__dict__.get("_forward_hooks", ())):
            result = hook(self, args, out)
            if result is not None:  # PyTorch's rule: a returned value replaces the output
                out = _hook_output(self, hook, out, result)
        return out

    def register_forward_hook(self, hook: Hook) -> HookHandle:
        """Call `hook(module, inputs, output)` after every forward; a value it returns (not None)
        replaces the output, as in PyTorch. Returns a removable handle."""
        if not callable(hook):
            raise TypeError(f"register_forward_hook: the hook must be callable, got "
                            f"{type(hook).__name__}")
        hooks = self.__dict__.setdefault("_forward_hooks", [])
        hooks.append(hook)
        return HookHandle(hooks, hook)

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

    # ----- discovery: parameters, buffers and submodules, from the attributes -------------------
    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Keep a non-trainable array (e.g. running statistics) as `name`: in the state dict
        unless `persistent=False`. Arrays are wrapped in a Tensor without a copy."""
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(np.asarray(value), dtype=None)
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        setattr(self, name, value)

    # ----- discovery ----------------------------------------------------------------------------
    def _members(self) -> tuple[list, list, list]:
        """This module's own (name, parameter), (name, buffer) and (name, child) lists, in
        attribute order; list/tuple attributes contribute `attr.0`, `attr.1`, ..."""
        params: list[tuple[str, Parameter]] = []
        buffers: list[tuple[str, Tensor]] = []
        children: list[tuple[str, Module]] = []
        buffer_names = self.__dict__.get("_buffer_names", ())
        for name, value in vars(self).items():
            if type(value) in _PLAIN:  # most attributes: settings, not members
                continue
            if name in buffer_names:
                if value is not None:
                    buffers.append((name, value))
            elif isinstance(value, Parameter):
                params.append((name, value))
            elif isinstance(value, Module):
                children.append((name, value))
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Parameter):
                        params.append((f"{name}.{i}", item))
                    elif isinstance(item, Module):
                        children.append((f"{name}.{i}", item))
        return params, buffers, children

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._members()[2]

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True,
                      _seen: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        """This module and every submodule, depth first, parents before children."""
        seen = set() if _seen is None else _seen
        if remove_duplicate:
            if id(self) in seen:
                return
            seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(_join(prefix, name), remove_duplicate, seen)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter); a parameter shared by two layers is listed once."""
        yield from self._named_members(0, prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members(1, prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _named_members(self, kind: int, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in module._members()[kind]:
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield _join(module_name, name), value

    # ----- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Name -> copy of the array, parameters then buffers of each module, parents first."""
        return {name: tensor.data.copy() for name, tensor in self._state_tensors().items()}

    def _state_tensors(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            params, buffers, _ = module._members()
            skip = module.__dict__.get("_non_persistent", ())
            for name, tensor in params + [(n, b) for n, b in buffers if n not in skip]:
                out[_join(module_name, name)] = tensor
        return out

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy `state`'s arrays into this module's parameters and buffers, in place (optimizers
        holding the parameters keep working). Shape and dtype mismatches always raise, before
        any parameter changes; missing and unexpected keys raise when `strict`, else they are
        returned."""
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got "
                            f"{type(state).__name__}")
        own = self._state_tensors()
        missing = [key for key in own if key not in state]
        unexpected = [key for key in state if key not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing key(s): " + ", ".join(repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + "; ".join(parts))
        values = {}  # every value is checked before any parameter changes
        for key, tensor in own.items():
            if key in state:
                values[key] = _checked_value(key, state[key], tensor.shape)
        for key, value in values.items():
            np.copyto(own[key].data, value, casting="unsafe")
            own[key]._version += 1
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The hyper-parameters shown inside the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _hook_output(module: Module, hook: Hook, out: Any, result: Any) -> Any:
    """A forward hook's replacement output: of the output's kind (a Tensor for a Tensor), so a
    hook returning something else fails here, naming itself, and not in the next layer."""
    if isinstance(out, Tensor) and not isinstance(result, Tensor):
        raise TypeError(f"forward hook {getattr(hook, '__name__', hook)!r} of "
                        f"{type(module).__name__} returned {type(result).__name__}; a forward "
                        "hook returns None (keep the output) or a Tensor that replaces it")
    return result


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _checked_value(key: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """`value` as an array of numbers with `shape`, or an error naming `key`."""
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except (ValueError, TypeError):
        raise TypeError(f"load_state_dict: {key!r} is not an array ({type(value).__name__})"
                        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"load_state_dict: {key!r} holds {array.dtype} data; expected numbers")
    if array.shape != shape:
        raise ValueError(f"load_state_dict: size mismatch for {key!r}: the checkpoint has shape "
                         f"{array.shape}, the model has shape {shape}")
    return array
