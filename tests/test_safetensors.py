"""tg.save/tg.load with a .safetensors path: the safetensors library reads what we write (keys in
PyTorch's naming, values and dtypes equal), loading back restores the model, bad files raise
CheckpointError naming the file, writes are atomic, and the library loads only when used."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import CheckpointError, Tensor, nn

safetensors_numpy = pytest.importorskip("safetensors.numpy")

# what torch.nn.Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear).state_dict()
# names, in PyTorch's order (parameters, then buffers, module by module)
TORCH_KEYS = ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
              "1.num_batches_tracked", "5.weight", "5.bias"]


def _model() -> nn.Sequential:
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))


def _trained_model() -> nn.Sequential:
    model = _model()
    model(Tensor(np.random.default_rng(1).standard_normal((8, 1, 8, 8)).astype(np.float32)))
    return model  # one training-mode forward moved the running statistics


def test_the_safetensors_library_reads_what_we_save_with_pytorch_keys(tmp_path):
    model = _trained_model()
    state = model.state_dict()
    assert list(state) == TORCH_KEYS
    path = tmp_path / "model.safetensors"
    tg.save(state, path)
    read = safetensors_numpy.load_file(str(path))
    assert sorted(read) == sorted(TORCH_KEYS)
    for key, value in state.items():
        assert read[key].dtype == value.dtype and read[key].shape == value.shape, key
        np.testing.assert_array_equal(read[key], value)
    assert read["1.num_batches_tracked"].dtype == np.int64 and read["1.num_batches_tracked"] == 1


def test_load_back_restores_the_model(tmp_path):
    model = _trained_model().eval()
    path = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), path)
    loaded = tg.load(path)
    assert set(loaded) == set(TORCH_KEYS)
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))
    fresh.load_state_dict(loaded)
    x = Tensor(np.random.default_rng(2).standard_normal((3, 1, 8, 8)).astype(np.float32))
    np.testing.assert_array_equal(fresh.eval()(x).data, model(x).data)


def test_tensors_and_a_file_the_library_wrote_load_too(tmp_path):
    path = tmp_path / "theirs.safetensors"
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    safetensors_numpy.save_file({"fc.weight": weight}, str(path))
    np.testing.assert_array_equal(tg.load(str(path))["fc.weight"], weight)
    tg.save({"w": Tensor(weight)}, tmp_path / "t.SAFETENSORS")
    np.testing.assert_array_equal(tg.load(tmp_path / "t.SAFETENSORS")["w"], weight)


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all", b"\x08" + b"\0" * 7])
def test_bad_files_raise_checkpoint_error_naming_the_file(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"bad\.safetensors.* not a readable safetensors"):
        tg.load(path)


def test_truncated_and_npz_files_raise_and_missing_files_say_so(tmp_path):
    good = tmp_path / "good.safetensors"
    tg.save(_model().state_dict(), good)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        tg.load(cut)
    npz = tmp_path / "npz.safetensors"
    np.savez(npz.with_suffix(".npz"), a=np.ones(2))
    npz.write_bytes(npz.with_suffix(".npz").read_bytes())
    with pytest.raises(CheckpointError, match="npz.safetensors"):
        tg.load(npz)
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        tg.load(tmp_path / "nothing.safetensors")


@pytest.mark.parametrize("state, message", [
    ({"model": {"w": np.ones(2)}}, r"stores arrays only; 'model' is dict .*\.npz"),
    ({"epoch": 3}, r"'epoch' is int"),
    ({1: np.ones(2)}, r"keys must be str, got 1"),
    ([np.ones(2)], r"flat dict of arrays, got list"),
    ({"o": np.array([None])}, r"'o' has dtype object"),
    ({"c": np.ones(2, np.complex128)}, r"cannot write .*o\.safetensors.* as safetensors"),
])
def test_only_flat_dicts_of_arrays_and_a_failed_save_leaves_the_old_file(tmp_path, state,
                                                                          message):
    path = tmp_path / "o.safetensors"
    tg.save({"kept": np.ones(3, np.float32)}, path)
    with pytest.raises(TypeError, match=message):
        tg.save(state, path)
    assert list(tg.load(path)) == ["kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.safetensors"]  # no temp files


def test_missing_library_gives_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r"pip install safetensors"):
        tg.save({"w": np.ones(2)}, tmp_path / "w.safetensors")


def test_importing_the_package_loads_no_bridge_library():
    code = ("import json, sys, tinygrad_cnn, tinygrad_cnn.serialization\n"
            "print(json.dumps(sorted(sys.modules)))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                           text=True, check=True, timeout=120).stdout))
    assert not {"safetensors", "onnx", "onnxruntime"} & loaded
