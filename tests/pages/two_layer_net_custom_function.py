"""In the style of the earlier "Learning PyTorch with Examples" pages, two_layer_net_autograd.py
and two_layer_net_custom_function.py: a two-layer ReLU network from raw tensors (mm, clamp),
first with autograd, then with a ReLU of our own as an autograd.Function whose backward writes
through a mask (weights and data fixed from NumPy instead of randn)."""
import numpy as np

import tinygrad_cnn as torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


dtype = torch.float
device = torch.device("cpu")

N, D_in, H, D_out = 64, 100, 20, 10
rng = np.random.default_rng(0)


def fixed_randn(*shape, requires_grad=False):
    values = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
    return values.to(device, dtype).requires_grad_(requires_grad)


x = fixed_randn(N, D_in)
y = fixed_randn(N, D_out)
w1 = fixed_randn(D_in, H, requires_grad=True)
w2 = fixed_randn(H, D_out, requires_grad=True)

learning_rate = 1e-6
for t in range(200):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()

for t in range(200):
    relu = MyReLU.apply
    y_pred = relu(x.mm(w1)).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
print(w2[:2, :3])
