"""In the style of "Learn the Basics", saveloadrun_tutorial.py: save a model's state_dict,
build the model again and load it (weights_only=True), eval mode, and export to ONNX. A small
VGG-shaped network (features, AdaptiveAvgPool2d((7, 7)), classifier) stands in for
torchvision's vgg16, whose pretrained weights are a download; its weights are fixed from NumPy.
Saving the whole module (`torch.save(model, ...)`) is left out: it needs pickle, refused here."""
import numpy as np

import tinygrad_cnn as torch
import tinygrad_cnn.nn as nn


class SmallVGG(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(8, 8, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(8 * 7 * 7, 32), nn.ReLU(True), nn.Dropout(),
            nn.Linear(32, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


model = SmallVGG()
rng = np.random.default_rng(0)
with torch.no_grad():
    for param in model.parameters():
        bound = 1 / np.sqrt(param[0].numel())
        param.copy_(torch.from_numpy(rng.uniform(-bound, bound, param.shape).astype(np.float32)))
torch.save(model.state_dict(), "model_weights.pth")

model = SmallVGG()
model.load_state_dict(torch.load("model_weights.pth", weights_only=True))
model.eval()

input_image = torch.from_numpy(rng.uniform(0, 1, (1, 3, 28, 28)).astype(np.float32))
with torch.no_grad():
    print(model(input_image))

input_image = torch.zeros((1, 3, 28, 28))
torch.onnx.export(model, input_image, "model.onnx")
print("exported")
