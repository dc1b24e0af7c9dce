"""Misuse corpus, program and file side (issue 9): what users type at models/mnist.py and what
files they hand to the library, one case each. An error case checks the error type (for the
program: one `error:` line, exit status 2, no traceback), that the message names the file, flag
or key, and that nothing was trained or lost; a value case checks the correct result."""

from __future__ import annotations

import errno
import gzip
import io
import json
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tinygrad_cnn as tg
from tinygrad_cnn import fileio, nn, runs
from tinygrad_cnn.datasets import DataFileError, IDXError, read_idx, write_idx
from tinygrad_cnn.fileio import WriteError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "models"))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


def program(*argv: str) -> tuple[int, str, str]:
    """Run models/mnist.py's main in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = mnist.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def user_error(*argv: str) -> str:
    """The one `error:` line of a refused command; fails unless refused that way."""
    code, _, err = program(*argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 4:2 * k + 6, 4:24] = 255
    return images, labels


def idx_folder(directory: Path, images=None, labels=None) -> Path:
    """MNIST-named IDX files; `images`/`labels` replace the training split's."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 96), ("t10k", 32)):
        x, y = digits(n, seed=len(prefix))
        if prefix == "train":
            x = x if images is None else images
            y = y if labels is None else labels
        write_idx(directory / f"{prefix}-images-idx3-ubyte", x)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", y)
    return directory


def quick(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "seed", "--data", str(data), "--epochs", "1", "--batch-size",
            "32", "--out", str(out), "--quiet", *extra]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return idx_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code, stdout, err = program(*quick(data, out))
    assert code == 0, err
    return out / "checkpoint.npz"


# ----------------------------------------------------------------------------- numeric flags

@pytest.mark.parametrize("flag, value", [
    ("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"), ("--lr", "-0.1"), ("--lr", "abc"),
    ("--epochs", "0"), ("--epochs", "-1"), ("--epochs", "1.5"), ("--limit", "-5"),
    ("--limit", "0"), ("--batch-size", "0"), ("--shift", "-1"), ("--seed", "-1"),
])
def test_bad_numeric_flag_is_refused_before_training(flag, value, data, tmp_path) -> None:
    err = user_error(*quick(data, tmp_path / "out", flag, value))
    assert flag in err and value in err
    assert not (tmp_path / "out").exists()  # refused before anything was made


# ----------------------------------------------------------------------------- the run's folder

def test_out_that_is_a_file(data, tmp_path) -> None:
    (tmp_path / "out").write_text("notes")
    err = user_error(*quick(data, tmp_path / "out"))
    assert f"--out {tmp_path / 'out'} is a file" in err
    assert (tmp_path / "out").read_text() == "notes"


def test_out_that_is_read_only(data, tmp_path, monkeypatch) -> None:
    def read_only(*args, **kwargs):  # what a read-only folder does (root ignores chmod)
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(runs.tempfile, "TemporaryFile", read_only)
    err = user_error(*quick(data, tmp_path / "out"))
    assert "not a writable folder" in err and "Read-only file system" in err


def test_out_below_a_file(data, tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    err = user_error(*quick(data, tmp_path / "file" / "run"))
    assert "file/run" in err and "not a writable folder" in err


@pytest.mark.parametrize("name", ["checkpoint.npz", "report.html", "history.json", "graph.svg"])
def test_output_that_is_a_folder(name, data, tmp_path) -> None:
    (tmp_path / "out" / name).mkdir(parents=True)
    err = user_error(*quick(data, tmp_path / "out"))
    assert f"{tmp_path / 'out' / name} is a folder" in err


def test_another_runs_checkpoint_is_never_replaced_silently(trained, data, tmp_path) -> None:
    before = trained.read_bytes()
    err = user_error(*quick(data, trained.parent, "--lr", "0.2"))
    assert "already holds a run (seed, 1 of 1 epochs)" in err
    assert "--resume" in err and "--overwrite" in err and "another --out" in err
    assert trained.read_bytes() == before


def test_overwrite_replaces_the_run(data, tmp_path) -> None:
    assert program(*quick(data, tmp_path))[0] == 0
    code, out, err = program(*quick(data, tmp_path, "--overwrite", "--epochs", "2"))
    assert code == 0, err
    assert tg.load(tmp_path / "checkpoint.npz")["epoch"] == 2
    err = user_error("train", "--resume", "--out", str(tmp_path), "--epochs", "1")
    assert "--resume --epochs 1: the run has already done 2 epochs" in err


def test_resume_extends_a_run_and_says_so(data, tmp_path) -> None:
    base = ["train", "--model", "lenet", "--data", str(data), "--batch-size", "32", "--out",
            str(tmp_path), "--quiet"]
    assert program(*base, "--epochs", "1")[0] == 0
    code, out, err = program("train", "--resume", "--out", str(tmp_path), "--epochs", "2",
                             "--quiet")
    assert code == 0, err
    assert "extended from 1 to 2 epochs" in out and "onecycle schedule is rebuilt" in out
    state = tg.load(tmp_path / "checkpoint.npz")
    assert state["epoch"] == 2 and state["scheduler"]["total_steps"] == 2 * 3
    assert json.loads(state["config"])["batch_size"] == 32  # taken from the run, not lenet's 128


def test_resume_cannot_shrink_a_run(trained) -> None:
    err = user_error("train", "--resume", "--out", str(trained.parent), "--epochs", "0")
    assert "--epochs" in err
    code, _, err = program("train", "--resume", "--out", str(trained.parent), "--epochs", "1",
                           "--quiet")
    assert code == 0 and "finished its 1 epochs" in _


def test_resume_with_other_settings(trained) -> None:
    err = user_error("train", "--resume", "--out", str(trained.parent), "--lr", "0.5")
    assert "--lr 0.05 -> 0.5" in err


# ----------------------------------------------------------------------------- the data

def test_labels_of_ten_or_more(tmp_path) -> None:
    images, labels = digits(96)
    labels[17] = 12
    data = idx_folder(tmp_path / "d", labels=labels)
    err = user_error(*quick(data, tmp_path / "out"))
    assert "train-labels-idx1-ubyte" in err and "label 12 at index 17" in err
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_float_idx_labels(tmp_path) -> None:
    data = idx_folder(tmp_path / "d", labels=digits(96)[1].astype(np.float32) + 0.5)
    err = user_error(*quick(data, tmp_path / "out"))
    assert "train-labels-idx1-ubyte" in err and "float32" in err and "integers" in err


def test_float_images_in_0_255(tmp_path) -> None:
    data = idx_folder(tmp_path / "d", images=digits(96)[0].astype(np.float32))
    err = user_error(*quick(data, tmp_path / "out"))
    assert "train-images-idx3-ubyte" in err and "[0, 1]" in err and "0..255" in err


def test_float_images_in_0_1_train(tmp_path) -> None:
    data = idx_folder(tmp_path / "d", images=digits(96)[0].astype(np.float32) / 255)
    code, _, err = program(*quick(data, tmp_path / "out"))
    assert code == 0, err


def test_int16_images(tmp_path) -> None:
    data = idx_folder(tmp_path / "d", images=digits(96)[0].astype(np.int16))
    err = user_error(*quick(data, tmp_path / "out"))
    assert "train-images-idx3-ubyte" in err and "int16" in err


def test_images_of_another_size(tmp_path) -> None:
    data = idx_folder(tmp_path / "d", images=np.zeros((96, 32, 32), np.uint8))
    err = user_error(*quick(data, tmp_path / "out"))
    assert "train-images-idx3-ubyte" in err and "(96, 32, 32)" in err


def test_missing_data_folder(tmp_path) -> None:
    err = user_error(*quick(tmp_path / "nowhere", tmp_path / "out"))
    assert "nowhere" in err


def folder(directory: Path, classes: list[str]) -> Path:
    for name in classes:
        (directory / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(digits(1, i)[0][0]).save(directory / name / f"{i}.png")
    return directory


def test_class_folder_ten_with_report(tmp_path) -> None:
    train = folder(tmp_path / "train", [str(k) for k in range(10)])
    test = folder(tmp_path / "test", [str(k) for k in range(11)])
    err = user_error("train", "--model", "seed", "--train-dir", str(train), "--test-dir",
                     str(test), "--epochs", "1", "--out", str(tmp_path / "out"), "--report",
                     "--quiet")
    assert f"{test / '10'}: label folder 10 is not a class 0..9" in err
    assert not (tmp_path / "out" / "checkpoint.npz").exists()  # refused before training


# ----------------------------------------------------------------------------- eval and predict

def test_eval_missing_checkpoint(tmp_path) -> None:
    err = user_error("eval", str(tmp_path / "gone.npz"))
    assert "gone.npz: no such checkpoint" in err


def test_eval_a_folder(tmp_path) -> None:
    assert "no such checkpoint file" in user_error("eval", str(tmp_path))


def test_eval_a_plain_npz(tmp_path) -> None:
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    err = user_error("eval", str(tmp_path / "plain.npz"))
    assert "plain.npz" in err and "not a tinygrad_cnn checkpoint" in err


def test_eval_a_checkpoint_of_another_program(tmp_path) -> None:
    tg.save({"weights": np.ones(3)}, tmp_path / "other.npz")
    err = user_error("eval", str(tmp_path / "other.npz"))
    assert "other.npz: not a checkpoint of this program" in err


def test_predict_huge_picture(trained, tmp_path) -> None:
    from test_images import fake_png  # a header that claims 20000x20000
    (tmp_path / "huge.png").write_bytes(fake_png(20000, 20000))
    err = user_error("predict", str(trained), str(tmp_path / "huge.png"))
    assert "huge.png" in err and "more than 50,000,000" in err


def test_predict_text_file(trained, tmp_path) -> None:
    (tmp_path / "digit.png").write_text("not a picture")
    assert "digit.png: cannot read image" in user_error("predict", str(trained),
                                                        str(tmp_path / "digit.png"))


def test_predict_blank_picture(trained, tmp_path) -> None:
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(tmp_path / "blank.png")
    assert "blank.png: the image holds no ink" in user_error("predict", str(trained),
                                                             str(tmp_path / "blank.png"))


def test_predict_nothing(trained) -> None:
    assert "give image files" in user_error("predict", str(trained))


def test_predict_shows_its_input(trained, tmp_path) -> None:
    drawing = np.full((60, 40), 255, np.uint8)
    drawing[10:50, 18:24] = 0
    Image.fromarray(drawing).save(tmp_path / "one.png")
    code, out, err = program("predict", str(trained), str(tmp_path / "one.png"),
                             "--show-input", str(tmp_path / "seen.png"))
    assert code == 0, err
    seen = np.asarray(Image.open(tmp_path / "seen.png"))
    assert seen.shape == (28, 28) and seen[14, 14] > 200 and seen[0, 0] == 0


def test_a_bug_in_our_code_keeps_its_traceback(data, tmp_path, monkeypatch) -> None:
    def broken(self, *args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(runs.Run, "prepare", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        program(*quick(data, tmp_path))


# ----------------------------------------------------------------------------- IDX files

def test_gzip_bomb_fails_fast_and_small(tmp_path) -> None:
    header = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big")
    with gzip.open(tmp_path / "bomb.gz", "wb") as f:
        f.write(header)
        for _ in range(200):
            f.write(bytes(1 << 20))  # 200 MiB of zeros, about 200 KB compressed
    tracemalloc.start()
    with pytest.raises(IDXError, match=r"bomb\.gz: trailing bytes: expected 10 bytes"):
        read_idx(tmp_path / "bomb.gz")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20


def test_gzip_claiming_more_than_it_holds(tmp_path) -> None:
    header = bytes([0, 0, 8, 2]) + (60000).to_bytes(4, "big") * 2  # 3.6 GB claimed
    (tmp_path / "liar.gz").write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(IDXError, match=r"liar\.gz: its \d+ gzipped bytes claim 3,600,000,000"):
        read_idx(tmp_path / "liar.gz")


def test_raw_idx_claiming_more_than_it_holds(tmp_path) -> None:
    (tmp_path / "liar").write_bytes(bytes([0, 0, 8, 1]) + (2**31).to_bytes(4, "big"))
    with pytest.raises(IDXError, match=r"liar: truncated: expected 2147483648 bytes"):
        read_idx(tmp_path / "liar")


# ----------------------------------------------------------------------------- checkpoints

def test_load_a_plain_zip(tmp_path) -> None:
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(tg.CheckpointError, match=r"notes\.zip.*not a tinygrad_cnn checkpoint"):
        tg.load(tmp_path / "notes.zip")


def test_load_a_pytorch_file(tmp_path) -> None:
    with zipfile.ZipFile(tmp_path / "model.pt", "w") as archive:  # torch.save's layout
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/version", "3")
    with pytest.raises(tg.CheckpointError, match=r"model\.pt.*PyTorch"):
        tg.load(tmp_path / "model.pt")


def manifest_file(path: Path, tree, fmt: str = "tinygrad_cnn.checkpoint/1", **arrays) -> Path:
    manifest = json.dumps({"format": fmt, "tree": tree})
    np.savez(path, __manifest__=np.array(manifest), **arrays)
    return path


def node(**fields):
    return fields


def items(*pairs):
    return {"type": "dict", "items": [list(p) for p in pairs]}


@pytest.mark.parametrize("tree, key, words", [
    (None, "<root>", "should be an object"),
    ({"items": []}, "<root>", "'type' should be str"),
    ({"type": 3}, "<root>", "'type' should be str"),
    ({"type": "dict", "items": {}}, "<root>", "'items' should be list"),
    ({"type": "dict", "items": [["a"]]}, "<root>", "[key, node] pair"),
    ({"type": "dict", "items": [[1, {"type": "none"}]]}, "<root>", "[key, node] pair"),
    (items(("w", {"type": "array"})), "w", "'key' should be str"),
    (items(("w", {"type": "array", "key": "gone"})), "w", "not in the archive"),
    (items(("w", {"type": "tensor", "key": "a"})), "w", "'requires_grad' should be bool"),
    (items(("w", {"type": "tensor", "key": "a", "requires_grad": "yes"})), "w",
     "'requires_grad' should be bool"),
    (items(("n", {"type": "list", "numbers": [1, "2"]})), "n", "only numbers"),
    (items(("n", {"type": "list", "items": 5})), "n", "'items' should be list"),
    (items(("b", {"type": "bigint", "value": "12x"})), "b", "should be an integer"),
    (items(("e", {"type": "epochs"})), "e", "unknown node type"),
    (items(("m", items(("x", {"type": "int", "key": "a"})))), "m/x", "0-d array"),
])
def test_damaged_manifest_names_the_key(tree, key, words, tmp_path) -> None:
    path = manifest_file(tmp_path / "edited.npz", tree, a=np.ones(3, np.float32))
    with pytest.raises(tg.CheckpointError) as error:
        tg.load(path)
    message = str(error.value)
    assert "edited.npz" in message and words in message
    assert f"at key {key!r}" in message


@pytest.mark.parametrize("depth", [500, 100_000])  # past our limit; past json's recursion
def test_deeply_nested_manifest(depth, tmp_path) -> None:
    tree = '{"type": "list", "items": [' * depth + '{"type": "none"}' + "]}" * depth
    manifest = '{"format": "tinygrad_cnn.checkpoint/1", "tree": ' + tree + "}"
    np.savez(tmp_path / "deep.npz", __manifest__=np.array(manifest))
    with pytest.raises(tg.CheckpointError, match=r"deep\.npz.*(nested deeper|damaged)"):
        tg.load(tmp_path / "deep.npz")


@pytest.mark.parametrize("manifest", ['"just a string"', "[1, 2]", '{"format": 1}', "{"])
def test_manifest_that_is_not_ours(manifest, tmp_path) -> None:
    np.savez(tmp_path / "m.npz", __manifest__=np.array(manifest))
    with pytest.raises(tg.CheckpointError, match=r"m\.npz"):
        tg.load(tmp_path / "m.npz")


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), [[1.0], [2.0, 3.0]], {"not": "array"}])
def test_load_state_dict_checks_everything_before_changing_anything(bad) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    before = model.state_dict()
    state = {key: np.zeros_like(value) for key, value in before.items()}
    state["1.weight"] = bad
    with pytest.raises((TypeError, ValueError), match=r"'1\.weight'"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)  # layer 0 untouched


# ----------------------------------------------------------------------------- full disk

def _disk_full(monkeypatch) -> None:
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(fileio.os, "fsync", no_space)


def _profiled(path: Path) -> None:
    model = nn.Sequential(nn.Linear(4, 2))
    with tg.Profiler(model, batch_size=1) as profiler:
        model(tg.Tensor(np.ones((1, 4), np.float32))).sum().backward()
    profiler.to_json(path)


def _graph(path: Path) -> None:
    x = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    try:
        tg.render_graph(tg.draw_graph((x * 2).sum()), path)
    except tg.viz.GraphvizNotFoundError:
        fileio.write_text(path, "dot is missing")  # the fallback .dot is written the same way


def _plot(path: Path) -> None:
    from tinygrad_cnn import plots
    plots.plot_history({"step_loss": [1.0, 0.5], "epoch": [1]}, path)


def _gif(path: Path) -> None:
    from tinygrad_cnn import plots
    plots.kernels_gif([np.ones((2, 1, 3, 3)), np.zeros((2, 1, 3, 3))], path)


def _report(path: Path) -> None:
    from tinygrad_cnn.report import write_report
    assert write_report(path.parent, {"model": "x"}, [{"epoch": 1}]) == path


WRITERS = {
    "checkpoint.npz": lambda path: tg.save({"w": np.ones(3)}, path),
    "history.json": lambda path: runs.Run(path.parent).write_json(path.name, {"a": 1}),
    "profile.json": _profiled,
    "graph.svg": _graph,
    "history.png": _plot,
    "kernels.gif": _gif,
    "report.html": _report,
    "images.idx": lambda path: write_idx(path, np.ones(3, np.uint8)),
    "seen.png": lambda path: mnist.save_gray(np.zeros((1, 28, 28), np.uint8), path),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_full_disk_keeps_the_old_file(name, tmp_path, monkeypatch) -> None:
    path = tmp_path / name
    WRITERS[name](path)  # a first, good write
    old = path.read_bytes()
    _disk_full(monkeypatch)
    with pytest.raises(WriteError) as error:
        WRITERS[name](path)
    assert str(error.value) == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_full_disk_during_training_is_one_error_line(data, tmp_path, monkeypatch) -> None:
    _disk_full(monkeypatch)
    err = user_error(*quick(data, tmp_path))
    assert err == f"error: cannot write {tmp_path / 'checkpoint.npz'}: No space left on device\n"


# ----------------------------------------------------------------------------- the data layer

def test_normalize_refuses_floats_in_0_255() -> None:
    from tinygrad_cnn.data import Normalize
    with pytest.raises(ValueError, match=r"Normalize: float images must lie in \[0, 1\], found "
                                         r"0\.\.255"):
        Normalize()(np.array([[0.0, 255.0]], np.float32))
    np.testing.assert_allclose(Normalize()(np.array([0.0, 1.0], np.float32)),
                               [-0.1307 / 0.3081, (1 - 0.1307) / 0.3081], rtol=1e-6)


def test_data_loader_refuses_float_labels() -> None:
    from tinygrad_cnn.data import DataLoader
    with pytest.raises(TypeError, match="labels must be integers .* float64"):
        DataLoader(np.zeros((4, 28, 28), np.uint8), np.array([0.5, 1.0, 2.0, 3.0]))


@pytest.mark.parametrize("given", ["--train-dir", "--test-dir"])
def test_one_image_folder_without_the_other(given, tmp_path) -> None:
    train = folder(tmp_path / "digits", [str(k) for k in range(10)])
    err = user_error("train", given, str(train), "--out", str(tmp_path / "out"))
    assert "--train-dir and --test-dir go together" in err


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_read_idx_of_a_missing_file_or_a_folder(make, tmp_path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    if make == "folder":
        path.mkdir()
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: cannot read"):
        read_idx(path)


def test_confusion_matrix_with_a_label_beyond_the_classes() -> None:
    from tinygrad_cnn.plots import confusion_matrix
    with pytest.raises(ValueError, match="a label of 10 is outside the 10 classes"):
        confusion_matrix(np.array([1, 10]), np.array([1, 2]), 10)


@pytest.mark.parametrize("std", [0.0, -1.0, float("nan")])
def test_normalize_with_a_std_that_is_not_positive(std) -> None:
    from tinygrad_cnn.data import Normalize
    with pytest.raises(ValueError, match="std finite and > 0"):
        Normalize(std=std)


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_damaged_checkpoint_in_out(resume, data, tmp_path) -> None:
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 half a file")
    err = user_error(*quick(data, tmp_path, *resume))
    assert "checkpoint.npz" in err and "--overwrite" in err
    assert program(*quick(data, tmp_path, "--overwrite"))[0] == 0


def test_report_into_a_folder_that_is_a_file(tmp_path) -> None:
    from tinygrad_cnn.report import write_report
    (tmp_path / "run").write_text("x")
    with pytest.raises(WriteError, match=r"cannot write .*run"):
        write_report(tmp_path / "run", {}, [])


def test_plot_below_a_file(tmp_path) -> None:
    from tinygrad_cnn import plots
    (tmp_path / "run").write_text("x")
    with pytest.raises(WriteError, match=r"cannot write .*run"):
        plots.plot_history({"step_loss": [1.0]}, tmp_path / "run" / "history.png")


def test_export_image_folder_into_a_file(tmp_path) -> None:
    from tinygrad_cnn.datasets import export_image_folder
    (tmp_path / "digits").write_text("x")
    with pytest.raises(DataFileError, match=r"digits: is a file"):
        export_image_folder(np.zeros((1, 28, 28), np.uint8), np.array([3]), tmp_path / "digits")


def test_checkpoint_into_a_missing_folder(tmp_path) -> None:
    with pytest.raises(WriteError, match=r"cannot write .*nowhere/m\.npz: No such file"):
        tg.save({"w": np.ones(2)}, tmp_path / "nowhere" / "m.npz")
