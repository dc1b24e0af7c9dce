"""Misuse corpus, the CLI's outputs (issue 20): no command of models/mnist.py writes over a file
it was given (exit 2, the input byte-identical), nor over a file it did not write without
--overwrite; a run folder is locked while training; Ctrl-C (SIGINT) or SIGTERM finishes the step,
checkpoints, prints the --resume command and exits 130, and --resume then ends exactly where an
uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg

from .test_program_io import idx_folder, mnist, program, quick, user_error

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return idx_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture()
def checkpoint(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code, _, err = program(*quick(data, out))
    assert code == 0, err
    return out / "checkpoint.npz"


def refused_keeping(path: Path, *argv: str) -> str:
    """The one error line of a command that must refuse and leave `path` byte-identical."""
    before = path.read_bytes()
    err = user_error(*argv)
    assert path.read_bytes() == before
    return err


# ----------------------------------------------------------------------------- its own input

def test_export_onto_its_checkpoint(checkpoint) -> None:
    err = refused_keeping(checkpoint, "export", str(checkpoint), str(checkpoint))
    assert f"out {checkpoint} is the checkpoint this command reads" in err


def test_export_weights_onto_its_checkpoint(checkpoint, tmp_path) -> None:
    err = refused_keeping(checkpoint, "export", str(checkpoint), str(tmp_path / "m.onnx"),
                          "--safetensors", str(checkpoint))
    assert f"--safetensors {checkpoint} is the checkpoint this command reads" in err
    assert not (tmp_path / "m.onnx").exists()  # refused before anything was written


def test_export_onto_its_checkpoint_through_a_hard_link(checkpoint, tmp_path) -> None:
    os.link(checkpoint, tmp_path / "alias.onnx")
    err = refused_keeping(checkpoint, "export", str(checkpoint), str(tmp_path / "alias.onnx"),
                          "--overwrite")
    assert "is the checkpoint this command reads" in err


def test_export_both_outputs_to_one_file(checkpoint, tmp_path) -> None:
    same = str(tmp_path / "m.onnx")
    err = user_error("export", str(checkpoint), same, "--safetensors", same)
    assert f"out and --safetensors both name {same}" in err


def test_predict_show_input_onto_its_checkpoint(checkpoint, data) -> None:
    err = refused_keeping(checkpoint, "predict", str(checkpoint), "--random-test",
                          "--show-input", str(checkpoint), "--data", str(data))
    assert f"--show-input {checkpoint} is the checkpoint this command reads" in err


def test_predict_show_input_onto_its_image(checkpoint, tmp_path) -> None:
    from PIL import Image

    image = tmp_path / "digit.png"
    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(image)
    err = refused_keeping(image, "predict", str(checkpoint), str(image), "--show-input",
                          str(image), "--overwrite")
    assert f"--show-input {image} is the image {image} this command reads" in err


def test_predict_show_input_into_its_data(checkpoint, data) -> None:
    target = data / "t10k-images-idx3-ubyte"
    err = refused_keeping(target, "predict", str(checkpoint), "--random-test", "--data",
                          str(data), "--show-input", str(target), "--overwrite")
    assert "is the --data folder this command reads" in err


def test_a_new_file_beside_the_idx_data_is_no_input(checkpoint, data, tmp_path) -> None:
    """The IDX reader reads its files by name: a picture written next to them reads nothing."""
    beside = tmp_path / "idx"
    beside.mkdir()
    for name in os.listdir(data):
        os.link(data / name, beside / name)
    code, _, err = program("predict", str(checkpoint), "--random-test", "--data", str(beside),
                           "--show-input", str(beside / "shown.png"))
    assert code == 0, err
    assert (beside / "shown.png").is_file()


def test_explore_static_onto_its_checkpoint(checkpoint, data) -> None:
    err = refused_keeping(checkpoint, "explore", str(checkpoint), "--static", str(checkpoint),
                          "--data", str(data))
    assert f"--static {checkpoint} is the checkpoint this command reads" in err


def test_eval_writes_nothing(checkpoint, data) -> None:
    before = {p: p.read_bytes() for p in checkpoint.parent.iterdir()}
    code, out, err = program("eval", str(checkpoint), "--data", str(data))
    assert code == 0, err
    assert {p: p.read_bytes() for p in checkpoint.parent.iterdir()} == before


def test_train_into_its_data_folder(data) -> None:
    labels = data / "train-labels-idx1-ubyte"
    err = refused_keeping(labels, *quick(data, data))
    assert f"--out {data} is the --data folder this command reads" in err
    assert not (data / "checkpoint.npz").exists()


# ------------------------------------------------------------------------ files it did not make

def test_a_file_it_did_not_write_needs_overwrite(checkpoint, tmp_path) -> None:
    notes = tmp_path / "notes.onnx"
    notes.write_text("my notes")
    err = refused_keeping(notes, "export", str(checkpoint), str(notes))
    assert f"out {notes} exists and was not written by tinygrad_cnn" in err and "--overwrite" in err
    assert program("export", str(checkpoint), str(notes), "--overwrite")[0] == 0
    assert notes.read_bytes()[:2] != b"my"


def test_a_file_naming_tinygrad_cnn_is_not_its_output(checkpoint, tmp_path) -> None:
    """Notes and source files hold the word tinygrad_cnn; only the mark where each output kind
    keeps it counts (export onto a README replaced it)."""
    notes = tmp_path / "README.md"
    notes.write_text("# tinygrad_cnn\nmy notes; producer_name tinygrad_cnn\n")
    err = refused_keeping(notes, "export", str(checkpoint), str(notes))
    assert f"out {notes} exists and was not written by tinygrad_cnn" in err


def test_the_explorer_page_carries_the_mark_where_it_is_looked_for(tmp_path) -> None:
    from tinygrad_cnn.explorer.page import page_html
    from tinygrad_cnn.runs import written_here

    (tmp_path / "page.html").write_text(page_html({"mode": "static"}))
    (tmp_path / "notes.html").write_text("<!DOCTYPE html><p>made with tinygrad_cnn</p>")
    assert written_here(str(tmp_path / "page.html"))
    assert not written_here(str(tmp_path / "notes.html"))


def test_its_own_outputs_are_replaced_without_overwrite(checkpoint, data, tmp_path) -> None:
    onnx_out, weights, seen = (tmp_path / n for n in ("m.onnx", "m.safetensors", "seen.png"))
    for _ in range(2):
        assert program("export", str(checkpoint), str(onnx_out), "--safetensors",
                       str(weights))[0] == 0
        assert program("predict", str(checkpoint), "--random-test", "--data", str(data),
                       "--show-input", str(seen))[0] == 0
    assert tg.load(weights).keys() == mnist.seed_model().state_dict().keys()


def test_train_never_replaces_files_it_did_not_write(data, tmp_path) -> None:
    (tmp_path / "report.html").write_text("my own report")
    err = refused_keeping(tmp_path / "report.html", *quick(data, tmp_path))
    assert f"--out {tmp_path} holds report.html but no run's checkpoint" in err
    assert "--overwrite" in err and not (tmp_path / "checkpoint.npz").exists()
    assert program(*quick(data, tmp_path, "--overwrite"))[0] == 0


# ----------------------------------------------------------------------------- explore's port

def test_explore_port_out_of_range(checkpoint) -> None:
    code, _, err = program("explore", str(checkpoint), "--port", "70000")
    assert code == 2 and "--port" in err and "<= 65535" in err and "Traceback" not in err


def test_explore_port_in_use(checkpoint, data) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = user_error("explore", str(checkpoint), "--port", str(port), "--data", str(data))
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in err


# ----------------------------------------------------------------------------- the run's lock

HOLD = """
import sys, time
from tinygrad_cnn import runs
with runs.Run(sys.argv[1]).locked():
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_run_into_a_training_folder_names_the_first(data, tmp_path) -> None:
    (tmp_path / "run").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        err = user_error(*quick(data, tmp_path / "run"))
        assert f"is being trained by process {holder.pid}" in err
        assert not (tmp_path / "run" / "checkpoint.npz").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert program(*quick(data, tmp_path / "run"))[0] == 0  # the lock died with its process


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_lock_file_that_is_a_link_or_a_fifo_is_refused_not_followed(data, tmp_path, kind):
    out = tmp_path / "run"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if kind == "symlink":
        (out / ".lock").symlink_to(victim)
    else:
        os.mkfifo(out / ".lock")
    err = user_error(*quick(data, out))  # returns at once: a FIFO is not waited on
    assert ".lock" in err and ("lock file" in err or "not a regular file" in err), err
    assert victim.read_text() == "keep me"


# ----------------------------------------------------------------------------- Ctrl-C

@pytest.mark.parametrize("kind", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(data, tmp_path, monkeypatch,
                                                                kind) -> None:
    flags = ["--epochs", "2", "--batch-size", "16"]  # 6 steps per epoch
    assert program(*quick(data, tmp_path / "whole", *flags))[0] == 0
    step, calls = mnist.train_step, []

    def signalled_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 8:  # the second step of epoch 2: the signal arrives mid-step
            os.kill(os.getpid(), kind)
        return step(*args, **kwargs)

    monkeypatch.setattr(mnist, "train_step", signalled_step)
    code, out, err = program(*quick(data, tmp_path / "cut", *flags))
    assert code == 130, err
    assert "interrupted after step 2 of 6 in epoch 2" in err
    assert f"python models/mnist.py train --resume --out {tmp_path / 'cut'}" in err
    assert len(calls) == 8  # the step in flight finished, no other began
    monkeypatch.setattr(mnist, "train_step", step)
    code, out, err = program("train", "--resume", "--out", str(tmp_path / "cut"), "--quiet")
    assert code == 0, err
    assert "resumed" in out and "and 2 of the next epoch's 6 steps" in out
    whole, cut = (tg.load(tmp_path / name / "checkpoint.npz") for name in ("whole", "cut"))
    for key, value in whole["model"].items():
        np.testing.assert_array_equal(cut["model"][key], value)
    histories = [json.loads(run["history"]) for run in (whole, cut)]
    for history in histories:
        history.pop("seconds")  # wall time differs; every number of the training is equal
    assert cut["epoch"] == 2 and histories[0] == histories[1]


def test_ctrl_c_outside_the_steps_is_one_line_and_130(checkpoint, data, monkeypatch) -> None:
    def interrupted_evaluation(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(mnist.runs, "predict_proba", interrupted_evaluation)
    code, _, err = program("eval", str(checkpoint), "--data", str(data))
    assert code == 130 and err == "interrupted\n"


def test_explore_images_is_bounded(checkpoint) -> None:
    code, _, err = program("explore", str(checkpoint), "--static", "x.html", "--images", "100000")
    assert code == 2 and "--images" in err and "<= 200" in err
