"""In the style of the 60-minute blitz's tensor_tutorial.py: making tensors (empty, rand, zeros,
new_ones, randn_like), sizes, add with out=, in-place add_, indexing, view, item, and the
NumPy bridge that shares memory. Printed values that do not depend on the generator are compared
with PyTorch's."""
import numpy as np

import tinygrad_cnn as torch

x = torch.empty(5, 3)
print(x.size())

x = torch.rand(5, 3)
print(x.shape, x.dtype)

x = torch.zeros(5, 3, dtype=torch.long)
print(x)

x = torch.tensor([5.5, 3])
print(x)

x = x.new_ones(5, 3, dtype=torch.double)
print(x)

x = torch.randn_like(x, dtype=torch.float)
print(x.size(), x.dtype)

x = torch.arange(15, dtype=torch.float).reshape(5, 3)
y = torch.full((5, 3), 0.5)
print(x + y)
print(torch.add(x, y))

result = torch.empty(5, 3)
torch.add(x, y, out=result)
print(result)

y.add_(x)
print(y)

print(x[:, 1])

x = torch.arange(16.0).reshape(4, 4)
y = x.view(16)
z = x.view(-1, 8)
print(x.size(), y.size(), z.size())

x = torch.tensor([1.5])
print(x)
print(x.item())

a = torch.ones(5)
b = a.numpy()
print(b)
a.add_(1)
print(a)
print(b)

a = np.ones(5)
b = torch.from_numpy(a)
np.add(a, 1, out=a)
print(a)
print(b)

if torch.cuda.is_available():
    device = torch.device("cuda")
    y = torch.ones_like(x, device=device)
    x = x.to(device)
    z = x + y
    print(z)
    print(z.to("cpu", torch.double))
print("done")
