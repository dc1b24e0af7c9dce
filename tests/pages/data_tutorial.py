"""In the style of "Learn the Basics", data_tutorial.py: FashionMNIST through torchvision's
datasets, indexing samples (torch.randint) and plotting a grid with matplotlib, a custom Dataset
reading image files listed in a CSV (decode_image; the csv module where the page uses pandas),
and a shuffled DataLoader. The data is tests/pages/_data.py's stand-in; the images for the
custom dataset are written by the script."""
import csv
import os

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

import tinygrad_cnn as torch  # noqa: E402
from tinygrad_cnn.utils.data import DataLoader, Dataset  # noqa: E402
from tinygrad_cnn.vision import datasets  # noqa: E402
from tinygrad_cnn.vision.io import decode_image  # noqa: E402
from tinygrad_cnn.vision.transforms import ToTensor  # noqa: E402

training_data = datasets.FashionMNIST(
    root="data",
    train=True,
    download=True,
    transform=ToTensor()
)

test_data = datasets.FashionMNIST(
    root="data",
    train=False,
    download=True,
    transform=ToTensor()
)

labels_map = {
    0: "T-Shirt",
    1: "Trouser",
    2: "Pullover",
    3: "Dress",
    4: "Coat",
    5: "Sandal",
    6: "Shirt",
    7: "Sneaker",
    8: "Bag",
    9: "Ankle Boot",
}
figure = plt.figure(figsize=(8, 8))
cols, rows = 3, 3
for i in range(1, cols * rows + 1):
    sample_idx = torch.randint(len(training_data), size=(1,)).item()
    img, label = training_data[sample_idx]
    figure.add_subplot(rows, cols, i)
    plt.title(labels_map[label])
    plt.axis("off")
    plt.imshow(img.squeeze(), cmap="gray")
plt.savefig("grid.png")
print(os.path.exists("grid.png"))


class CustomImageDataset(Dataset):
    def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
        with open(annotations_file, newline="") as f:
            self.img_labels = list(csv.reader(f))
        self.img_dir = img_dir
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        img_path = os.path.join(self.img_dir, self.img_labels[idx][0])
        image = decode_image(img_path)
        label = int(self.img_labels[idx][1])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


os.makedirs("images", exist_ok=True)
with open("labels.csv", "w", newline="") as f:
    writer = csv.writer(f)
    for k in range(4):
        pixels = (np.arange(28 * 28).reshape(28, 28) * (k + 1) % 256).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join("images", f"img{k}.png"))
        writer.writerow([f"img{k}.png", k])

custom = CustomImageDataset("labels.csv", "images", transform=lambda x: x.float() / 255)
image, label = custom[2]
print(len(custom), image.shape, image.dtype, label, image.sum().item())

custom_loader = DataLoader(custom, batch_size=2)
images, labels = next(iter(custom_loader))
print(images.shape, labels)

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)

train_features, train_labels = next(iter(train_dataloader))
print(f"Feature batch shape: {train_features.size()}")
print(f"Labels batch shape: {train_labels.size()}")
img = train_features[0].squeeze()
label = train_labels[0]
plt.imshow(img, cmap="gray")
plt.savefig("sample.png")
print(f"Label is one of the classes: {0 <= label.item() < 10}")
