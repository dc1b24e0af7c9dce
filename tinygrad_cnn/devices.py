"""Where tensors live: the CPU, always (NumPy). PyTorch code moves models and batches with
`.to(device)` and asks `cuda.is_available()`; here "cpu" is accepted and leaves everything where
it is, and any other device is a clear error, so such code runs unchanged on the CPU."""

from __future__ import annotations

from typing import Any

# PyTorch's device types: a string naming one is a device, any other string a dtype name
_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "vulkan", "ipu", "hpu", "mtia")


class device:  # noqa: N801 (PyTorch's name: tg.device("cpu"))
    """`device("cpu")`, `device("cpu:0")` or `device("cpu", 0)`: the only device there is."""

    type = "cpu"
    index = None

    def __init__(self, spec: Any = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            return
        name = spec.split(":")[0] if isinstance(spec, str) else None
        if name != "cpu":
            raise RuntimeError(f"tinygrad_cnn runs on the CPU only (NumPy arrays); got device "
                               f"{spec!r}{'' if index is None else f', {index}'}. Use 'cpu', "
                               "or leave out the .to(device) call")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) or (isinstance(other, str) and other.split(":")[0]
                                             == "cpu")

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"


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
    if kwargs.get("device") is not None:
        device(kwargs["device"])
    for arg in args:
        if is_device(arg):
            device(arg)  # raises for anything but the CPU
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
