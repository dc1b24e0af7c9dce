"""What PyTorch's own beginner pages print, run here with only their import lines changed
(issue 21; docs/from_pytorch.md): `t.size()` is a torch.Size, a grad_fn reads as PyTorch's
(`<MSELossBackward0 object at 0x...>`), and print(tensor) wraps rows and places `grad_fn=` where
PyTorch 2.13 does. Expected strings are what PyTorch 2.13 printed for the same values."""

from __future__ import annotations

import re

import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn


def test_size_is_pytorchs_size():
    x = tg.zeros(5, 3)
    size = x.size()
    assert str(size) == "torch.Size([5, 3])" and f"{size}" == "torch.Size([5, 3])"
    assert size == (5, 3) and isinstance(size, tuple) and size == tg.Size([5, 3])
    assert str(size[1:]) == "torch.Size([3])" and size[0] == 5 and x.size(1) == 3
    assert size.numel() == 15 and tg.Size([]).numel() == 1 and str(tg.zeros(()).size()) == \
        "torch.Size([])"
    assert x.size == 15  # NumPy's attribute still counts the elements


def test_grad_fn_reads_as_pytorchs_and_names_what_print_shows():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss = nn.MSELoss()(net(tg.ones(1, 4)), tg.zeros(1, 2))
    assert re.fullmatch(r"<MSELossBackward0 object at 0x[0-9a-f]+>", repr(loss.grad_fn))
    assert str(loss.grad_fn) == repr(loss.grad_fn)
    assert "grad_fn=<MSELossBackward0>" in str(loss)
    linear = loss.grad_fn.next_functions[0][0]  # the blitz's walk back: Linear, then ReLU
    assert re.fullmatch(r"<LinearBackward0 object at 0x[0-9a-f]+>", repr(linear))
    assert repr(linear.next_functions[0][0]).startswith("<ReLUBackward0 object at 0x")


def test_a_custom_functions_node_has_pytorchs_name():
    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 3 * x ** 2

    y = Cube.apply(tg.ones(2, requires_grad=True))
    assert str(y) == "tensor([1., 1.], grad_fn=<CubeBackward>)"  # PyTorch 2.13's print
    assert re.fullmatch(r"<CubeBackward object at 0x[0-9a-f]+>", repr(y.grad_fn))


@pytest.mark.parametrize("make, printed", [
    (lambda: tg.arange(10, dtype=tg.float32).reshape(1, 10) / 7 - 0.5,
     "tensor([[-0.5000, -0.3571, -0.2143, -0.0714,  0.0714,  0.2143,  0.3571,  0.5000,\n"
     "          0.6429,  0.7857]])"),
    (lambda: (tg.arange(8, dtype=tg.float32).reshape(1, 8).requires_grad_() - 3.5) / 3,
     "tensor([[-1.1667, -0.8333, -0.5000, -0.1667,  0.1667,  0.5000,  0.8333,  1.1667]],\n"
     "       grad_fn=<DivBackward0>)"),
    (lambda: tg.arange(2000, dtype=tg.float32).reshape(2, 1000) / 3,
     "tensor([[0.0000e+00, 3.3333e-01, 6.6667e-01,  ..., 3.3233e+02, 3.3267e+02,\n"
     "         3.3300e+02],\n"
     "        [3.3333e+02, 3.3367e+02, 3.3400e+02,  ..., 6.6567e+02, 6.6600e+02,\n"
     "         6.6633e+02]])"),
    (lambda: tg.ones(2, 3, dtype=tg.float64, requires_grad=True) * 2,
     "tensor([[2., 2., 2.],\n        [2., 2., 2.]], dtype=torch.float64, "
     "grad_fn=<MulBackward0>)"),
])
def test_print_wraps_rows_and_places_grad_fn_as_pytorch(make, printed):
    assert str(make()) == printed


def test_a_0d_tensor_formats_as_its_number():
    # data_tutorial prints f"Label: {label}" with a 0-d int64 label: PyTorch shows "Label: 5"
    assert f"Label: {tg.tensor(5)}" == "Label: 5" and format(tg.tensor(2.5), "") == "2.5"
    assert f"{tg.tensor(True)}" == "True" and f"{tg.tensor(2.5, requires_grad=True) * 1}" == "2.5"
    assert f"{tg.tensor([1])}" == "tensor([1])" and f"{tg.tensor(0.25):.1%}" == "25.0%"


def test_a_summarised_print_chooses_its_format_from_the_values_it_shows():
    # nn_tutorial prints MNIST's (50000, 784) pixels: the shown corners are 0, so PyTorch
    # writes `0.` though other pixels are fractions
    x = tg.zeros(50, 40)
    x[10:20, 10:20] = 0.5
    assert str(x).startswith("tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n")
    assert str(x[10:20, 10:20]).startswith("tensor([[0.5000, 0.5000,")
