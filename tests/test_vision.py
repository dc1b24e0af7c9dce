"""tinygrad_cnn.vision: torchvision's datasets.MNIST/FashionMNIST and transforms, their numbers
(torchvision's ToTensor + Normalize computed by PyTorch 2.13, written down) and the batched
DataLoader path (equal to sample-by-sample collation)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from PIL import Image

import tinygrad_cnn as tg
import tinygrad_cnn.vision.datasets as vision_datasets
from tinygrad_cnn.data import DataLoader
from tinygrad_cnn.datasets import fashion, write_idx
from tinygrad_cnn.datasets.cache import sha256_array
from tinygrad_cnn.vision import datasets, transforms

MNIST_TRANSFORM = transforms.Compose([transforms.ToTensor(),
                                      transforms.Normalize((0.1307,), (0.3081,))])


def _pixels(n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.fixture
def fetched(monkeypatch):
    """`mnist`/`fashion_mnist` replaced by small arrays; records which splits were fetched."""
    calls = []
    splits = {"train": _pixels(12, 0), "test": _pixels(5, 1)}

    def fetch(split, root):
        calls.append((split, root))
        return splits[split]
    monkeypatch.setattr(vision_datasets, "mnist", fetch)
    monkeypatch.setattr(vision_datasets, "fashion_mnist", fetch)
    return calls, splits


# ----- transforms: torchvision's numbers -------------------------------------------------------
def test_to_tensor_and_normalize_give_torchvisions_float32_numbers():
    # PyTorch 2.13: torch.arange(256).to(uint8).float().div(255).sub(0.1307).div(0.3081)
    image = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16))
    x = MNIST_TRANSFORM(image)
    assert isinstance(x, tg.Tensor) and x.shape == (1, 16, 16) and x.dtype == np.float32
    got = x.numpy().ravel()[[0, 1, 100, 255]].tolist()
    assert got == [-0.4242129623889923, -0.4114847183227539, 0.8486104011535645,
                   2.821486711502075]


def test_to_tensor_is_hwc_to_chw_and_scales_only_uint8():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # H=2, W=3, C=3
    x = transforms.ToTensor()(rgb)
    assert x.shape == (3, 2, 3)
    np.testing.assert_array_equal(x.numpy()[1], rgb[:, :, 1] / np.float32(255))
    floats = np.full((2, 2, 1), 7.5, np.float64)
    kept = transforms.ToTensor()(floats)
    assert kept.dtype == np.float64 and kept.shape == (1, 2, 2) and kept.numpy().max() == 7.5
    assert transforms.PILToTensor()(Image.fromarray(rgb)).dtype == np.uint8


def test_to_tensor_of_a_1_bit_image_is_float_zeros_and_ones():
    """torchvision multiplies mode '1' by 255 before its uint8 scaling: 0. and 1. in float32
    (NumPy reads the pixels as bools, which were kept as a bool tensor)."""
    bits = Image.fromarray(np.array([[0, 255, 0], [255, 255, 0]], np.uint8)).convert("1")
    x = transforms.ToTensor()(bits)
    assert x.dtype == np.float32 and x.shape == (1, 2, 3)
    assert x.tolist() == [[[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]]


def test_normalize_per_channel_and_its_refusals():
    x = tg.tensor(np.ones((3, 2, 2), np.float32))
    out = transforms.Normalize([0.0, 0.5, 1.0], [1.0, 0.5, 2.0])(x).numpy()
    np.testing.assert_array_equal(out[:, 0, 0], [1.0, 1.0, 0.0])
    with pytest.raises(TypeError, match="float tensor"):
        transforms.Normalize(0.5, 0.5)(tg.tensor(np.ones((1, 2, 2), np.uint8)))
    with pytest.raises(TypeError, match="ToTensor first"):
        transforms.Normalize(0.5, 0.5)(Image.fromarray(np.zeros((2, 2), np.uint8)))
    with pytest.raises(ValueError, match="zero"):
        transforms.Normalize(0.5, 0.0)


def test_lambda_and_compose_run_in_order():
    t = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x * 2)])
    assert t(np.full((1, 1), 255, np.uint8)).item() == 2.0
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


def test_random_crop_with_padding_is_a_zero_filled_shift():
    tg.manual_seed(0)
    image = np.arange(1, 26, dtype=np.uint8).reshape(5, 5)
    out = np.asarray(transforms.RandomCrop(5, padding=2)(Image.fromarray(image)))
    assert out.shape == (5, 5)
    shifts = [np.roll(np.pad(image, 2), (dy, dx), (0, 1))[2:7, 2:7]
              for dy in range(-2, 3) for dx in range(-2, 3)]
    assert any(np.array_equal(out, s) for s in shifts)
    smaller = transforms.RandomCrop(3)(tg.tensor(image[None].astype(np.float32)))
    assert smaller.shape == (1, 3, 3)
    with pytest.raises(ValueError, match="larger"):
        transforms.RandomCrop(8, padding=1)(Image.fromarray(image))


def test_horizontal_flip_mirrors_with_probability_p():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    flipped = transforms.RandomHorizontalFlip(p=1.0)(Image.fromarray(image))
    np.testing.assert_array_equal(np.asarray(flipped), image[:, ::-1])
    kept = transforms.RandomHorizontalFlip(p=0.0)(tg.tensor(image[None]))
    np.testing.assert_array_equal(kept.numpy()[0], image)


# ----- datasets --------------------------------------------------------------------------------
def test_mnist_samples_are_pil_images_and_int_labels(fetched):
    calls, splits = fetched
    data = datasets.MNIST("data", train=True, download=True)
    assert sorted(calls) == [("test", "data"), ("train", "data")]  # both splits, as torchvision
    image, label = data[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(image), splits["train"][0][3])
    assert type(label) is int and label == splits["train"][1][3]
    assert len(data) == 12 and data.data.dtype == np.uint8 and data.targets.dtype == np.int64
    assert data.class_to_idx["3 - three"] == 3 and "Split: Train" in repr(data)


def test_fashion_mnist_transforms_and_classes(fetched):
    data = datasets.FashionMNIST(root="data", train=False, download=True,
                                 transform=transforms.ToTensor(),
                                 target_transform=transforms.Lambda(lambda y: y + 100))
    x, y = data[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0 <= x.numpy().min()
    assert y == fetched[1]["test"][1][0] + 100
    assert data.classes[9] == "Ankle boot" and len(data) == 5


def test_without_download_reads_roots_verified_cache(tmp_path, monkeypatch):
    images, labels = _pixels(4)
    spec = dataclasses.replace(
        fashion.FASHION_MNIST, counts={"train": 4, "test": 4},
        sha256={"train-images-idx3-ubyte": sha256_array(images),
                "train-labels-idx1-ubyte": sha256_array(labels.astype(np.uint8))})
    monkeypatch.setattr(datasets.FashionMNIST, "spec", spec)
    write_idx(tmp_path / "fashion-mnist" / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte", labels.astype(np.uint8))
    data = datasets.FashionMNIST(tmp_path, train=True)
    np.testing.assert_array_equal(data.targets.numpy(), labels)
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        datasets.FashionMNIST(tmp_path, train=False)


def test_dataloader_batches_equal_sample_by_sample_collation(fetched):
    data = datasets.MNIST("data", download=True, transform=MNIST_TRANSFORM)
    x, y = next(iter(DataLoader(data, batch_size=5, shuffle=True)))
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    loader = DataLoader(data, batch_size=5)
    x, y = next(iter(loader))
    for i in range(5):
        sample_x, sample_y = data[i]
        np.testing.assert_array_equal(x.numpy()[i], sample_x.numpy())  # bit for bit
        assert y.numpy()[i] == sample_y


def test_dataloader_falls_back_to_samples_for_lambdas_and_target_transforms(fetched):
    slow = datasets.MNIST("data", download=True,
                          transform=transforms.Compose([transforms.ToTensor(),
                                                        transforms.Lambda(lambda t: t + 1)]),
                          target_transform=lambda y: y * 2)
    x, y = next(iter(DataLoader(slow, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and x.numpy().min() >= 1
    np.testing.assert_array_equal(y.numpy(), fetched[1]["train"][1][:4] * 2)
    fast_targets = datasets.MNIST("data", download=True, transform=transforms.ToTensor(),
                                  target_transform=lambda y: y * 2)
    _, y = next(iter(DataLoader(fast_targets, batch_size=4)))
    np.testing.assert_array_equal(y.numpy(), fetched[1]["train"][1][:4] * 2)


def test_pil_samples_without_a_transform_cannot_be_batched(fetched):
    with pytest.raises(TypeError, match="cannot batch"):
        next(iter(DataLoader(datasets.MNIST("data", download=True), batch_size=2)))


def test_decode_image_reads_a_png_as_uint8_chw(tmp_path):
    from tinygrad_cnn.vision.io import ImageReadMode, decode_image, read_image

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    image = decode_image(tmp_path / "x.png")
    assert image.dtype == np.uint8 and image.shape == (3, 2, 3)
    np.testing.assert_array_equal(image.numpy()[2], rgb[:, :, 2])
    assert read_image(tmp_path / "x.png", ImageReadMode.GRAY).shape == (1, 2, 3)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_decode_image_refuses_what_is_no_image_file_naming_it(tmp_path):
    from tinygrad_cnn.vision.io import decode_image

    os.mkfifo(tmp_path / "pipe.png")  # opening it blocked the reader for ever
    with pytest.raises(RuntimeError, match=r"pipe\.png' is a FIFO"):
        decode_image(tmp_path / "pipe.png")
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(RuntimeError, match=r"cannot read '.*notes\.png' as an image"):
        decode_image(tmp_path / "notes.png")


def test_a_random_split_of_a_vision_dataset_batches_as_its_samples(fetched):
    from tinygrad_cnn.utils.data import random_split

    data = datasets.MNIST("data", download=True, transform=MNIST_TRANSFORM)
    part, _ = random_split(data, [8, 4], seed=0)
    x, y = next(iter(DataLoader(part, batch_size=8)))
    for i in range(8):
        sample_x, sample_y = part[i]
        np.testing.assert_array_equal(x.numpy()[i], sample_x.numpy())
        assert y.numpy()[i] == sample_y
