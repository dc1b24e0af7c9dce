"""PyTorch's device switches, answered for a CPU-only library: `torch.accelerator` (none
available), `torch.backends.mps` and `torch.backends.cudnn`, `set_default_device` and
`get_default_device`. So the device lines of PyTorch's pages pick the CPU and run as written
(`tinygrad_cnn.devices` has the `device` class and the one check)."""

from __future__ import annotations

from typing import Any

from ..devices import check, device


class accelerator:  # noqa: N801 (PyTorch's `torch.accelerator` module)
    """No accelerator here: `is_available()` is False, `current_accelerator()` is None."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def current_accelerator(check_available: bool = False) -> device | None:
        return None

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def synchronize(device: Any = None) -> None:
        """Nothing runs asynchronously on the CPU."""


class _MPS:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


class _CuDNN:
    """Settings scripts write (`torch.backends.cudnn.benchmark = True`) are kept and unused."""

    enabled, benchmark, deterministic = True, False, False

    @staticmethod
    def is_available() -> bool:
        return False


class backends:  # noqa: N801 (PyTorch's `torch.backends` package)
    mps = _MPS()
    cudnn = _CuDNN()


def set_default_device(where: Any) -> None:
    """PyTorch's default device for new tensors: the CPU (or None) is accepted, any other
    device raises (there is no other device to put tensors on)."""
    check(where)


def get_default_device() -> device:
    return device("cpu")
