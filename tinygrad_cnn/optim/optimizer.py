"""Optimizers: the Optimizer base (param groups, state dicts), SGD, Adam and AdamW (RMSprop and
Adagrad are in adaptive.py)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..ops import compiled
from ..tensor import Tensor


class Optimizer:
    """Holds `param_groups` (dicts with 'params' and hyper-parameters such as 'lr', which
    schedulers rewrite) and per-parameter `state`. `step()` updates each parameter's array in
    place from its `.grad`, skipping parameters without one; it never touches `.grad`."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        params = _ordered(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}  # id(param) -> buffers and step counts
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a param group must be a dict with a 'params' entry, got "
                            f"{group!r:.80}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else _ordered(params)
        for p in params:
            # a frozen parameter (requires_grad=False) is accepted and skipped: it gets no .grad
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, but one of the "
                                f"params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("a parameter appears in more than one parameter group")
        self.param_groups.append({**self.defaults, **group, "params": params})

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else Tensor(
                    np.zeros_like(p.data), dtype=None)

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p.data, p.grad.data, self.state.setdefault(id(p), {}), group)
                    p._version += 1  # graphs recorded before this step must not backward

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- state dicts: only arrays, numbers and lists, so tinygrad_cnn.save needs no pickle ----
    def state_dict(self) -> dict[str, Any]:
        """{'state': {'0': {...}}, 'param_groups': [{..., 'params': [0, 1]}]}: parameters are
        numbered in group order, as PyTorch; arrays are copies."""
        index = 0
        state: dict[str, Any] = {}
        groups = []
        for group in self.param_groups:
            numbers = []
            for p in group["params"]:
                if self.state.get(id(p)):
                    state[str(index)] = {key: value.copy() if isinstance(value, np.ndarray)
                                         else value for key, value in self.state[id(p)].items()}
                numbers.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": numbers})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and buffers saved by `state_dict` (the same parameters, in
        the same order, must have been passed to this optimizer). A dict of another shape (a
        missing or foreign key, a state for a parameter it does not have) raises ValueError
        naming the key, and leaves this optimizer as it was."""
        _check_keys(state_dict, {"state", "param_groups"}, type(self).__name__)
        groups = state_dict["param_groups"]
        if not isinstance(groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in groups):
            raise ValueError("loaded state dict's 'param_groups' should be a list of dicts with "
                             "'params'")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(groups)}, this optimizer has {len(self.param_groups)})")
        params = []
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(saved['params'])} "
                                 f"parameters, this optimizer's has {len(group['params'])})")
            params.extend(group["params"])
        if not isinstance(state_dict["state"], dict):
            raise ValueError("loaded state dict's 'state' should be a dict")
        new_state: dict[int, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            if not (str(key).isdigit() and int(key) < len(params) and isinstance(values, dict)):
                raise ValueError(f"loaded state dict has state for parameter {key!r}; this "
                                 f"optimizer numbers its parameters 0..{len(params) - 1}")
            p = params[int(key)]
            restored = {}
            for name, value in values.items():
                if isinstance(value, (np.ndarray, Tensor)):
                    value = np.array(value.data if isinstance(value, Tensor) else value,
                                     dtype=p.dtype)
                    if value.shape != p.shape:
                        raise ValueError(f"optimizer state {name!r} of parameter {key} has shape "
                                         f"{value.shape}, the parameter has shape {p.shape}")
                restored[name] = value
            new_state[id(p)] = restored
        self.state = new_state
        for saved, group in zip(groups, self.param_groups):
            for name, value in saved.items():
                if name != "params":
                    group[name] = tuple(value) if isinstance(value, list) else value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in group.items() if k != "params"]
        return "\n".join(lines) + "\n)"


def _ordered(params: Iterable[Any]) -> list[Any]:
    """The parameters as a list; a set is refused (its order changes between runs)."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                        "the ordering of tensors in sets will change between runs. Please use a "
                        "list instead.")
    try:
        return list(params)
    except TypeError:
        raise TypeError("params argument given to the optimizer should be an iterable of "
                        f"Tensors or dicts, but got {type(params).__name__}") from None


def _numbers(owner: str, **values: Any) -> None:
    """Hyper-parameters are real numbers (a string lr would fail at its first comparison)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{owner}: {name} should be a number, got {value!r}")


def _check_adam(owner: str, lr: Any, betas: Any, eps: Any, weight_decay: Any) -> None:
    """Adam's family's settings: numbers, betas a pair in [0, 1), the rest >= 0."""
    _numbers(owner, lr=lr, eps=eps, weight_decay=weight_decay)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas should be a pair (beta1, beta2), got {betas!r}")
    _numbers(owner, beta1=betas[0], beta2=betas[1])
    if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"{owner}: invalid lr={lr}, betas={betas}, eps={eps} or "
                         f"weight_decay={weight_decay}")


def _fits_kernels(p: np.ndarray, *arrays: np.ndarray) -> bool:
    """Whether the compiled tier's optimizer kernels take these arrays: the tier is on, and p is
    float32 or float64 and every array C-contiguous, of p's dtype and shape (else NumPy runs)."""
    if not (compiled.enabled() and p.dtype in _KERNEL_DTYPES):
        return False
    for a in (p, *arrays):
        if a.dtype != p.dtype or a.shape != p.shape or not a.flags.c_contiguous:
            return False
    return True


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_keys(state_dict: Any, expected: set[str], owner: str) -> None:
    """A loaded state dict has exactly the `expected` keys (ValueError naming the others)."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"{owner}.load_state_dict expects a dict, got {type(state_dict).__name__}")
    missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
    problems = []
    if missing:
        problems.append(f"Missing key(s): {', '.join(map(repr, missing))}")
    if unexpected:
        problems.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}")
    if problems:
        raise ValueError(f"Error(s) in loading state_dict for {owner}: {'; '.join(problems)}")


class SGD(Optimizer):
    """PyTorch's SGD: d = g + wd * p; with momentum, buf = d on the first step, then
    buf = momentum * buf + (1 - dampening) * d, and d = d + momentum * buf (nesterov) or buf;
    p -= lr * d."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        _numbers("SGD", lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr={lr}, momentum={momentum} or "
                             f"weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        buf = state.get("momentum_buffer")
        # plain SGD is one ufunc pair, faster than a kernel call (docs/benchmarks.md, issue 19)
        plain = group["momentum"] == 0 and group["weight_decay"] == 0
        if not plain and _fits_kernels(p, grad, *([] if buf is None else [buf])):
            self._compiled_update(p, grad, state, group)
            return
        d = grad if group["weight_decay"] == 0 else grad + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(d, dtype=p.dtype)
            else:
                buf *= momentum
                dampened = d if group["dampening"] == 0 else (1 - group["dampening"]) * d
                buf += dampened
            d = d + momentum * buf if group["nesterov"] else buf
        # in place on the parameter's array: no graph, and optimizers/models share the array
        p -= group["lr"] * d

    def _compiled_update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                         group: dict[str, Any]) -> None:
        """The same step as one loop (compiled.py's _sgd_loops) over flat views. The kernel
        takes the Python floats in p's dtype, rounded as NumPy casts them: the same bits."""
        momentum, wd = group["momentum"], group["weight_decay"]
        first = momentum != 0 and "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = np.empty_like(p)
        buf = state.get("momentum_buffer", p)  # p stands in, unread, without momentum
        compiled.kernels("optim").sgd(
            p.ravel(), grad.ravel(), buf.ravel(), group["lr"], wd, momentum,
            1 - group["dampening"], wd != 0, momentum != 0, bool(group["nesterov"]), first)


class Adam(Optimizer):
    """PyTorch's Adam: g += wd * p (L2); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); amsgrad uses the running
    maximum of v instead of v."""

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        _check_adam(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": bool(amsgrad)})

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        buffers = [state[name] for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                   if name in state]
        if _fits_kernels(p, grad, *buffers):
            self._compiled_update(p, grad, state, group)
            return
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if wd != 0:
            if self.decoupled_weight_decay:
                p *= 1 - lr * wd
            else:
                grad = grad + wd * p
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        step_size = lr / (1 - beta1**step)
        if group.get("amsgrad"):
            top = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            np.maximum(top, exp_avg_sq, out=top)
            exp_avg_sq = top
        denom = np.sqrt(exp_avg_sq, out=np.empty_like(exp_avg_sq))  # an array when 0-d too
        denom *= 1 / math.sqrt(1 - beta2**step)
        denom += group["eps"]
        np.divide(exp_avg, denom, out=denom)
        denom *= step_size
        p -= denom

    def _compiled_update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                         group: dict[str, Any]) -> None:
        """The same step as one loop (compiled.py's _adam_loops) over flat views. The step's
        scalars are the NumPy path's Python floats; the kernel takes them in p's dtype, rounded
        as NumPy casts them: the same bits."""
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        step, amsgrad = state["step"], bool(group.get("amsgrad"))
        top = state.setdefault("max_exp_avg_sq", np.zeros_like(p)) if amsgrad else p
        decoupled = wd != 0 and self.decoupled_weight_decay
        compiled.kernels("optim").adam(
            p.ravel(), grad.ravel(), state["exp_avg"].ravel(), state["exp_avg_sq"].ravel(),
            top.ravel(),  # p stands in, unread, without amsgrad
            1 - lr * wd if decoupled else 1.0, wd, beta1, 1 - beta1, beta2, 1 - beta2,
            1 / math.sqrt(1 - beta2**step), group["eps"], lr / (1 - beta1**step),
            wd != 0 and not self.decoupled_weight_decay, amsgrad)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * wd before the
    Adam step, instead of adding wd * p to the gradient."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
