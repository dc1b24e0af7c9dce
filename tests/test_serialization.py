"""save/load: exact round trips of nested checkpoints, atomic writes, clear errors."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import CheckpointError, Tensor, nn, optim, serialization
from tinygrad_cnn.rng import get_rng_state, set_rng_state


def assert_same(a, b, where="root") -> None:
    """Equal values AND equal types, recursively (1 is not 1.0, a tuple is not a list)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, Tensor):
        assert_same(a.data, b.data, where)
        assert a.requires_grad == b.requires_grad, where
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def test_round_trip_of_a_nested_checkpoint(tmp_path) -> None:
    tc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(Tensor.randn(2, 1, 4, 4)).sum().backward()
    opt.step()
    sched = optim.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    obj = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "epoch": 3, "loss": 0.125, "best": float("nan"), "done": False, "name": "lenet/ü",
        "empty": "", "nothing": None, "huge": 2**70, "neg": -7,
        "config": {"lr": [0.1, 1, True], "shape": (1, 28, 28), "layers": [], "nested": {"a": {}}},
        "rng": get_rng_state(),
        "history": [{"epoch": 1, "acc": 0.5}, {"epoch": 2, "acc": 0.75}],
        "tensor": Tensor(np.arange(3, dtype=np.float64), requires_grad=True),
        "scalars": [np.float32(1.5), np.int16(-3)],
        "half": np.ones((2, 1), np.float16), "ints": np.arange(4, dtype=np.uint8).reshape(2, 2),
        "a/b": np.zeros(1), "a": {"b": np.ones(1)},  # slash-joined keys that collide
    }
    path = tmp_path / "ckpt.npz"
    tc.save(obj, path)
    loaded = tc.load(path)
    assert_same(obj, loaded)
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.95, 0.999)
    # readable as a plain npz too
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["model/0.weight"], obj["model"]["0.weight"])
        assert int(archive["epoch"]) == 3
    # and the loaded state dicts restore the objects
    model2 = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    model2.load_state_dict(loaded["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(loaded["optimizer"])
    assert opt2.state_dict()["state"]["0"]["step"] == 1
    set_rng_state(loaded["rng"])
    np.testing.assert_array_equal(get_rng_state(), obj["rng"])


def test_path_is_used_exactly_and_overwrites(tmp_path) -> None:
    path = tmp_path / "weights.ckpt"
    tc.save({"x": 1}, str(path))
    tc.save({"x": 2}, path)
    assert os.listdir(tmp_path) == ["weights.ckpt"]
    assert tc.load(path) == {"x": 2}


def test_unsupported_values_raise_naming_the_key(tmp_path) -> None:
    with pytest.raises(TypeError, match=r"'cfg/fn'.*without pickle"):
        tc.save({"cfg": {"fn": print}}, tmp_path / "a.npz")
    with pytest.raises(TypeError, match=r"'bad'.*dtype object"):
        tc.save({"bad": np.array([{}, 1], dtype=object)}, tmp_path / "a.npz")
    with pytest.raises(TypeError, match="keys must be str"):
        tc.save({"m": {1: 2}}, tmp_path / "a.npz")
    assert not os.listdir(tmp_path)  # nothing half-written


@pytest.mark.parametrize("fail_in", ["savez", "replace"])
def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch,
                                                           fail_in) -> None:
    path = tmp_path / "ckpt.npz"
    tc.save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial")  # part of an archive, then the crash
        raise OSError("disk full")

    def broken_replace(src, dst):
        raise OSError("rename failed")

    if fail_in == "savez":
        monkeypatch.setattr(serialization.np, "savez", broken_savez)
    else:
        monkeypatch.setattr(serialization.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full|rename failed"):
        tc.save({"epoch": 2, "w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert tc.load(path)["epoch"] == 1


def test_load_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        tc.load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.npz.*not a \.npz archive"):
        tc.load(text)
    good = tmp_path / "good.npz"
    tc.save({"w": np.arange(1000.0)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:700])
    with pytest.raises(CheckpointError, match="truncated.npz"):
        tc.load(truncated)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, obj=np.array([{"a": 1}], dtype=object),
             __manifest__=np.array('{"format": "tinygrad_cnn.checkpoint/1", "tree": {}}'))
    with pytest.raises(CheckpointError, match=r"pickled\.npz.*pickle"):
        tc.load(pickled)


def test_corrupt_member_and_damaged_manifest(tmp_path) -> None:
    good = tmp_path / "good.npz"
    tc.save({"w": np.arange(1000.0)}, good)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("w.npy")
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the array's bytes
    data[start:start + 8] = b"\xff" * 8
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt.npz"):
        tc.load(corrupt)
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, __manifest__=np.array('{"format": "tinygrad_cnn.checkpoint/1"}'))
    with pytest.raises(CheckpointError, match=r"damaged\.npz.*manifest"):
        tc.load(damaged)


def test_plain_npz_without_manifest_is_refused(tmp_path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(2), b=np.arange(3))
    with pytest.raises(CheckpointError, match=r"plain\.npz.*not a tinygrad_cnn checkpoint"):
        tc.load(path)


def test_loading_into_a_different_model_names_key_and_shapes(tmp_path) -> None:
    path = tmp_path / "m.npz"
    tc.save({"model": nn.Sequential(nn.Linear(4, 3)).state_dict()}, path)
    other = nn.Sequential(nn.Linear(5, 3))
    with pytest.raises(ValueError, match=r"'0\.weight'.*\(3, 4\).*\(3, 5\)"):
        other.load_state_dict(tc.load(path)["model"])


def test_map_location_as_a_dict_or_function_loads_on_the_cpu(tmp_path) -> None:
    """Older PyTorch pages write map_location=lambda storage, loc: storage (or a dict of
    devices); only a device other than the CPU is refused."""
    tc.save({"w": np.arange(3, dtype=np.float32)}, tmp_path / "m.pth")
    for where in (lambda storage, loc: storage, {"cuda:0": "cpu"}, tc.device("cpu")):
        assert tc.load(tmp_path / "m.pth", map_location=where)["w"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="map_location=device.*on the CPU"):
        tc.load(tmp_path / "m.pth", map_location=tc.device("cuda"))
