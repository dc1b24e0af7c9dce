"""The Tensor: an ndarray plus the graph that made it, and its thin op methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import autograd, ops, rng
from .autograd import Function

Axis = int | tuple[int, ...] | None
Scalar = int | float


class Tensor:
    """An n-dimensional array that records the ops applied to it, so `backward()` can derive
    gradients. `Tensor(data)` converts scalars, nested lists and arrays to float32 by default;
    an ndarray of the requested dtype is used as is, without a copy."""

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = np.float32,
        name: str | None = None,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data: np.ndarray = np.asarray(data, dtype=dtype)
        self.grad: Tensor | None = None
        self.name = name
        self._ctx: Function | None = None
        self._retains_grad = False
        self._version = 0  # bumped by in-place updates (optimizer steps, load_state_dict)
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data: Any, ctx: Function | None) -> Tensor:
        """Wrap an op's output without the checks of `__init__` (the hot path)."""
        out = cls.__new__(cls)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out.name = None
        out._ctx = ctx
        out._retains_grad = False
        out._requires_grad = ctx is not None
        out._version = 0
        return out

    @staticmethod
    def _constant(value: Any, inputs: Sequence[Any]) -> Tensor:
        """A non-Tensor op input. Python scalars and float arrays take the float dtype of the
        first Tensor input, so `x * 2.0` or `x @ float64_array` keep x float32; integer and
        bool arrays (labels, masks) keep theirs."""
        if isinstance(value, (bool, int, float)) or np.asarray(value).dtype.kind == "f":
            ref = next((x for x in inputs if isinstance(x, Tensor)), None)
            if ref is not None and ref.dtype.kind == "f":
                return Tensor(value, dtype=ref.dtype)
        return Tensor(value, dtype=None)

    # ----- attributes -------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
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
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        """The op (its context) that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    def numpy(self) -> np.ndarray:
        return self.data

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
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d self / d leaf into `.grad` of every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the graph "
                "that made it has requires_grad=True (or it was made under no_grad())"
            )
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without grad needs a one-element output, but this tensor has "
                    f"shape {self.shape}: reduce it first (e.g. .sum()) or pass grad= of that shape"
                )
            seed = np.array(1, dtype=self.dtype).reshape(self.shape)  # 3x cheaper than np.ones
        else:
            seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward(grad=...) has shape {seed.shape}, tensor {self.shape}")
        autograd.backward(self, seed, retain_graph=retain_graph)

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
        """The same data, cut from the graph."""
        return Tensor(self.data, dtype=None)

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
        return Tensor(np.full(_shape((shape,)), value, dtype), requires_grad, dtype)

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
        data = rng.generator().uniform(low, high, _shape(shape))
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def eye(n: int, m: int | None = None, requires_grad: bool = False,
            dtype: Any = np.float32) -> Tensor:
        return Tensor(np.eye(n, m, dtype=dtype), requires_grad, dtype)

    @staticmethod
    def arange(start: Scalar, stop: Scalar | None = None, step: Scalar = 1,
               requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        data = np.arange(start, step=step) if stop is None else np.arange(start, stop, step)
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def zeros_like(other: Tensor, requires_grad: bool = False) -> Tensor:
        return Tensor(np.zeros_like(other.data), requires_grad, dtype=None)

    @staticmethod
    def ones_like(other: Tensor, requires_grad: bool = False) -> Tensor:
        return Tensor(np.ones_like(other.data), requires_grad, dtype=None)

    # ----- elementwise --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __lt__(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.ne(self, other)

    def add(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def pow(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def clip(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:  # noqa: A002
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    # ----- activations --------------------------------------------------------------------------
    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return ops.leaky_relu(self, negative_slope)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.log_softmax(self, axis)

    def dropout(self, p: float = 0.5, training: bool = True) -> Tensor:
        return ops.dropout(self, p, training)

    # ----- reductions ---------------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis, keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis, keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        return ops.var(self, axis, keepdims, correction)

    def std(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        return ops.std(self, axis, keepdims, correction)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.argmax(self, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.argmin(self, axis, keepdims)

    # ----- movement -----------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.reshape(self, _shape(shape))

    view = reshape

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        return ops.permute(self, _shape(dims))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, axis: Axis = None) -> Tensor:
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return ops.unsqueeze(self, axis)

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.expand(self, _shape(shape))

    def pad(self, pad_width: Any, value: Scalar = 0.0) -> Tensor:
        return ops.pad(self, pad_width, value)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # ----- linear algebra and CNN layers --------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def linear(self, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        return ops.linear(self, weight, bias)

    def conv2d(self, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
               padding: Any = 0, dilation: Any = 1, groups: int = 1,
               algorithm: str = "auto") -> Tensor:
        return ops.conv2d(self, weight, bias, stride, padding, dilation, groups, algorithm)

    def max_pool2d(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        return ops.max_pool2d(self, kernel_size, stride, padding)

    def avg_pool2d(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        return ops.avg_pool2d(self, kernel_size, stride, padding)


def _shape(dims: Sequence[Any]) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)), like PyTorch."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(int(d) for d in dims[0])
    return tuple(int(d) for d in dims)
