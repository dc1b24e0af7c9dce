"""PyTorch's custom autograd.Function, written on Tensors, runs as written: the custom-Function
tutorial's MyReLU, the Legendre polynomial of "Learning PyTorch with Examples", arguments that
are not Tensors, second order through a backward written in Tensor ops, and a clear refusal
where a backward returned NumPy arrays. Numbers are closed forms or PyTorch 2.13's."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as torch
from tinygrad_cnn.gradcheck import gradgradcheck


class MyReLU(torch.autograd.Function):
    """The tutorial's, as written there."""

    @staticmethod
    def forward(ctx, input):  # noqa: A002 (the tutorial's name)
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors  # noqa: A001
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 3 * grad_output * x * x


class Scale(torch.autograd.Function):
    """A non-Tensor argument: backward returns None for it, as PyTorch wants."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.factor, None


def test_the_tutorials_relu_forward_and_backward():
    x = torch.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = MyReLU.apply(x)
    assert y.requires_grad and y.tolist() == [0.0, 2.0, 3.0]
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 6.0]


def test_forward_runs_without_recording_and_sees_detached_inputs():
    seen = {}

    class Peek(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen["requires_grad"], seen["grad_mode"] = x.requires_grad, torch.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 2

    x = torch.tensor([1.0], requires_grad=True)
    Peek.apply(x).sum().backward()
    assert seen == {"requires_grad": False, "grad_mode": False} and x.grad.tolist() == [2.0]


def test_non_tensor_arguments_and_the_count_of_gradients():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]

    class TooFew(Scale):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    with pytest.raises(RuntimeError, match=r"TooFewBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)"):
        TooFew.apply(x, 3.0).sum().backward()
    with pytest.raises(TypeError, match="Scale.apply: expected a Tensor"):
        Scale.apply(1.0, 2.0)


def test_needs_input_grad_has_one_entry_per_argument_as_pytorch():
    """PyTorch 2.13 prints (False, True, False) in both and gives x.grad = [6., 8.]."""
    seen = []

    class ScaledProduct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, k, x, y):
            seen.append(ctx.needs_input_grad)
            ctx.k = k
            ctx.save_for_backward(x, y)
            return x * y * k

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(ctx.needs_input_grad)
            x, y = ctx.saved_tensors
            grad_x = grad_output * y * ctx.k if ctx.needs_input_grad[1] else None
            grad_y = grad_output * x * ctx.k if ctx.needs_input_grad[2] else None
            return None, grad_x, grad_y

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    ScaledProduct.apply(2.0, x, torch.tensor([3.0, 4.0])).sum().backward()
    assert seen == [(False, True, False)] * 2 and x.grad.tolist() == [6.0, 8.0]


def test_extra_trailing_nones_are_dropped_and_a_gradient_for_a_number_is_refused():
    class ExtraNone(Scale):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.factor, None, None

    class GradForTheNumber(Scale):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.factor, grad_output

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    ExtraNone.apply(x, 3.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]  # as PyTorch: extra Nones are allowed
    with pytest.raises(RuntimeError, match=r"GradForTheNumberBackward returned a gradient "
                                           r"different than None at position 2"):
        GradForTheNumber.apply(x, 3.0).sum().backward()


def test_a_result_that_is_no_tensor_is_refused_naming_the_function():
    class ReturnsNone(Scale):
        @staticmethod
        def forward(ctx, x, factor):
            return None

    class GradientIsText(Scale):
        @staticmethod
        def backward(ctx, grad_output):
            return "oops", None

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="ReturnsNone.forward's result must be a Tensor, got "
                                        "NoneType"):  # was a tensor of dtype object
        ReturnsNone.apply(x, 3.0)
    with pytest.raises(TypeError, match="GradientIsText.backward's gradient for argument 0 must "
                                        "be a Tensor, got str"):  # was 'a gradient of shape ()'
        GradientIsText.apply(x, 3.0).sum().backward()


def test_second_order_through_a_backward_written_in_tensor_ops():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 12.0]  # 3x**2
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 12.0]  # 6x
    assert gradgradcheck(lambda t: Cube.apply(t), [np.array([0.5, -1.5])])


def test_a_backward_returning_numpy_has_first_order_only_and_says_so():
    class NumpyBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return np.asarray(grad_output.data) * 2

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad((NumpyBackward.apply(x) * x).sum(), x, create_graph=True)
    assert g.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="NumpyBackward's backward is NumPy code.*no second"):
        g.sum().backward()


def test_a_second_backward_after_the_graph_was_freed_says_retain_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_the_legendre_polynomial_fit_of_learning_pytorch_with_examples():
    """polynomial_custom_function.py's model, 20 steps on its data (PyTorch 2.13: loss after
    the 20th step written below, computed with the same script and starting values)."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):  # noqa: A002
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors  # noqa: A001
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x = torch.tensor(np.linspace(-np.pi, np.pi, 2000))
    y = torch.sin(x)
    a, b, c, d = (torch.full((), v, dtype=torch.float64, requires_grad=True)
                  for v in (0.0, -1.0, 0.0, 0.3))
    for _ in range(20):
        loss = (a + b * LegendrePolynomial3.apply(c + d * x) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= 5e-6 * p.grad
                p.grad = None
    # the same loop in float64 NumPy with the hand-written chain rule
    pa, pb, pc, pd = 0.0, -1.0, 0.0, 0.3
    xs = np.linspace(-np.pi, np.pi, 2000)
    for _ in range(20):
        z = pc + pd * xs
        p3 = 0.5 * (5 * z ** 3 - 3 * z)
        r = 2 * (pa + pb * p3 - np.sin(xs))
        dz = r * pb * 1.5 * (5 * z ** 2 - 1)
        pa, pb, pc, pd = (pa - 5e-6 * r.sum(), pb - 5e-6 * (r * p3).sum(),
                          pc - 5e-6 * dz.sum(), pd - 5e-6 * (dz * xs).sum())
    np.testing.assert_allclose([a.item(), b.item(), c.item(), d.item()], [pa, pb, pc, pd],
                               rtol=1e-10, atol=1e-12)
