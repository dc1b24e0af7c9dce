"""The Tensor: an ndarray plus the graph that made it, with one short method per op.

One class in one file, in sections: construction, NumPy interop, attributes, autograd,
factories, then the ops by family (each method one call into `ops`), in-place updates and
devices. The graph itself (the node's fields, `Function.apply`, `backward`) is the engine's
(engine.py), which `Tensor` extends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import autograd, devices, engine, inplace, interop, ops, rng
from .engine import Function, Node, VersionCounter
from .ops._args import normalize_axis, numpy_names
from .ops.promotion import DtypeError
from .ops.shapes import number, sizes

Scalar = int | float
Axis = int | tuple[int, ...] | None
_GRAD_ADVICE = ("Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead.")


class Tensor(Node):
    """An n-dimensional array that records the ops applied to it, so `backward()` can derive
    gradients. `Tensor(data)` converts scalars, nested lists and arrays to float32 by default;
    an ndarray of the requested dtype is used as is, without a copy (a Tensor is copied)."""

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    # ----- construction -----------------------------------------------------------------------
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

    @staticmethod
    def _from_op(data: Any, ctx: Function | None, base: Node | None = None) -> Tensor:
        """Wrap an op's output without the checks of `__init__` (the hot path; always a Tensor,
        also for a Parameter's ops). The output of a view op (`base` given) that shares base's
        memory shares its version counter too."""
        out = Tensor.__new__(Tensor)
        data = data if type(data) is np.ndarray else np.asarray(data)
        if base is not None and np.may_share_memory(data, base.data):
            out._wrap(data, ctx, base._version_counter)
            out._is_view = True
        else:
            out._wrap(data, ctx, VersionCounter())
        return out

    @staticmethod
    def _constant(value: Any, inputs: Sequence[Any]) -> Tensor:
        """A non-Tensor op input. Python scalars and float arrays take the float dtype of the
        first Tensor input, so `x * 2.0` or `x @ float64_array` keep x float32; integer and
        bool arrays (labels, masks) keep theirs."""
        array = interop.as_array(value, None, "an op input")
        if array.dtype.kind == "f" or isinstance(value, (bool, int, float)):
            ref = next((x for x in inputs if isinstance(x, Node)), None)
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
        """The op (its context) that produced this tensor, or None for a leaf; its
        `next_functions` lead back through the graph, as PyTorch's autograd tutorial walks it."""
        return self._ctx

    @property
    def grad(self) -> Tensor | None:
        """d(root)/d(self), accumulated by backward(); None before."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # a float here would only fail at the next backward, far from the assignment
        if value is not None and not isinstance(value, Node):
            raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                            f"type {type(value).__name__}")
        if value is not None and value.shape != self.shape:
            raise RuntimeError(f"assigned grad has data of a different size: {value.shape}, the "
                               f"tensor has shape {self.shape}")
        if value is not None and value.dtype != self.dtype:
            raise RuntimeError(f"assigned grad has data of a different type: {value.dtype}, the "
                               f"tensor has dtype {self.dtype}")
        self._grad = value

    def __index__(self) -> int:
        """A one-element integer tensor as a Python index (`classes[pred.argmax()]`)."""
        if self.data.size != 1 or self.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            f"index; this one has shape {self.shape} and dtype {self.dtype}")
        return int(self.data.reshape(()))

    def type(self, dtype: Any = None) -> Any:
        """PyTorch's type(): the type's name ('torch.FloatTensor') without an argument, else
        the tensor cast to `dtype` (a dtype or such a name)."""
        if dtype is None:
            return f"torch.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
        if isinstance(dtype, str) and dtype.startswith("torch."):
            names = {name: dt for dt, name in _TYPE_NAMES.items()}
            dtype = names.get(dtype[len("torch."):], dtype)
        return self.to(dtype)

    def __str__(self) -> str:
        """What print() shows, in PyTorch's form: `tensor([1.5000, 3.0000])`, then the dtype when
        it is not float32, int64 or bool, and `grad_fn=<...>` or `requires_grad=True`
        (repr() keeps our own form, with the shape)."""
        return _torch_str(self)

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" on a one-element tensor formats its number, and f"{label}" on a 0-d
        one prints the number alone (`Label: 5`), as PyTorch's."""
        if self.ndim == 0 or (spec and self.data.size == 1):
            return format(self.data.item(), spec)
        return format(str(self), spec)

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

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along the first dimension (views, as PyTorch's unbind)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

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
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d self / d leaf into `.grad` of every leaf that requires grad (only into
        `inputs`, when given), PyTorch's backward. The walk is engine.backward. With
        `create_graph=True` the gradients are themselves recorded (`.grad` has a graph), so they
        can be differentiated again; retain_graph then defaults to True, as PyTorch."""
        if not self._requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the graph "
                "that made it has requires_grad=True (or it was made under no_grad())")
        create_graph = bool(create_graph)
        seed = self._seed(gradient, "backward(gradient=...)", create_graph)
        retain_graph = create_graph if retain_graph is None else bool(retain_graph)
        if inputs is None:
            engine.backward(self, seed, retain_graph, create_graph=create_graph)
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        autograd.require_grad("backward(inputs=...): input", inputs)
        capture = autograd.Capture(inputs)
        engine.backward(self, seed, retain_graph, capture, create_graph)
        for t in inputs:
            if capture.of(t) is not None:
                t._accumulate_grad(capture.of(t))

    def _seed(self, gradient: Any, what: str, graph: bool = False) -> Any:
        """d self / d self for backward: ones for a one-element tensor, else `gradient`; with
        `graph` (create_graph) a Tensor, `gradient` itself when it requires grad, so the
        gradients are differentiable with respect to it too, as PyTorch's."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element output, but this tensor "
                    f"has shape {self.shape}: reduce it first (e.g. .sum()) or pass gradient= "
                    "of that shape")
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = interop.as_array(getattr(gradient, "data", gradient), self.dtype, what)
        if seed.shape != self.shape:
            raise ValueError(f"{what} has shape {seed.shape}, the tensor has shape {self.shape}")
        if not graph:
            return seed
        if isinstance(gradient, Tensor) and gradient.requires_grad:
            return gradient if gradient.dtype == self.dtype else gradient.to(self.dtype)
        return Tensor._from_op(seed, None)

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf tensor after backward() (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data (and version counter, as PyTorch), cut from the graph."""
        return Tensor._from_op(self.data, None, self)

    def detach_(self) -> Tensor:
        """Cut this tensor itself from the graph: it becomes a leaf that needs no gradient."""
        if self._is_view:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._ctx, self._requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook: Callable) -> Any:
        """Call hook(grad) each time this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle whose remove() takes the hook off."""
        return autograd.register_hook(self, hook)

    # the engine's extension points (engine.Node): hooks, and in-place history (inplace.py)
    def _run_hooks(self, grad: np.ndarray) -> np.ndarray:
        return autograd.run_hooks(self, grad)

    def _check_saved(self, ctx: Function) -> None:
        inplace.check_versions(ctx, self)

    def _as_it_was(self, version: int, ctx: Function, reader: Node, read_late: set) -> Node:
        return inplace.as_it_was(self, version, ctx, reader, read_late)

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
        fill = interop.as_array(number(value, "full"), dtype, "full")  # 300 in int8: an error
        return Tensor(np.full(_shape((shape,)), fill, fill.dtype), requires_grad, dtype)

    @staticmethod
    def randn(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        """Standard normal samples from the generator seeded by `tinygrad_cnn.manual_seed`."""
        _float_samples("randn", dtype)
        data = rng.generator().standard_normal(_shape(shape))
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def rand(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
        """Uniform samples in [0, 1)."""
        _float_samples("rand", dtype)
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
               requires_grad: bool = False, dtype: Any = None) -> Tensor:
        """PyTorch's rule for the dtype: int64 when start, stop and step are all integers, else
        float32 (torch.arange and Tensor.arange agree)."""
        if dtype is None:
            ints = all(isinstance(v, (np.integer, int)) and not isinstance(v, bool)
                       for v in (start, step) + (() if stop is None else (stop,)))
            dtype = np.int64 if ints else np.float32
        start, stop = (0, start) if stop is None else (start, stop)
        if number(step, "arange") == 0:
            raise ValueError("arange: step must be nonzero")
        if (number(stop, "arange") - number(start, "arange")) * step < 0:
            raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step "
                               f"sign (start={start}, end={stop}, step={step})")
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

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        """A new tensor of `size`, with this tensor's dtype unless `dtype` is given (PyTorch's
        new_* methods; new_empty is zeros here)."""
        return self.new_full(_dims(size), 0, dtype, requires_grad, device)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                 device: Any = None) -> Tensor:
        return self.new_full(_dims(size), 1, dtype, requires_grad, device)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        return self.new_full(_dims(size), 0, dtype, requires_grad, device)

    def new_full(self, size: Any, fill_value: Scalar, dtype: Any = None,
                 requires_grad: bool = False, device: Any = None) -> Tensor:
        devices.check(device)
        return Tensor.full(size, fill_value, requires_grad=requires_grad,
                           dtype=self.dtype if dtype is None else dtype)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False,
                   device: Any = None) -> Tensor:
        """A copy of `data`, with this tensor's dtype unless `dtype` is given."""
        devices.check(device)
        array = np.array(data.data if isinstance(data, Node) else data)
        return Tensor(array, requires_grad, dtype=self.dtype if dtype is None else dtype)

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

    def eq(self, other: Any) -> Tensor:
        return ops.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return ops.ne(self, other)

    def lt(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def gt(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return ops.ge(self, other)

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

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    def clone(self) -> Tensor:
        return ops.clone(self)

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else ops.clone(self)

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    # ----- dtypes, Python numbers, bitwise logic (PyTorch's names) ----------------------------
    def float(self) -> Tensor:
        return ops.cast(self, np.float32)

    def double(self) -> Tensor:
        return ops.cast(self, np.float64)

    def half(self) -> Tensor:
        return ops.cast(self, np.float16)

    def long(self) -> Tensor:
        return ops.cast(self, np.int64)

    def int(self) -> Tensor:
        return ops.cast(self, np.int32)

    def bool(self) -> Tensor:
        return ops.cast(self, np.bool_)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __invert__(self) -> Tensor:
        return ops.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return ops.bitwise_and(other, self)

    def __or__(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return ops.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(other, self)

    # ----- activations --------------------------------------------------------------------------
    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return ops.leaky_relu(self, negative_slope)

    def dropout(self, p: float = 0.5, training: bool = True) -> Tensor:
        return ops.dropout(self, p, training)

    # ----- movement -----------------------------------------------------------------------------
    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return ops.permute(self, tuple(reversed(range(self.data.ndim))))

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.reshape(self, _dims(shape))

    view = reshape

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims_: int | Sequence[int]) -> Tensor:
        return ops.permute(self, _dims(dims_))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.expand(self, _dims(shape))

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def pad(self, pad: Any, value: Scalar = 0.0) -> Tensor:
        return ops.pad(self, pad, value)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # ----- linear algebra and CNN layers --------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def mm(self, mat2: Any) -> Tensor:
        return ops.mm(self, mat2)

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

    # ----- trigonometry and rounding ------------------------------------------------------------
    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def round(self, decimals: int = 0) -> Tensor:
        return ops.round(self, decimals)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def floor_divide(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def remainder(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    # ----- layout: flips, repeats, splits -------------------------------------------------------
    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        return ops.flip(self, _dims(dims))

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        return ops.repeat(self, _dims(sizes))

    def t(self) -> Tensor:
        return ops.t(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 (PyTorch's name): the last two dims swapped
        return ops.transpose(self, -2, -1)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return ops.narrow(self, dim, start, length)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def split(self, split_size_or_sections: int | Sequence[int],
              dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size_or_sections, dim)

    # ----- indexing by arrays and masks ---------------------------------------------------------
    def gather(self, dim: int, index: Any) -> Tensor:
        return ops.gather(self, dim, index)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return ops.index_select(self, dim, index)

    def scatter(self, dim: int, index: Any, src: Any = None, value: Any = None) -> Tensor:
        return ops.scatter(self, dim, index, src, value)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return ops.masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        return ops.where(condition, self, other)

    # ----- reductions: PyTorch's dim and keepdim (NumPy's axis and keepdims accepted too) -----
    @numpy_names
    def prod(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.prod(self, dim, keepdim)

    @numpy_names
    def logsumexp(self, dim: Axis, keepdim: bool = False) -> Tensor:
        return ops.logsumexp(self, dim, keepdim)

    @numpy_names
    def norm(self, p: Any = "fro", dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.norm(self, p, dim, keepdim)

    @numpy_names
    def cumsum(self, dim: int) -> Tensor:
        return ops.cumsum(self, dim)

    @numpy_names
    def all(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.all(self, dim, keepdim)

    @numpy_names
    def any(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.any(self, dim, keepdim)

    @numpy_names
    def sum(self, dim: Axis = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """PyTorch's sum; `dtype` casts the input first (int32 summed as int64, say)."""
        return ops.sum(self if dtype is None else self.to(dtype), dim, keepdim)

    @numpy_names
    def mean(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.mean(self, dim, keepdim)

    @numpy_names
    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Of all elements: 0-d; along an int dim: (values, indices); of a tensor: maximum."""
        return ops.max(self, dim, keepdim)

    @numpy_names
    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.min(self, dim, keepdim)

    @numpy_names
    def amax(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.amax(self, dim, keepdim)

    @numpy_names
    def amin(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return ops.amin(self, dim, keepdim)

    @numpy_names
    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        return ops.var(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        return ops.std(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.argmax(self, dim, keepdim)

    @numpy_names
    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.argmin(self, dim, keepdim)

    # ----- softmax and dims ---------------------------------------------------------------------
    @numpy_names
    def softmax(self, dim: int = -1) -> Tensor:
        return ops.softmax(self, dim)

    @numpy_names
    def log_softmax(self, dim: int = -1) -> Tensor:
        return ops.log_softmax(self, dim)

    @numpy_names
    def squeeze(self, dim: Axis = None) -> Tensor:
        return ops.squeeze(self, dim)

    @numpy_names
    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    # ----- in-place updates (inplace.py has PyTorch's rules) ---------------------------------
    def __iadd__(self, other: Any) -> Tensor:
        return inplace.update(self, "add_", ops.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return inplace.update(self, "sub_", ops.sub, other)

    def __imul__(self, other: Any) -> Tensor:
        return inplace.update(self, "mul_", ops.mul, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return inplace.update(self, "div_", ops.div, other)

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return inplace.update(self, "add_", ops.add, other if alpha == 1 else alpha * other)

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return inplace.update(self, "sub_", ops.sub, other if alpha == 1 else alpha * other)

    def mul_(self, other: Any) -> Tensor:
        return inplace.update(self, "mul_", ops.mul, other)

    def div_(self, other: Any) -> Tensor:
        return inplace.update(self, "div_", ops.div, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return inplace.update(self, "clamp_", ops.clip, min, max)

    clip_ = clamp_

    def scatter_(self, dim: int, index: Any, src: Any = None, value: Any = None) -> Tensor:
        return inplace.update(self, "scatter_", ops.scatter, dim, index, src, value)

    def copy_(self, src: Any) -> Tensor:
        return inplace.update(self, "copy_", ops.copy_into, src)

    def fill_(self, value: Scalar) -> Tensor:
        return inplace.update(self, "fill_", ops.copy_into, inplace.scalar(value, "fill_"))

    def zero_(self) -> Tensor:
        return inplace.update(self, "zero_", ops.copy_into, 0)

    def __setitem__(self, index: Any, value: Any) -> None:
        inplace.setitem(self, index, value)

    # ----- devices: the CPU only --------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's to: to(dtype), to("cpu"), to(device, dtype), to(other), dtype=, device=;
        the tensor itself when nothing changes. Devices other than the CPU raise."""
        dtype = devices.dtype_asked(args, kwargs, "to")
        out = self if dtype is None else ops.cast(self, dtype)
        return ops.clone(out) if kwargs.get("copy") and out is self else out

    def cpu(self) -> Tensor:
        return self

    @property
    def device(self) -> devices.device:
        return devices.CPU

    def is_contiguous(self) -> bool:
        return self.data.flags.c_contiguous

    @property
    def size(self) -> _SizeAttribute:
        out = _SizeAttribute(self.data.size)
        out.shape = self.data.shape
        return out


def _shape(args: Sequence[Any]) -> tuple[int, ...]:
    """A factory's sizes: f(2, 3) or f((2, 3)), each a non-negative int."""
    return sizes(_dims(args), "Tensor factory")


def _float_samples(name: str, dtype: Any) -> None:
    """randn and rand draw floats: an integer dtype would truncate them (PyTorch refuses too)."""
    if np.dtype(interop.as_dtype(dtype)).kind != "f":
        raise RuntimeError(f"{name}: not implemented for {np.dtype(dtype)} (PyTorch refuses "
                           "integer dtypes for random floats too); draw floats, then convert")


def _dims(args: Sequence[Any]) -> tuple[Any, ...]:
    """Accept both f(2, 3) and f((2, 3)), like PyTorch; the op checks each entry."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# PyTorch's legacy type names, for Tensor.type()
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_PLAIN_DTYPES = ("float32", "int64", "bool")  # the dtypes PyTorch's print leaves unsaid


def _torch_str(t: Tensor) -> str:
    """PyTorch's print form: 4 decimals, or none when every value is whole (`1., 2.`);
    NumPy's switch to scientific notation is PyTorch's (a value under 1e-4, over 1e8, or a
    spread over 1000). Rows wrap where PyTorch's do: it fits (80 - 6 - ndim) // (width + 2)
    values on a line, which NumPy's greedy wrap gives with a line width of 79 + ndim."""
    data = t.data
    shown = _shown_values(data)
    whole = data.dtype.kind != "f" or not data.size or bool(
        np.all(np.isfinite(shown) & (shown == np.round(shown))))
    width = 5 if data.dtype == np.bool_ and not data.all() else 4  # " True" only beside False
    values = np.array2string(data, precision=4, separator=", ", prefix="tensor(",
                             floatmode="maxprec" if whole else "fixed", threshold=1000,
                             edgeitems=3, max_line_width=79 + max(data.ndim, 1),
                             formatter={"bool": lambda v: f"{v!s:>{width}}"})
    values = values.replace(", ...,", ",  ...,")  # PyTorch's summarised row: " ..." as a value
    extra = [] if data.dtype.name in _PLAIN_DTYPES else [f"dtype=torch.{data.dtype.name}"]
    if t._ctx is not None:
        extra.append(f"grad_fn=<{t._ctx.backward_name}>")
    elif t.requires_grad:
        extra.append("requires_grad=True")
    return _add_suffixes(f"tensor({values}", extra) + ")"


def _shown_values(data: np.ndarray) -> np.ndarray:
    """The values a print shows, from which PyTorch (and NumPy) choose the format: over 1000
    values, only the first and last 3 along each dimension."""
    if data.size <= 1000:
        return data
    for axis in range(data.ndim):
        if data.shape[axis] > 6:
            data = np.concatenate([data.take(range(3), axis), data.take(range(-3, 0), axis)], axis)
    return data


def _add_suffixes(text: str, suffixes: list[str]) -> str:
    """PyTorch's placement of `dtype=`/`grad_fn=`: after a comma on the last line while that
    line stays within 80 columns (counted as PyTorch counts it), else on a new line."""
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > 80:
            text += ",\n" + " " * len("tensor(") + suffix
            last_line = len("tensor(") + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text


class Size(tuple):
    """PyTorch's `torch.Size`, what `t.size()` returns: a tuple of the dimensions that prints as
    `torch.Size([5, 3])`; its slices are Sizes too."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def __getitem__(self, index: Any) -> Any:
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class _SizeAttribute(int):
    """`t.size`: the number of elements (NumPy's `size`), and callable as PyTorch's `t.size()`
    (the shape, a Size) and `t.size(dim)` (one dimension)."""

    shape: tuple[int, ...]

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self.shape)
        if not self.shape:
            raise IndexError(f"size: dimension specified as {dim} but tensor has no dimensions")
        return self.shape[normalize_axis(dim, self.shape, "size")]
