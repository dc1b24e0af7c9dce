"""In the style of the 60-minute blitz's autograd_tutorial.py: one training step of a
pretrained-style model, Q = 3a^3 - b^2 with an external gradient, which tensors require grad,
and fine-tuning with frozen parameters and a new head. A small network with a `fc` head stands
in for torchvision's resnet18, whose weights are a download; its weights are fixed from NumPy."""
import numpy as np

import tinygrad_cnn as torch
from tinygrad_cnn import nn, optim


class TinyResNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def pretrained():
    model = TinyResNet()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.shape).astype(np.float32)))
    return model


model = pretrained()
rng = np.random.default_rng(1)
data = torch.from_numpy(rng.uniform(0, 1, (1, 3, 64, 64)).astype(np.float32))
labels = torch.from_numpy(rng.uniform(0, 1, (1, 1000)).astype(np.float32))

prediction = model(data)
loss = (prediction - labels).sum()
print(loss.item())
loss.backward()

optim_ = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
optim_.step()
print((model(data) - labels).sum().item())

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a**3 - b**2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9 * a**2 == a.grad)
print(-2 * b == b.grad)

x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)
a = x + y
print(f"Does `a` require gradients?: {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")

model = pretrained()
for param in model.parameters():
    param.requires_grad = False
model.fc = nn.Linear(8, 10)
with torch.no_grad():
    model.fc.weight.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, (10, 8)).astype(np.float32)))
    model.fc.bias.zero_()

optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
loss = model(data).logsumexp(1).sum()
loss.backward()
optimizer.step()
print(model.conv1.weight.grad is None, model.fc.weight.grad.shape)
print(model(data))
