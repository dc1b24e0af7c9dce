"""PyTorch's autograd entry points: autograd.grad, register_hook, backward(gradient=,
inputs=), set_grad_enabled and inference_mode; the numbers are PyTorch 2.13's."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn


def _xw():
    return tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0], requires_grad=True)


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, w = _xw()
    z = x * w
    z.register_hook(lambda g: g * 10)  # hooks run for autograd.grad too
    gx, gw = tg.autograd.grad((z * z).sum(), [x, w])
    np.testing.assert_array_equal(gx.data, [180.0, 640.0])
    np.testing.assert_array_equal(gw.data, [60.0, 320.0])
    assert x.grad is None and w.grad is None


def test_grad_of_several_outputs_and_with_grad_outputs():
    x, _ = _xw()
    (g,) = tg.autograd.grad([(x * 2).sum(), (x * x).sum()], x)
    np.testing.assert_array_equal(g.data, [4.0, 6.0])
    (g,) = tg.autograd.grad(x * 2, x, grad_outputs=tg.tensor([1.0, 3.0]))
    np.testing.assert_array_equal(g.data, [2.0, 6.0])


def test_grad_refuses_unused_inputs_unless_allowed():
    x, w = _xw()
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) was not used.*allow_unused"):
        tg.autograd.grad((x * 2).sum(), [x, w])
    gx, gw = tg.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)
    assert gw is None and gx.tolist() == [2.0, 2.0]
    gx, gw = tg.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True)
    assert gw.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when "
                                         "materialize_grads=True"):  # PyTorch's words
        tg.autograd.grad((x * 2).sum(), [x, w], allow_unused=False, materialize_grads=True)
    (g,) = tg.autograd.grad((x * x).sum(), x, create_graph=True)  # 2x, itself a graph
    assert g.requires_grad and g.tolist() == [2.0, 4.0]


def test_hooks_change_the_gradient_below_them_and_can_be_removed():
    x, w = _xw()
    z = x * w
    handle = z.register_hook(lambda g: g * 10)
    (z * z).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [180.0, 640.0])
    seen = []
    x.grad = None
    handle.remove()
    x.register_hook(lambda g: seen.append(g.tolist()))  # returns None: the gradient stays
    (x * w).sum().backward()
    assert seen == [[3.0, 4.0]] and x.grad.tolist() == [3.0, 4.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        Tensor([1.0]).register_hook(print)
    x.register_hook(lambda g: tg.zeros(3))
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(3,\)"):
        (x * w).sum().backward()


def test_backward_takes_pytorchs_gradient_and_inputs():
    x, w = _xw()
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]
    (x * 2).backward(gradient=tg.tensor([1.0, 3.0]))
    assert x.grad.tolist() == [2.0, 6.0]
    (x * 2).backward(np.array([1.0, 1.0]))  # positional, as PyTorch; grad= is gone
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(TypeError, match="grad"):
        (x * 2).backward(grad=np.array([1.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"one-element output.*shape \(2,\)"):
        (x * 2).backward()


def test_autograd_backward_of_several_tensors_weights_each_by_its_grad_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    tg.autograd.backward([(x * x).sum(), x * 3], [None, tg.tensor([1.0, 10.0])])
    assert x.grad.tolist() == [5.0, 34.0]  # 2x + 3 * [1, 10]
    with pytest.raises(ValueError, match=r"backward\(grad_tensors=...\) has shape \(3,\)"):
        tg.autograd.backward([x.sum(), x * 2], [None, tg.ones(3)])

def test_set_grad_enabled_and_inference_mode():
    x, _ = _xw()
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    tg.set_grad_enabled(False)  # as a function: until switched back
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad
    with tg.inference_mode(False):
        assert (x * 2).requires_grad
    assert tg.inference_mode(lambda: (x * 2).requires_grad)() is False


def test_inplace_flags_of_pytorch_modules_are_accepted():
    x = tg.tensor([-1.0, 2.0])
    for layer in (nn.ReLU(inplace=True), nn.LeakyReLU(0.1, inplace=True), nn.ELU(inplace=True),
                  nn.SiLU(inplace=True), nn.Dropout(0.5, inplace=True).eval()):
        layer(x)
        assert x.tolist() == [-1.0, 2.0]  # computed out of place
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
