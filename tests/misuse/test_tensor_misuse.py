"""Misuse corpus, tensor side (issue 9): what learners type, one case each. An error case checks
the type, that the message names the argument, shape or dtype, and that it was raised by our
code (not from inside NumPy); a value case checks PyTorch's documented result as numbers."""

from __future__ import annotations

import math
import traceback
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn, no_grad, ops, optim

PACKAGE = Path(tg.__file__).parent
LEAF = "a leaf Variable that requires grad is being used in an in-place operation"
NUMPY_GRAD = r"Can't call numpy\(\) on Tensor that requires grad. Use tensor.detach\(\).numpy\(\)"
STALE = "modified"


def leaf(*shape):
    return Tensor(np.ones(shape or (2, 3)), requires_grad=True)


def ints(*values, dtype=np.int64):
    return Tensor(list(values), dtype=dtype)


def m23():
    return Tensor(np.arange(6.0).reshape(2, 3))


def _setitem(t, index, value):
    t[index] = value


def _stale_after_step(make_view):
    """forward through a view of w into an op whose gradient reads it (w * w), an optimizer
    step, then backward: must refuse (PyTorch: "modified by an inplace operation")."""
    w = leaf(2, 3)
    opt = optim.SGD([w], lr=0.1)
    y = (make_view(w) * make_view(w)).sum()
    y.backward(retain_graph=True)
    opt.step()
    y.backward()


def _matmul_t_after_step():
    w = leaf(2, 3)
    opt = optim.SGD([w], lr=0.1)
    x = Tensor(np.ones((4, 3)), requires_grad=True)  # so x's gradient reads w
    y = (x @ w.T).sum()
    y.backward(retain_graph=True)
    opt.step()
    y.backward()


def _exp_output_changed():
    y = leaf().exp()
    y += 1
    y.sum().backward()


def _used_then_changed():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b + 1  # c's gradient goes to b as it was: d c / d a = 2 (PyTorch)
    b -= 1
    b *= 3  # b = 3 (2a - 1): 6
    (c.sum() + b.sum()).backward()
    return a.grad.data.tolist()


def _view_in_grad_mode():
    b = leaf() * 2
    v = b.T
    v += 1


def _backward_twice():
    y = (leaf() * leaf()).sum()
    y.backward()
    y.backward()


ERRORS = [
    # ----- construction ------------------------------------------------------------------------
    ("Tensor(None)", lambda: Tensor(None), TypeError, "None"),
    ("Tensor([1, None, 3])", lambda: Tensor([1, None, 3]), TypeError, r"\[1, None, 3\]"),
    ("ragged list", lambda: Tensor([[1, 2], [3]]), TypeError, "different lengths"),
    ("ragged deeper", lambda: Tensor([[[1]], [[1, 2]]]), TypeError, "different lengths"),
    ("string", lambda: Tensor("abc"), TypeError, "'abc'"),
    ("list of strings", lambda: Tensor(["1.5", "2"]), TypeError, "'1.5'"),
    ("dict", lambda: Tensor({"a": 1}), TypeError, "dict"),
    ("set", lambda: Tensor({1, 2}), TypeError, "set"),
    ("object array", lambda: Tensor(np.array([1, "a"], dtype=object)), TypeError, "array"),
    ("complex", lambda: Tensor(1 + 2j), TypeError, r"\(1\+2j\)"),
    ("generator", lambda: Tensor(i for i in range(3)), TypeError, "generator"),
    ("bad dtype name", lambda: Tensor([1.0], dtype="floaty"), TypeError, "floaty"),
    ("str dtype", lambda: Tensor([1.0], dtype=str), TypeError, "dtype"),
    ("complex dtype", lambda: Tensor([1.0], dtype=np.complex64), TypeError, "complex64"),
    ("zeros(-1)", lambda: Tensor.zeros(-1), ValueError, r"\(-1,\)"),
    ("zeros(2.5)", lambda: Tensor.zeros(2.5), TypeError, "2.5"),
    ("ones((2, -3))", lambda: Tensor.ones((2, -3)), ValueError, r"\(2, -3\)"),
    ("randn('3')", lambda: Tensor.randn("3"), TypeError, "'3'"),
    ("full((2, 2.0))", lambda: Tensor.full((2, 2.0), 1.0), TypeError, "2.0"),
    ("rand(True)", lambda: Tensor.rand(True), TypeError, "True"),
    ("int requires grad", lambda: ints(1, 2).requires_grad_(), RuntimeError, "int64"),
    ("requires_grad='yes'", lambda: Tensor([1.0], requires_grad="yes"), TypeError, "'yes'"),
    ("full((2,), 'a')", lambda: Tensor.full((2,), "a"), TypeError, "full.*'a'"),
    ("eye(-1)", lambda: Tensor.eye(-1), ValueError, r"eye.*\(-1, -1\)"),
    ("eye(2.5)", lambda: Tensor.eye(2.5), TypeError, "eye.*2.5"),
    ("uniform low > high", lambda: Tensor.uniform(2, low=1.0, high=0.0), ValueError,
     "low=1.0 > high=0.0"),
    # ----- in-place on a leaf that requires grad -----------------------------------------------
    ("w += 1", lambda: leaf().__iadd__(1), RuntimeError, LEAF),
    ("w -= 1", lambda: leaf().__isub__(1), RuntimeError, LEAF),
    ("w *= 2", lambda: leaf().__imul__(2), RuntimeError, LEAF),
    ("w /= 2", lambda: leaf().__itruediv__(2), RuntimeError, LEAF),
    ("w.add_", lambda: leaf().add_(1), RuntimeError, LEAF),
    ("w.sub_", lambda: leaf().sub_(1), RuntimeError, LEAF),
    ("w.mul_", lambda: leaf().mul_(2), RuntimeError, LEAF),
    ("w.div_", lambda: leaf().div_(2), RuntimeError, LEAF),
    ("w.zero_", lambda: leaf().zero_(), RuntimeError, LEAF),
    ("w.fill_", lambda: leaf().fill_(0), RuntimeError, LEAF),
    ("w.copy_", lambda: leaf().copy_(Tensor(np.zeros((2, 3)))), RuntimeError, LEAF),
    ("w.clamp_", lambda: leaf().clamp_(0, 1), RuntimeError, LEAF),
    ("w[0] = 1", lambda: _setitem(leaf(), 0, 1.0), RuntimeError, LEAF),
    # ----- in-place: dtype, shape, values ------------------------------------------------------
    ("int += 2.5", lambda: ints(1, 2).__iadd__(2.5), RuntimeError, "float32.*int64"),
    ("int *= float tensor", lambda: ints(1, 2).__imul__(Tensor([1.5, 2.0])), RuntimeError,
     "float32.*int64"),
    ("int32 /= 2", lambda: ints(1, 2, dtype=np.int32).__itruediv__(2), RuntimeError,
     "float32.*int32"),
    ("bool += 1", lambda: Tensor([True], dtype=np.bool_).__iadd__(1), RuntimeError,
     "int64.*bool"),
    ("+= grows the shape", lambda: m23().__iadd__(Tensor(np.ones((4, 2, 3)))), RuntimeError,
     r"\(2, 3\).*\(4, 2, 3\)"),
    ("+= bad broadcast", lambda: m23().__iadd__(Tensor(np.ones(4))), ValueError,
     r"\(2, 3\) and \(4,\)"),
    ("+= on expand view", lambda: Tensor([1.0, 2.0]).expand(3, 2).__iadd__(1), RuntimeError,
     "read-only"),
    ("fill_('a')", lambda: m23().fill_("a"), TypeError, "'a'"),
    ("fill_([1, 2])", lambda: m23().fill_([1, 2]), TypeError, r"\[1, 2\]"),
    ("copy_ wrong shape", lambda: m23().copy_(Tensor(np.ones(4))), ValueError,
     r"\(4,\).*\(2, 3\)"),
    ("copy_('abc')", lambda: m23().copy_("abc"), TypeError, "'abc'"),
    ("setitem out of range", lambda: _setitem(m23(), 5, 1.0), IndexError, r"5.*\(2, 3\)"),
    ("setitem wrong shape", lambda: _setitem(m23(), 0, np.ones(4)), ValueError,
     r"\(4,\).*\(3,\)"),
    ("setitem string", lambda: _setitem(m23(), 0, "x"), TypeError, "'x'"),
    ("setitem float index", lambda: _setitem(m23(), 1.5, 0.0), IndexError, r"\(2, 3\)"),
    # ----- versions: stale graphs refuse backward ----------------------------------------------
    ("step then backward via .T", _matmul_t_after_step, RuntimeError, r"MatMul: input 1.*modified"),
    ("step then backward via w[0]", lambda: _stale_after_step(lambda w: w[0]), RuntimeError,
     STALE),
    ("step then backward via reshape", lambda: _stale_after_step(lambda w: w.reshape(6)),
     RuntimeError, STALE),
    ("step then backward via permute", lambda: _stale_after_step(lambda w: w.permute(1, 0)),
     RuntimeError, STALE),
    ("step then backward via expand", lambda: _stale_after_step(lambda w: w.expand(2, 2, 3)),
     RuntimeError, STALE),
    ("step then backward via slice", lambda: _stale_after_step(lambda w: w[:, 1:]),
     RuntimeError, STALE),
    ("step then backward via unsqueeze", lambda: _stale_after_step(lambda w: w.unsqueeze(0)),
     RuntimeError, STALE),
    ("exp output changed", _exp_output_changed, RuntimeError, "Exp: its output was modified"),
    ("view += in grad mode", _view_in_grad_mode, RuntimeError, "view.*Permute"),
    ("backward twice", _backward_twice, RuntimeError, "second time"),
    # ----- NumPy interop -----------------------------------------------------------------------
    ("np.asarray(w)", lambda: np.asarray(leaf()), RuntimeError, NUMPY_GRAD),
    ("np.array(w)", lambda: np.array(leaf()), RuntimeError, NUMPY_GRAD),
    ("w.numpy()", lambda: leaf().numpy(), RuntimeError, NUMPY_GRAD),
    ("np.exp(w)", lambda: np.exp(leaf()), RuntimeError, NUMPY_GRAD),
    ("np.sum(w)", lambda: np.sum(leaf()), RuntimeError, NUMPY_GRAD),
    ("np.mean(w)", lambda: np.mean(leaf()), RuntimeError, NUMPY_GRAD),
    ("np.concatenate([w])", lambda: np.concatenate([leaf()]), RuntimeError, NUMPY_GRAD),
    ("np.exp(out=tensor)", lambda: np.exp(np.ones(2), out=Tensor(np.ones(2))), TypeError,
     "out=Tensor"),
    # ----- dtypes refused as PyTorch refuses them ----------------------------------------------
    ("int mean", lambda: ints(1, 2).mean(), RuntimeError, r"mean\(\).*Got: int64"),
    ("int mean axis", lambda: ints(1, 2).mean(axis=0), RuntimeError, "int64"),
    ("int var", lambda: ints(1, 2).var(), RuntimeError, "int64"),
    ("int std", lambda: ints(1, 2, dtype=np.int32).std(), RuntimeError, "int32"),
    ("bool - bool", lambda: Tensor([True], dtype=np.bool_) - Tensor([False], dtype=np.bool_),
     RuntimeError, "bool"),
    ("-bool", lambda: -Tensor([True], dtype=np.bool_), RuntimeError, "bool"),
    ("int ** -1", lambda: ints(2, 3) ** -1, RuntimeError, "negative integer powers.*int64"),
    ("conv2d f64 x f32 w", lambda: ops.conv2d(Tensor(np.ones((1, 1, 4, 4)), dtype=np.float64),
                                              Tensor(np.ones((1, 1, 3, 3)))),
     RuntimeError, "conv2d.*input float64, weight float32"),
    ("conv2d f32 bias f64", lambda: ops.conv2d(Tensor(np.ones((1, 1, 4, 4))),
                                               Tensor(np.ones((1, 1, 3, 3))),
                                               Tensor(np.ones(1), dtype=np.float64)),
     RuntimeError, "bias float64"),
    ("Conv2d layer on f64", lambda: nn.Conv2d(1, 1, 3)(Tensor(np.ones((1, 1, 4, 4)),
                                                              dtype=np.float64)),
     RuntimeError, "input float64, weight float32"),
    ("linear f32 x f64 w", lambda: ops.linear(Tensor(np.ones((2, 3))),
                                              Tensor(np.ones((4, 3)), dtype=np.float64)),
     RuntimeError, "linear.*input float32, weight float64"),
    ("Linear layer on int", lambda: nn.Linear(3, 2)(ints(1, 2, 3)), RuntimeError,
     "input int64, weight float32"),
    ("matmul f32 @ f64", lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((3, 2)),
                                                                 dtype=np.float64),
     RuntimeError, "matmul.*float32.*float64"),
    ("matmul f32 @ int array", lambda: Tensor(np.ones((2, 3))) @ np.ones((3, 2), np.int64),
     RuntimeError, "matmul.*int64"),
    ("bce f32 vs f64", lambda: ops.binary_cross_entropy(
        Tensor([0.5]), Tensor([1.0], dtype=np.float64)), RuntimeError, "target float64"),
    ("bce logits vs int", lambda: ops.binary_cross_entropy_with_logits(Tensor([0.5]), ints(1)),
     RuntimeError, "target int64"),
    ("t + 'a'", lambda: m23() + "a", TypeError, "add.*'a'"),
    ("t * None", lambda: m23() * None, TypeError, "mul.*None"),
    ("t - dict", lambda: m23() - {}, TypeError, "sub.*dict"),
    ("t < 'x'", lambda: m23() < "x", TypeError, "lt.*'x'"),
    ("maximum(t, 'x')", lambda: ops.maximum(m23(), "x"), TypeError, "maximum.*'x'"),
    ("clip('a')", lambda: m23().clip("a"), TypeError, "clip.*'a'"),
    ("to('nonsense')", lambda: m23().to("nonsense"), TypeError, "nonsense"),
    ("to(object)", lambda: m23().to(object), TypeError, "object"),
    # ----- axes --------------------------------------------------------------------------------
    ("sum(axis=2)", lambda: m23().sum(axis=2), IndexError, r"sum.*got 2.*\(2, 3\)"),
    ("mean(axis=-3)", lambda: m23().mean(axis=-3), IndexError, r"mean.*-3.*\(2, 3\)"),
    ("max(axis=5)", lambda: m23().max(axis=5), IndexError, r"max.*5"),
    ("amin(axis=(0, 2))", lambda: m23().amin(axis=(0, 2)), IndexError, r"amin.*2"),
    ("min(dim=(0, 1))", lambda: m23().min(dim=(0, 1)), TypeError, r"min: dim must be an int.*amin"),
    ("size(2)", lambda: m23().size(2), IndexError, r"size.*\[-2, 1\], but got 2"),
    ("0-d size(0)", lambda: Tensor(1.0).size(0), IndexError, "no dimensions"),
    ("sum dim and axis", lambda: m23().sum(dim=0, axis=0), TypeError, "both dim= and axis="),
    ("var(axis=3)", lambda: m23().var(axis=3), IndexError, "var.*3"),
    ("argmax(axis=2)", lambda: m23().argmax(axis=2), IndexError, r"argmax.*2.*\(2, 3\)"),
    ("softmax(axis=3)", lambda: m23().softmax(axis=3), IndexError, r"softmax.*3.*\(2, 3\)"),
    ("log_softmax(axis=-4)", lambda: m23().log_softmax(axis=-4), IndexError, "log_softmax.*-4"),
    ("transpose(0, 5)", lambda: m23().transpose(0, 5), IndexError, "transpose.*5"),
    ("permute(0, 0)", lambda: m23().permute(0, 0), ValueError, r"permute.*\(0, 0\)"),
    ("permute(0) of 2-d", lambda: m23().permute(0), ValueError, r"permute.*\(2, 3\)"),
    ("squeeze(3)", lambda: m23().squeeze(3), IndexError, "squeeze.*3"),
    ("unsqueeze(4)", lambda: m23().unsqueeze(4), IndexError, "unsqueeze.*4"),
    ("flatten(1, 0)", lambda: m23().flatten(1, 0), ValueError, "flatten.*start_dim 1"),
    ("sum(axis=1.5)", lambda: m23().sum(axis=1.5), TypeError, "sum.*1.5"),
    ("sum(axis=(0, 0))", lambda: m23().sum(axis=(0, 0)), ValueError, r"sum.*\(0, 0\)"),
    ("concatenate axis 2", lambda: tg.concatenate([m23(), m23()], axis=2), IndexError,
     "concatenate.*2"),
    ("stack axis 4", lambda: tg.stack([m23(), m23()], axis=4), IndexError, "stack.*4"),
    # ----- shapes ------------------------------------------------------------------------------
    ("reshape(4, 2) of 6", lambda: m23().reshape(4, 2), ValueError, r"\(2, 3\).*\(4, 2\)"),
    ("view(7)", lambda: m23().view(7), ValueError, r"\(2, 3\).*\(7,\)"),
    ("reshape(-1, -1)", lambda: m23().reshape(-1, -1), ValueError, r"\(-1, -1\)"),
    ("reshape(-2, 3)", lambda: m23().reshape(-2, 3), ValueError, r"\(-2, 3\)"),
    ("reshape(2.5, 2)", lambda: m23().reshape(2.5, 2), TypeError, "2.5"),
    ("reshape(-1, 4) of 6", lambda: m23().reshape(-1, 4), ValueError, r"\(2, 3\).*\(-1, 4\)"),
    ("reshape('a')", lambda: m23().reshape("a"), TypeError, "'a'"),
    ("expand(3, 4) of (3,)", lambda: Tensor([1.0, 2.0, 3.0]).expand(3, 4), ValueError,
     r"\(3,\).*\(3, 4\)"),
    ("expand(-2)", lambda: Tensor([1.0]).expand(-2), ValueError, r"\(-2,\)"),
    ("expand(1.5)", lambda: Tensor([1.0]).expand(1.5), TypeError, "1.5"),
    ("pad(-1)", lambda: m23().pad(-1), ValueError, "pad.*-1"),
    ("pad odd tuple", lambda: m23().pad((1, 2, 3)), ValueError, r"pad.*\(1, 2, 3\)"),
    ("pad too long", lambda: m23().pad((1,) * 6), ValueError, r"pad.*\(2, 3\)"),
    ("pad('a')", lambda: m23().pad("a"), TypeError, "pad.*'a'"),
    ("pad(1.5)", lambda: m23().pad(1.5), TypeError, "pad.*1.5"),
    ("pad value 'a'", lambda: m23().pad(1, value="a"), TypeError, "pad.*'a'"),
    ("pad pairs of wrong count", lambda: m23().pad(((1, 1),) * 3), TypeError, r"pad.*\(2, 3\)"),
    ("concatenate mismatched", lambda: tg.concatenate([m23(), Tensor(np.ones((2, 4)))], axis=0),
     ValueError, r"\(2, 4\)"),
    ("stack mismatched", lambda: tg.stack([m23(), Tensor(np.ones((3, 2)))]), ValueError,
     r"\(3, 2\)"),
    ("concatenate 0-d", lambda: tg.concatenate([Tensor(1.0), Tensor(2.0)]), ValueError,
     "zero-dimensional"),
    ("add bad broadcast", lambda: m23() + Tensor(np.ones(4)), ValueError, r"add.*\(2, 3\).*\(4,\)"),
    ("mul list bad broadcast", lambda: m23() * [1.0, 2.0], ValueError, r"mul.*\(2,\)"),
    ("lt bad broadcast", lambda: m23() < Tensor(np.ones(2)), ValueError, r"lt.*\(2,\)"),
    ("maximum bad broadcast", lambda: ops.maximum(m23(), Tensor(np.ones(5))), ValueError,
     r"maximum.*\(5,\)"),
    ("matmul not aligned", lambda: m23() @ m23(), ValueError, r"matmul.*\(2, 3\)"),
    ("clip bad broadcast", lambda: m23().clip(Tensor(np.zeros(4))), ValueError, r"\(4,\)"),
    # ----- size 0 ------------------------------------------------------------------------------
    ("max of empty", lambda: Tensor([]).max(), RuntimeError, r"max\(\).*numel\(\) == 0"),
    ("min of empty", lambda: Tensor(np.zeros((0, 3))).min(), RuntimeError, r"\(0, 3\)"),
    ("argmax of empty", lambda: Tensor([]).argmax(), RuntimeError, r"argmax\(\)"),
    ("max over empty axis", lambda: Tensor(np.zeros((0, 3))).max(axis=0), IndexError,
     "dim 0 to have non-zero size"),
    ("argmin over empty axis", lambda: Tensor(np.zeros((2, 0))).argmin(axis=1), IndexError,
     "dim 1"),
    # ----- indexing ----------------------------------------------------------------------------
    ("x[5]", lambda: m23()[5], IndexError, r"getitem.*5.*\(2, 3\)"),
    ("x[0, 7]", lambda: m23()[0, 7], IndexError, r"7.*\(2, 3\)"),
    ("x[1.5]", lambda: m23()[1.5], IndexError, r"getitem.*\(2, 3\)"),
    ("x['a']", lambda: m23()["a"], IndexError, r"getitem.*\(2, 3\)"),
    ("x[[0, 5]]", lambda: m23()[[0, 5]], IndexError, r"5.*\(2, 3\)"),
    ("x[bad mask]", lambda: m23()[np.array([True, False, True])], IndexError, r"\(2, 3\)"),
    ("x[0, 0, 0]", lambda: m23()[0, 0, 0], IndexError, r"\(2, 3\)"),
    ("x[float tensor]", lambda: m23()[Tensor([0.0])], IndexError, "integers or bools, got float32"),
    ("x['a'] = 1", lambda: _setitem(m23(), "a", 1.0), IndexError, "an index is an int.*'a'"),
    ("t + ragged list", lambda: m23() + [[1, 2], [3]], TypeError, r"add.*\[\[1, 2\], \[3\]\]"),
    ("t @ ragged list", lambda: m23() @ [[1.0], [2.0, 3.0]], TypeError, "rectangular"),
    ("backward(ragged)", lambda: (leaf() * 2).backward([[1, 2], [3]]), TypeError, "backward"),
    ("arange step 0", lambda: Tensor.arange(0, 5, 0), ValueError, "arange: step"),
    ("arange('a')", lambda: Tensor.arange("a"), TypeError, "arange.*'a'"),
    ("dropout('a')", lambda: m23().dropout("a"), TypeError, "dropout.*'a'"),
    ("leaky_relu('a')", lambda: m23().leaky_relu("a"), TypeError, "leaky_relu.*'a'"),
    # ----- scalars and backward ----------------------------------------------------------------
    ("backward of non-scalar", lambda: leaf().backward(), RuntimeError, r"\(2, 3\)"),
    ("backward without grad", lambda: m23().sum().backward(), RuntimeError,
     "does not require grad"),
    ("backward grad shape", lambda: (leaf() * 2).backward(np.ones(3)), ValueError,
     r"\(3,\).*\(2, 3\)"),
    ("item of 6", lambda: m23().item(), ValueError, r"\(2, 3\)"),
    ("bool of 6", lambda: bool(m23()), ValueError, r"\(2, 3\)"),
    ("len of 0-d", lambda: len(Tensor(1.0)), TypeError, "0-d"),
    ("var(correction=-1)", lambda: m23().var(correction=-1), ValueError, "correction.*-1"),
    ("clip()", lambda: m23().clip(), ValueError, "min and max"),
    ("float & float", lambda: m23() & m23(), RuntimeError, "bitwise_and.*float32"),
    ("~float", lambda: ~m23(), RuntimeError, "bitwise_not.*float32"),
    ("float() of 6", lambda: float(m23()), ValueError, r"\(2, 3\)"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_misuse_raises_a_clear_error_of_ours(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    innermost = traceback.extract_tb(info.value.__traceback__)[-1].filename
    assert Path(innermost).is_relative_to(PACKAGE), f"raised inside {innermost}, not our code"


def _sgd_loop():
    model = nn.Linear(2, 1)
    with no_grad():
        model.weight.copy_(Tensor([[1.0, 2.0]]))
        model.bias.zero_()
    model(Tensor([[1.0, 1.0], [2.0, 0.0]])).sum().backward()  # d/dw = (3, 1), d/db = 2
    with no_grad():
        for p in model.parameters():
            p -= 0.5 * p.grad
    return model.weight.data.tolist() + [model.bias.data.tolist()]


def _grad(fn, *values):
    xs = [Tensor(v, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.data.tolist() for x in xs]


def _square_in_place():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    b *= b
    b.sum().backward()
    return a.grad.data.tolist()


def _setitem_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor(np.zeros(3))
    x[1:] = w * 2
    (x * Tensor([1.0, 10.0, 100.0])).sum().backward()
    return w.grad.data.tolist()


def _rounded(array):
    return np.round(np.asarray(array, dtype=float), 4).tolist()


def _after(update, data=(1.0, 2.0)):
    x = Tensor(list(data))
    update(x)
    return x.data.tolist()


def _view_sees_update():
    w = m23()
    view = w.T
    w += 10
    return view.data.tolist(), view._version


VALUES = [
    # (id, computed, expected): dtypes as strings, arrays as nested lists
    ("SGD loop with -= updates", _sgd_loop, [[-0.5, 1.5], [-1.0]]),
    ("+= in place keeps the array", lambda: (lambda x: (x.__iadd__(1) is x, x.tolist()))(
        Tensor([1.0])), (True, [2.0])),
    ("add_ alpha", lambda: _after(lambda x: x.add_(Tensor([2.0, 2.0]), alpha=0.5)), [2.0, 3.0]),
    ("clamp_", lambda: _after(lambda x: x.clamp_(1.25, 1.5)), [1.25, 1.5]),
    ("copy_ casts into int", lambda: (lambda x: (x.copy_(Tensor([2.7, -1.5])), x.tolist())[1])(
        ints(0, 0)), [2, -1]),
    ("fill_ int with 3.9", lambda: (lambda x: x.fill_(3.9).tolist())(ints(0, 0)), [3, 3]),
    ("f32 += f64 stays f32", lambda: str((lambda x: x.__iadd__(Tensor([1.0], dtype=np.float64)))(
        Tensor([1.0])).dtype), "float32"),
    ("int32 += int64 stays int32", lambda: str(ints(1, dtype=np.int32).__iadd__(ints(1)).dtype),
     "int32"),
    ("view sees base update", _view_sees_update, ([[10.0, 13.0], [11.0, 14.0], [12.0, 15.0]], 1)),
    ("b *= b gradient", _square_in_place, [2.0, 4.0]),  # b = a**2
    ("used, then changed in place", _used_then_changed, [8.0, 8.0]),
    ("setitem gradient", _setitem_grad, [20.0, 200.0]),
    ("Tensor(t) copies", lambda: (lambda a: (Tensor(a).__iadd__(1), a.tolist())[1])(
        Tensor([1.0])), [1.0]),
    ("detach shares the counter", lambda: (lambda w: (w.detach().__iadd__(1), w._version)[1])(
        Tensor([1.0])), 1),
    ("np.asarray(t) is the data", lambda: (lambda t: np.asarray(t) is t.data)(m23()), True),
    ("np.asarray dtype", lambda: str(np.asarray(Tensor([1.0])).dtype), "float32"),
    ("np.exp(t) is an array", lambda: (lambda r: (type(r).__name__, _rounded(r)))(
        np.exp(Tensor([0.0, 1.0]))), ("ndarray", [1.0, 2.7183])),
    ("np.sum(t)", lambda: float(np.sum(m23())), 15.0),
    ("ndarray + t is a Tensor", lambda: type(np.ones(2) + Tensor([1.0, 2.0])).__name__, "Tensor"),
    ("ndarray * t keeps f32", lambda: str((np.ones(2) * Tensor([1.0, 2.0])).dtype), "float32"),
    ("clip by a Tensor", lambda: (lambda r: (str(r.dtype), r.tolist()))(
        Tensor([1.0, 3.0, 5.0]).clip(Tensor([2.0]), 4)), ("float32", [2.0, 3.0, 4.0])),
    ("clip int at 0.5", lambda: (lambda r: (str(r.dtype), r.tolist()))(ints(0, 1, 3).clip(0.5, 2)),
     ("float32", [0.5, 1.0, 2.0])),
    ("f32 + int64 array", lambda: str((Tensor([1.0]) + np.array([1], np.int64)).dtype), "float32"),
    ("f32 + int64 tensor", lambda: str((Tensor([1.0]) + ints(1)).dtype), "float32"),
    ("f32 + f64 0-d", lambda: str((Tensor([1.0]) + Tensor(1.0, dtype=np.float64)).dtype),
     "float32"),
    ("f32 + f64 tensor", lambda: str((Tensor([1.0]) + Tensor([1.0], dtype=np.float64)).dtype),
     "float64"),
    ("f32 + f64 array", lambda: str((Tensor([1.0]) + np.ones(1)).dtype), "float32"),
    ("int * 2.5", lambda: (lambda r: (str(r.dtype), r.tolist()))(ints(1, 2) * 2.5),
     ("float32", [2.5, 5.0])),
    ("int32 / 2", lambda: (lambda r: (str(r.dtype), r.tolist()))(ints(1, 3, dtype=np.int32) / 2),
     ("float32", [0.5, 1.5])),
    ("int // via / and int", lambda: str((ints(4) / ints(2)).dtype), "float32"),
    ("int8 + 1 wraps", lambda: (ints(127, dtype=np.int8) + 1).tolist(), [-128]),
    ("int32 + 5 stays int32", lambda: str((ints(1, dtype=np.int32) + 5).dtype), "int32"),
    ("bool sum is int64", lambda: (lambda r: (str(r.dtype), r.item()))(
        Tensor([True, True, False], dtype=np.bool_).sum()), ("int64", 2)),
    ("exp of int", lambda: (lambda r: (str(r.dtype), _rounded(r.data)))(
        ints(0, 1).exp()), ("float32", [1.0, 2.7183])),
    ("int < 2.5", lambda: (ints(1, 3) < 2.5).tolist(), [True, False]),
    ("t == None", lambda: Tensor([1.0]) == None, False),  # noqa: E711 (what users type)
    ("f64 mean stays f64", lambda: str(Tensor([1.0], dtype=np.float64).mean().dtype), "float64"),
    ("var correction=5 of 3", lambda: Tensor([1.0, 2.0, 3.0]).var(correction=5).item(), math.inf),
    ("std correction=5 of 3", lambda: Tensor([1.0, 2.0, 3.0]).std(correction=5).item(), math.inf),
    ("var correction=2 of 3", lambda: Tensor([1.0, 2.0, 3.0]).var(correction=2).item(), 2.0),
    ("var correction=0", lambda: round(Tensor([1.0, 2.0, 3.0]).var(correction=0).item(), 6),
     round(2 / 3, 6)),
    ("var of a constant, N == correction", lambda: math.isnan(
        Tensor([1.0, 1.0]).var(correction=2).item()), True),
    ("d/dx x**0 at 0", lambda: _grad(lambda x: x ** 0.0, [0.0, 2.0]), [[0.0, 0.0]]),
    ("d/dy 0**y", lambda: _grad(lambda x, y: x ** y, [0.0, 0.0], [2.0, 0.0]),
     [[0.0, 0.0], [0.0, 0.0]]),
    ("d/dx x**2 at 0", lambda: _grad(lambda x: x ** 2, [0.0, 3.0]), [[0.0, 6.0]]),
    ("pad((1, 1, 2, 2)) shape", lambda: m23().pad((1, 1, 2, 2)).shape, (6, 5)),
    ("pad((1, 1, 2, 2)) values", lambda: m23().pad((1, 1, 2, 2)).data[2].tolist(),
     [0.0, 0.0, 1.0, 2.0, 0.0]),
    ("pad((1, 2)) last dim", lambda: m23().pad((1, 2)).shape, (2, 6)),
    ("pad NumPy pairs", lambda: m23().pad(((1, 0), (0, 0))).shape, (3, 3)),
    ("pad int", lambda: m23().pad(1).shape, (4, 5)),
    ("mean of empty", lambda: math.isnan(Tensor([]).mean().item()), True),
    ("sum of empty", lambda: Tensor([]).sum().item(), 0.0),
    ("max over a non-empty axis", lambda: Tensor(np.zeros((0, 3))).max(axis=1).values.shape, (0,)),
    ("reshape(-1)", lambda: m23().reshape(-1).shape, (6,)),
    ("accuracy via .float().mean()", lambda: round(
        (ints(1, 2, 3) == ints(1, 0, 3)).float().mean().item(), 6), round(2 / 3, 6)),
    ("float(loss)", lambda: float(Tensor([1.5, 2.0]).sum()), 3.5),
    ("int(t)", lambda: int(Tensor(3.0)), 3),
    ("abs(t)", lambda: abs(Tensor([-1.0, 2.0])).tolist(), [1.0, 2.0]),
    ("~mask", lambda: (~(Tensor([1.0, -1.0]) > 0)).tolist(), [False, True]),
    ("mask & mask", lambda: ((m23() > 0) & (m23() < 4)).tolist(),
     [[False, True, True], [True, False, False]]),
    (".long() leaves the graph", lambda: (lambda r: (str(r.dtype), r.requires_grad))(
        leaf().long()), ("int64", False)),
    (".double() stays in it", lambda: _grad(lambda x: x.double() * 2, [1.0]), [[2.0]]),
    ("numel and dim", lambda: (m23().numel(), m23().dim()), (6, 2)),
    ("expand(-1, 2)", lambda: Tensor([[1.0], [2.0]]).expand(-1, 2).tolist(),
     [[1.0, 1.0], [2.0, 2.0]]),
]


@pytest.mark.parametrize("computed, expected", [c[1:] for c in VALUES],
                         ids=[c[0] for c in VALUES])
def test_misuse_gives_pytorchs_value(computed, expected):
    assert computed() == expected


def test_the_corpus_is_large_enough():
    assert len(ERRORS) + len(VALUES) >= 100


def test_mse_loss_promotes_mixed_dtypes_as_pytorch() -> None:
    """mse_loss promotes its input and target as PyTorch does (since 2d88d3a): float32 [1, 2]
    against int64 [1, 3] is 0.5 in float32; a float64 target makes a float64 loss."""
    loss = ops.mse_loss(Tensor([1.0, 2.0]), ints(1, 3))
    assert loss.dtype == np.float32 and loss.item() == 0.5
    assert ops.mse_loss(Tensor([1.0]), Tensor([3.0], dtype=np.float64)).dtype == np.float64
