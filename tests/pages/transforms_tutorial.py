"""In the style of "Learn the Basics", transforms_tutorial.py: ToTensor for the images and a
Lambda that turns each label into a one-hot vector with scatter_ (the data is
tests/pages/_data.py's stand-in)."""
import tinygrad_cnn as torch
from tinygrad_cnn.vision import datasets
from tinygrad_cnn.vision.transforms import Lambda, ToTensor

ds = datasets.FashionMNIST(
    root="data",
    train=True,
    download=True,
    transform=ToTensor(),
    target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(
        0, torch.tensor(y), value=1))
)

image, target = ds[0]
print(image.shape, image.dtype, image.min().item(), image.max().item())
print(target)
print(ds[1][1].argmax().item(), ds.targets[1].item())

loader = torch.utils.data.DataLoader(ds, batch_size=8)
images, targets = next(iter(loader))
print(images.shape, targets.shape, targets.sum(1))
