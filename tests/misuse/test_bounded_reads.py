"""Misuse corpus, reading files (issue 20): every reader is bounded before it allocates. A crafted
checkpoint, safetensors or ONNX file that would make a reader allocate more than 1 GiB fails at
once with our error naming the file and the limit, in a process whose address space may grow
by only 100 MB; a FIFO or a folder is refused without blocking."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import CheckpointError
from tinygrad_cnn.fileio import read_npz

GIB = 2**30
# Runs `tg.load` (or another reader) on argv[1] after capping the address space at what the
# imports use plus 100 MB: allocating the file's claim raises MemoryError instead of our error.
LIMITED = """
import resource, sys
import tinygrad_cnn as tg
from tinygrad_cnn import onnx as tonnx
import onnx, onnx.numpy_helper  # loaded before the cap, as a user's session has them
size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + 100 * 2**20, resource.RLIM_INFINITY))
from tinygrad_cnn.datasets.npz import load_npz
try:
    if sys.argv[2:] == ["dataset"]:
        load_npz(sys.argv[1])
    else:
        (tonnx.load if sys.argv[1].endswith(".onnx") else tg.load)(sys.argv[1])
except BaseException as error:
    print(type(error).__name__, error)
"""


def limited_load(path: Path, *kind: str) -> str:
    """`type: message` of the error loading `path` under the memory cap."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", LIMITED, str(path), *kind], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def npy_header(shape: tuple, dtype: str = "<f4") -> bytes:
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def patch_declared_size(path: Path, member: str, size: int) -> None:
    """Make the zip's central directory claim `size` inflated bytes for `member`."""
    data = bytearray(path.read_bytes())
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(member.encode()))
    data[entry + 24:entry + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(data))


def crafted_checkpoint(path: Path, header_shape: tuple, declared: int | None) -> Path:
    """A checkpoint whose array member `w` has a .npy header of `header_shape` but 1 MB of
    zeros behind it, deflated; `declared`: the inflated size its zip entry claims."""
    tg.save({"w": np.zeros(1, np.float32)}, path)
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("__manifest__.npy")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__manifest__.npy", manifest)
        archive.writestr("w.npy", npy_header(header_shape) + bytes(2**20))
    if declared is not None:
        patch_declared_size(path, "w.npy", declared)
    return path


# ----------------------------------------------------------------------------- .npz checkpoints

def test_a_zip_bomb_checkpoint_fails_fast_in_under_100_mb(tmp_path) -> None:
    path = crafted_checkpoint(tmp_path / "bomb.npz", (GIB,), 4 * GIB - 1)
    assert path.stat().st_size < 2**20
    out = limited_load(path)
    assert out.startswith("CheckpointError") and "bomb.npz" in out, out
    assert "would inflate" in out and "zip bomb" in out


def test_a_header_claiming_more_than_the_member_holds_fails_before_allocating(tmp_path) -> None:
    out = limited_load(crafted_checkpoint(tmp_path / "liar.npz", (GIB,), None))
    assert out.startswith("CheckpointError") and "liar.npz" in out, out
    assert "member 'w.npy' holds <f4 (1073741824,), its manifest declares '<f4' of shape [1]" in out


def test_a_zip_bomb_dataset_npz_fails_fast_in_under_100_mb(tmp_path) -> None:
    path = tmp_path / "digits.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images.npy", npy_header((GIB, 28, 28), "|u1") + bytes(2**20))
        archive.writestr("labels.npy", npy_header((4,), "<i8") + bytes(32))
    patch_declared_size(path, "images.npy", 4 * GIB - 1)
    out = limited_load(path, "dataset")
    assert out.startswith("DataFileError") and "digits.npz" in out and "zip bomb" in out, out


def test_an_empty_member_of_impossible_shape_names_the_file(tmp_path) -> None:
    """No bytes bound an empty array's other dimensions: NumPy's raw ValueError before."""
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", npy_header((0, 10**30)))
    with pytest.raises(CheckpointError, match=r"odd\.npz.*'w\.npy' declares shape \(0, 10+\), "
                                              "which is no array"):
        read_npz(path, CheckpointError, "checkpoint")


def test_a_checkpoint_member_cut_short_is_truncated(tmp_path) -> None:
    path = tmp_path / "cut.npz"
    tg.save({"w": np.ones(1000, np.float32)}, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__manifest__.npy", members["__manifest__.npy"])
        archive.writestr("w.npy", members["w.npy"][:-100])
    message = r"cut\.npz.*'w\.npy' declares float32 data of shape \(1000,\) \(4,000 bytes\)"
    with pytest.raises(CheckpointError, match=message + " but holds 3,900"):
        tg.load(path)


def test_checkpoints_still_round_trip_exactly(tmp_path) -> None:
    state = {"a": np.arange(12, dtype=np.int16).reshape(3, 4).T, "s": "text", "n": 3,
             "t": tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)}
    tg.save(state, tmp_path / "ok.npz")
    back = tg.load(tmp_path / "ok.npz")
    np.testing.assert_array_equal(back["a"], state["a"])
    assert back["s"] == "text" and back["n"] == 3 and back["t"].requires_grad


# ----------------------------------------------------------------------------- safetensors

def safetensors_file(path: Path, header: dict, data: bytes) -> Path:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def test_a_safetensors_header_claiming_1_gib_fails_fast_in_under_100_mb(tmp_path) -> None:
    path = safetensors_file(tmp_path / "big.safetensors",
                            {"w": {"dtype": "F32", "shape": [GIB // 4], "data_offsets": [0, GIB]}},
                            bytes(16))
    out = limited_load(path)
    assert out.startswith("CheckpointError") and "big.safetensors" in out, out
    assert "the tensors end at byte" in out


def test_a_safetensors_header_of_many_megabytes_is_refused_before_parsing(tmp_path) -> None:
    """A header of tiny entries parses into many times its size: the library's 100 MB limit let
    such a file allocate over 1 GiB."""
    entries = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
               for i in range(80000)}
    path = safetensors_file(tmp_path / "many.safetensors", entries, b"")
    with pytest.raises(CheckpointError, match=r"many\.safetensors.*the header claims [0-9,]+ "
                                              r"bytes; the file has [0-9,]+ and the limit is "
                                              "4,194,304"):
        tg.load(path)


def test_a_safetensors_header_length_past_the_file_is_refused_before_reading(tmp_path) -> None:
    path = tmp_path / "long.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    out = limited_load(path)
    assert out.startswith("CheckpointError") and "long.safetensors" in out, out
    assert "the header claims 1,099,511,627,776 bytes; the file has 10" in out


@pytest.mark.parametrize("entry, problem", [
    ({"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}, "needs 16 bytes, its data_offsets"),
    ({"dtype": "XX", "shape": [2], "data_offsets": [0, 8]}, "has no dtype of"),
    ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, "has no dtype of"),
])
def test_safetensors_entries_must_account_for_their_bytes(tmp_path, entry, problem) -> None:
    path = safetensors_file(tmp_path / "bad.safetensors", {"w": entry}, bytes(8))
    with pytest.raises(CheckpointError, match=rf"bad\.safetensors.*{problem}"):
        tg.load(path)


def test_an_empty_safetensors_entry_of_impossible_shape_names_the_file(tmp_path) -> None:
    """No bytes bound an empty tensor's other dimensions: NumPy's raw ValueError before."""
    entry = {"dtype": "F32", "shape": [0, 10**30], "data_offsets": [0, 0]}
    path = safetensors_file(tmp_path / "bad.safetensors", {"w": entry}, b"")
    with pytest.raises(CheckpointError, match=r"bad\.safetensors.*tensor 'w' of shape \[0, 1"
                                              r"0+\] is no array"):
        tg.load(path)


# ----------------------------------------------------------------------------- not regular files

FIFO_LOAD = """
import sys, tinygrad_cnn as tg
try:
    tg.load(sys.argv[1])
except Exception as error:
    print(type(error).__name__, error)
"""


@pytest.mark.parametrize("name", ["pipe.npz", "pipe.safetensors"])
def test_a_fifo_is_refused_at_once(tmp_path, name) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-c", FIFO_LOAD, str(fifo)], capture_output=True,
                          text=True, timeout=120)  # a blocked open would time out here
    assert done.stdout.startswith("CheckpointError"), done.stdout + done.stderr
    assert f"{str(fifo)!r} is a FIFO (named pipe), not a regular file" in done.stdout


def test_a_folder_is_refused_naming_it(tmp_path) -> None:
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(CheckpointError, match=r"dir\.npz' is a folder, not a regular file"):
        tg.load(tmp_path / "dir.npz")


# ----------------------------------------------------------------------------- ONNX

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tinygrad_cnn.onnx import OnnxError  # noqa: E402
from tinygrad_cnn.onnx import load as onnx_load  # noqa: E402


def onnx_model(nodes, inits=(), shape=("N", 1, 4, 4), opset=17, outputs=("y",)):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_an_onnx_input_of_74_gib_fails_fast_in_under_100_mb(tmp_path) -> None:
    path = tmp_path / "huge.onnx"
    onnx.save(onnx_model([helper.make_node("Relu", ["x"], ["y"])],
                         shape=("N", 1, 100000, 100000)), path)
    out = limited_load(path)
    assert out.startswith("OnnxError") and "huge.onnx" in out, out
    assert "'x' of shape ['N', 1, 100000, 100000] would hold 20,000,000,000 values" in out


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def test_an_onnx_file_of_millions_of_empty_nodes_fails_unparsed_in_under_100_mb(tmp_path):
    """8M empty nodes: a 16 MB file whose protobuf parse alone would build about 1.2 GB of
    objects (150 bytes a node, measured); counted on the bytes and refused before parsing."""
    nodes = b"\x0a\x00" * 8_000_000  # GraphProto.node (field 1), each an empty NodeProto
    path = tmp_path / "nodes.onnx"
    path.write_bytes(b"\x3a" + _varint(len(nodes)) + nodes)  # ModelProto.graph (field 7)
    out = limited_load(path)
    assert out.startswith("OnnxError") and "nodes.onnx" in out, out
    assert "holds more than 524,288 protobuf entries" in out and "refused unparsed" in out


def test_the_entry_count_follows_the_schema_and_refuses_broken_bytes() -> None:
    from tinygrad_cnn.onnx.wire import WireError, count_entries

    def count(n: int) -> int:
        model = onnx_model([helper.make_node("Relu", ["x"], ["y"])] * n)
        return count_entries(model.SerializeToString(), onnx.ModelProto.DESCRIPTOR, 10**6)

    relu = count(2) - count(1)  # a node entry, its op_type, one input and one output name
    assert relu == 4 and count(5) - count(1) == 4 * relu
    data = onnx_model([helper.make_node("Relu", ["x"], ["y"])]).SerializeToString()
    with pytest.raises(WireError, match="runs past|truncated"):
        count_entries(data[:-3], onnx.ModelProto.DESCRIPTOR, 10**6)
    assert count_entries(data, onnx.ModelProto.DESCRIPTOR, 3) == 4  # stops once past the limit


def test_an_onnx_layer_whose_output_would_be_huge_fails_before_the_probe(tmp_path) -> None:
    weight = numpy_helper.from_array(np.ones((4096, 1, 1, 1), np.float32), "w")
    path = tmp_path / "wide.onnx"
    onnx.save(onnx_model([helper.make_node("Conv", ["x", "w"], ["y"])], [weight],
                         shape=("N", 1, 1000, 1000)), path)
    out = limited_load(path)
    assert out.startswith("OnnxError") and "wide.onnx" in out, out
    assert "'y' of shape ['N', 4096, 1000, 1000]" in out and "more than the limit" in out


def test_an_initializer_claiming_more_than_its_data_is_refused_before_it_exists() -> None:
    bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[100000, 100000],
                      raw_data=bytes(8))
    with pytest.raises(OnnxError, match=r"initializer 'w' is malformed: .*raw_data size"):
        onnx_load(onnx_model([helper.make_node("Relu", ["x"], ["y"])], [bad]))


def test_external_data_is_never_followed(tmp_path) -> None:
    weight = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="../../etc/passwd")
    weight.ClearField("raw_data")
    with pytest.raises(OnnxError, match=r"keeps \['w'\] in external data files, which are not"):
        onnx_load(onnx_model([helper.make_node("Conv", ["x", "w"], ["y"])], [weight]))


def test_a_constant_nodes_external_data_is_never_followed(tmp_path, monkeypatch) -> None:
    """A Constant's value is a tensor too: numpy_helper read its file from the working folder."""
    (tmp_path / "shape.bin").write_bytes(np.array([0, -1], np.int64).tobytes())
    monkeypatch.chdir(tmp_path)
    value = TensorProto(name="c", data_type=TensorProto.INT64, dims=[2],
                        data_location=TensorProto.EXTERNAL)
    value.external_data.add(key="location", value="shape.bin")
    nodes = [helper.make_node("Constant", [], ["c"], value=value),
             helper.make_node("Reshape", ["x", "c"], ["y"])]
    with pytest.raises(OnnxError, match=r"keeps \['c'\] in external data files, which are not"):
        onnx_load(onnx_model(nodes))


def test_an_onnx_fifo_is_refused_at_once(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe.onnx")
    out = limited_load(tmp_path / "pipe.onnx")  # a blocked open would time out
    assert out.startswith("OnnxError") and "is a FIFO (named pipe)" in out, out


def test_the_onnx_floor_has_the_external_data_fix() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"onnx>=1.16' in text or '"onnx>=1.17' in text or '"onnx>=1.18' in text


def test_an_image_fifo_is_refused_at_once(tmp_path) -> None:
    os.mkfifo(tmp_path / "digit.png")
    code = ("import sys\nfrom tinygrad_cnn.datasets.images import read_gray\n"
            "try:\n    read_gray(sys.argv[1])\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "digit.png")],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("DataFileError") and "is a FIFO (named pipe)" in done.stdout


def manifest_only_checkpoint(path: Path, member: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__manifest__.npy", member)
    return path


def test_a_manifest_of_millions_of_tiny_items_fails_before_parsing(tmp_path) -> None:
    """A few KB of deflated "[[],[],..." parsed into hundreds of MB of Python lists."""
    text = '{"format": "tinygrad_cnn.checkpoint/1", "tree": [' + "[]," * 1_500_000 + "[]]}"
    buffer = io.BytesIO()
    np.save(buffer, np.array(text))
    path = manifest_only_checkpoint(tmp_path / "items.npz", buffer.getvalue())
    out = limited_load(path)
    assert out.startswith("CheckpointError") and "items.npz" in out, out
    assert "has a manifest of 3,000,006 JSON items, more than 1,048,576" in out


def test_a_manifest_member_over_its_limit_is_refused_by_its_header(tmp_path) -> None:
    member = npy_header((), f"<U{9 * 2**20}") + bytes(64)  # 36 MiB of text claimed
    path = manifest_only_checkpoint(tmp_path / "long.npz", member)
    with pytest.raises(CheckpointError, match=r"long\.npz' has a manifest of 37,748,736 bytes, "
                                              r"more than 33,554,432"):
        tg.load(path)


def test_a_member_that_disagrees_with_the_manifest_is_refused_before_reading(tmp_path) -> None:
    path = tmp_path / "swapped.npz"
    tg.save({"w": np.zeros((2, 3), np.float32)}, path)
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("__manifest__.npy")
    with zipfile.ZipFile(path, "w") as archive:  # the same bytes, declared as (3, 2)
        archive.writestr("w.npy", npy_header((3, 2)) + bytes(24))
        archive.writestr("__manifest__.npy", manifest)
    message = r"swapped\.npz': member 'w\.npy' holds <f4 \(3, 2\), its manifest declares '<f4'"
    with pytest.raises(CheckpointError, match=message + r" of shape \[2, 3\]"):
        tg.load(path)
