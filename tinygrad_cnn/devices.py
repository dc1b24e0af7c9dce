"""Where tensors live: the CPU, always (NumPy). PyTorch code moves models and batches with
`.to(device)` and asks `cuda.is_available()`; here "cpu" is accepted and leaves everything where
it is, and any other device is a clear error, so such code runs unchanged on the CPU."""

from __future__ import annotations

from typing import Any

# PyTorch's device types: a string naming one is a device, any other string a dtype name
_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "vulkan", "ipu", "hpu", "mtia")


class device:  # noqa: N801 (PyTorch's name: tg.device("cpu"))
    """`device("cpu")`, `device("cuda")`, `device("cuda", 0)`, `device("cuda:1")`: an object
    naming a device, as PyTorch builds one; tensors live on the CPU only, so moving data to any
    other device (`.to(device)`, `device=` on a factory) raises, naming it (`check`)."""

    def __init__(self, spec: Any = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str) or spec.split(":")[0] not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of "
                               f"device string: {spec!r}")
        name, _, number = spec.partition(":")
        self.type = name
        self.index = int(number) if number else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other) if is_device(other) else None
        # cpu and cpu:0 are one device here (lenient: PyTorch tells them apart)
        return isinstance(other, device) and other.type == self.type and (
            other.index is None or self.index is None or other.index == self.index)

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def check(where: Any) -> None:
    """Refuse to put data on a device other than the CPU (a str or a device)."""
    if where is None:
        return
    if device(where).type != "cpu":
        raise RuntimeError(f"tinygrad_cnn runs on the CPU only (NumPy arrays); cannot move data "
                           f"to {str(device(where))!r}. Use 'cpu' (torch.cuda.is_available() and "
                           "torch.accelerator.is_available() are False here)")


CPU = device()


def is_device(value: Any) -> bool:
    return isinstance(value, device) or (
        isinstance(value, str) and value.split(":")[0] in _TYPES)


def dtype_asked(args: tuple, kwargs: dict, who: str) -> Any:
    """The dtype in PyTorch's `to(...)` arguments (None: keep the dtype): to(dtype),
    to(device), to(device, dtype), to(tensor) (its dtype), and the keywords dtype=, device=,
    non_blocking=, copy= (Tensor.to makes the copy)."""
    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{who}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    if len(args) > 2:
        raise TypeError(f"{who}() takes a device, a dtype or both, got {len(args)} arguments")
    dtype = kwargs.get("dtype")
    check(kwargs.get("device"))
    for arg in args:
        if is_device(arg):
            check(arg)
        elif hasattr(arg, "_requires_grad"):  # to(other): other's dtype (and device)
            dtype = arg.dtype
        else:
            dtype = arg
    return dtype  # the cast checks it


class cuda:  # noqa: N801 (PyTorch's `torch.cuda.is_available()`)
    """No CUDA here: `cuda.is_available()` is False, so `"cuda" if ... else "cpu"` picks the CPU."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Nothing to seed without CUDA (PyTorch ignores it then too)."""

    manual_seed_all = manual_seed
