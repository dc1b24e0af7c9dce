"""The Tensor: an ndarray plus the graph that made it (its op methods are in tensor_ops.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import rng
from .autograd import Function
from .inplace import InPlaceOps, VersionCounter
from .ops.promotion import DtypeError
from .ops.shapes import number, sizes
from .tensor_more import MoreOps
from .tensor_ops import TensorOps, dims
from .tensor_torch import TorchOps

Scalar = int | float
_GRAD_ADVICE = ("Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead.")


class Tensor(TorchOps, TensorOps, MoreOps, InPlaceOps):
    """An n-dimensional array that records the ops applied to it, so `backward()` can derive
    gradients. `Tensor(data)` converts scalars, nested lists and arrays to float32 by default;
    an ndarray of the requested dtype is used as is, without a copy (a Tensor is copied)."""

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator
    _is_view = False  # True on the outputs of view ops (set in Function.apply), see inplace.py
    _earlier: list | tuple = ()  # (version, before) per in-place update in grad mode: inplace.py
    _hooks: tuple = ()  # register_hook's functions, run on this tensor's gradient (gradients.py)

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = np.float32,
        name: str | None = None,
    ) -> None:
        self._wrap(interop.as_array(data, dtype), None, VersionCounter())
        self.name = name
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data: Any, ctx: Function | None, base: Tensor | None = None) -> Tensor:
        """Wrap an op's output without the checks of `__init__` (the hot path). The output of a
        view op (`base` given) that shares base's memory shares its version counter too."""
        out = cls.__new__(cls)
        data = data if type(data) is np.ndarray else np.asarray(data)
        if base is not None and np.may_share_memory(data, base.data):
            out._wrap(data, ctx, base._version_counter)
            out._is_view = True
        else:
            out._wrap(data, ctx, VersionCounter())
        return out

    def _wrap(self, data: np.ndarray, ctx: Function | None, version: VersionCounter) -> None:
        """Every field of a Tensor, set in this one place by both constructors."""
        self.data: np.ndarray = data
        self.grad: Tensor | None = None
        self.name: str | None = None
        self._ctx = ctx
        self._retains_grad = False
        self._requires_grad = ctx is not None
        self._version_counter = version  # shared with views; bumped by every in-place update

    @staticmethod
    def _constant(value: Any, inputs: Sequence[Any]) -> Tensor:
        """A non-Tensor op input. Python scalars and float arrays take the float dtype of the
        first Tensor input, so `x * 2.0` or `x @ float64_array` keep x float32; integer and
        bool arrays (labels, masks) keep theirs."""
        array = interop.as_array(value, None, "an op input")
        if array.dtype.kind == "f" or isinstance(value, (bool, int, float)):
            ref = next((x for x in inputs if isinstance(x, Tensor)), None)
            if ref is not None and ref.dtype.kind == "f":
                return Tensor(array, dtype=ref.dtype)
        return Tensor(array, dtype=None)

    # ----- NumPy interop, as PyTorch: the data, unless the graph would be lost silently ----------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError(_GRAD_ADVICE)
        if copy:
            return np.array(self.data, dtype=dtype)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """`ndarray + Tensor` (and np.add etc.) run our op; other ufuncs (np.exp(t)) run on the
        data and give an ndarray, or PyTorch's numpy() error for a tensor that requires grad."""
        return interop.ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        """np.sum(t), np.concatenate([t, u]), ...: NumPy's function on the data, an ndarray."""
        return interop.function(func, args, kwargs)

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError(_GRAD_ADVICE)
        return self.data

    # ----- attributes -------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {value!r:.40}")
        if value and not np.issubdtype(self.data.dtype, np.floating):
            raise DtypeError(
                f"only floating point tensors can require gradients; this one is {self.data.dtype}"
            )
        if self._ctx is not None and not value:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self._requires_grad = bool(value)
        if self._ctx is None:
            self._retains_grad = self._requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        """The op (its context) that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def _version(self) -> int:
        """PyTorch's `_version`: how many in-place updates this data (and its views) had."""
        return self._version_counter.value

    @_version.setter
    def _version(self, value: int) -> None:
        self._version_counter.value = value

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor; this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() on the data or reduce it first"
            )
        return bool(self.data)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self._ctx is not None:
            parts.append(f"op={self._ctx.name}")
        elif self.requires_grad:
            parts.append("requires_grad=True")
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        values = np.array2string(self.data, precision=4, threshold=8, edgeitems=2)
        return f"Tensor({values}, {', '.join(parts)})"

    # ----- autograd -----------------------------------------------------------------------------
    def _accumulate_grad(self, grad: np.ndarray) -> None:
        """`.grad += grad`, into a new array (grad has this tensor's shape and dtype already)."""
        if self.grad is None:
            # copy: the same array may be handed to several inputs (x + y) or kept by an op
            self.grad = Tensor._from_op(grad.copy(), None)
        else:
            self.grad = Tensor._from_op(self.grad.data + grad, None)

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf tensor after backward() (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data (and version counter, as PyTorch), cut from the graph."""
        return Tensor._from_op(self.data, None, self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    # ----- factories ----------------------------------------------------------------------------
    @staticmethod
    def zeros(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        return Tensor(np.zeros(_shape(shape), dtype), requires_grad, dtype)

    @staticmethod
    def ones(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        return Tensor(np.ones(_shape(shape), dtype), requires_grad, dtype)

    @staticmethod
    def full(shape: int | Sequence[int], value: Scalar, requires_grad: bool = False,
             dtype: Any = np.float32) -> Tensor:
        return Tensor(np.full(_shape((shape,)), number(value, "full"), dtype), requires_grad,
                      dtype)

    @staticmethod
    def randn(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        """Standard normal samples from the generator seeded by `tinygrad_cnn.manual_seed`."""
        data = rng.generator().standard_normal(_shape(shape))
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def rand(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        """Uniform samples in [0, 1)."""
        return Tensor(rng.generator().random(_shape(shape)), requires_grad, dtype)

    @staticmethod
    def uniform(*shape: int, low: float = 0.0, high: float = 1.0, requires_grad: bool = False,
                dtype: Any = np.float32) -> Tensor:
        """Uniform samples in [low, high)."""
        if not number(low, "uniform") <= number(high, "uniform"):
            raise ValueError(f"uniform: expects a [low, high) range, but low={low} > high={high}")
        data = rng.generator().uniform(low, high, _shape(shape))
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def eye(n: int, m: int | None = None, requires_grad: bool = False,
            dtype: Any = np.float32) -> Tensor:
        n, m = sizes((n, n if m is None else m), "eye")
        return Tensor(np.eye(n, m, dtype=dtype), requires_grad, dtype)

    @staticmethod
    def arange(start: Scalar, stop: Scalar | None = None, step: Scalar = 1,
               requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        start, stop = (0, start) if stop is None else (start, stop)
        if number(step, "arange") == 0:
            raise ValueError("arange: step must be nonzero")
        data = np.arange(number(start, "arange"), number(stop, "arange"), step)
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def zeros_like(other: Tensor, requires_grad: bool = False) -> Tensor:
        return Tensor(np.zeros_like(interop.as_array(other, None, "zeros_like")), requires_grad,
                      dtype=None)

    @staticmethod
    def ones_like(other: Tensor, requires_grad: bool = False) -> Tensor:
        return Tensor(np.ones_like(interop.as_array(other, None, "ones_like")), requires_grad,
                      dtype=None)


def _shape(args: Sequence[Any]) -> tuple[int, ...]:
    """A factory's sizes: f(2, 3) or f((2, 3)), each a non-negative int."""
    return sizes(dims(args), "Tensor factory")


from . import interop  # noqa: E402  (interop needs Tensor defined)
