# ruff: noqa: UP008, E402 (the page's own idioms: super(Net, self), a late import)
"""In the style of the 60-minute blitz's neural_networks_tutorial.py: LeNet for 32x32 inputs,
its parameters, a backward with a given gradient, MSELoss against a target, walking the graph
backwards through grad_fn.next_functions, the manual update and the optim.SGD step. The weights
and inputs are fixed (a seeded NumPy generator), so every printed number can be compared."""
import numpy as np

import tinygrad_cnn as torch
import tinygrad_cnn.nn as nn
import tinygrad_cnn.nn.functional as F


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


net = Net()
print(net)

rng = np.random.default_rng(0)
with torch.no_grad():
    for p in net.parameters():
        bound = 1 / np.sqrt(p[0].numel())
        p.copy_(torch.from_numpy(rng.uniform(-bound, bound, p.shape).astype(np.float32)))

params = list(net.parameters())
print(len(params))
print(params[0].size())

input = torch.from_numpy(rng.standard_normal((1, 1, 32, 32)).astype(np.float32))
out = net(input)
print(out)

net.zero_grad()
out.backward(torch.from_numpy(rng.standard_normal((1, 10)).astype(np.float32)))
print(net.conv1.bias.grad)

output = net(input)
target = torch.arange(10)
target = target.view(1, -1)
criterion = nn.MSELoss()

loss = criterion(output, target)
print(loss)

print(loss.grad_fn is not None)
print(loss.grad_fn.next_functions[0][0] is not None)
print(loss.grad_fn.next_functions[0][0].next_functions[0][0] is not None)

net.zero_grad()
print("conv1.bias.grad before backward")
print(net.conv1.bias.grad)

loss.backward()

print("conv1.bias.grad after backward")
print(net.conv1.bias.grad)

learning_rate = 0.01
with torch.no_grad():
    for f in net.parameters():
        f -= f.grad * learning_rate

import tinygrad_cnn.optim as optim

optimizer = optim.SGD(net.parameters(), lr=0.01)

optimizer.zero_grad()
output = net(input)
loss = criterion(output, target)
loss.backward()
optimizer.step()
print(criterion(net(input), target).item())
