"""models/mnist.py end to end on small generated data: train, resume after SIGKILL, eval, predict,
and one-line errors for bad input."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tinygrad_cnn as tg
from tinygrad_cnn import runs
from tinygrad_cnn.datasets import write_idx

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "models" / "mnist.py"
sys.path.insert(0, str(PROGRAM.parent))
import mnist  # noqa: E402  (models/ is a folder of programs, not a package)


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: class k is a bright bar at row 2k+4, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 4: 2 * k + 6, 4:24] = 255
    return images, labels.astype(np.uint8)


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("idx")
    for prefix, n, seed in (("train", 4000, 0), ("t10k", 300, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


# the program imports this checkout's package, not whichever one is installed
ENV = os.environ | {"PYTHONPATH": str(ROOT)}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(PROGRAM), *args], capture_output=True,
                            text=True, timeout=300, cwd=ROOT, env=ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"mnist.py {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def train_args(idx_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "lenet", "--data", str(idx_dir), "--epochs", "3",
            "--batch-size", "64", "--out", str(out), "--quiet", *extra]


def test_short_training_learns_and_writes_a_checkpoint(idx_dir: Path, tmp_path: Path) -> None:
    result = run(*train_args(idx_dir, tmp_path))
    accuracy = float(result.stdout.split("test accuracy ")[-1].split()[0])
    assert accuracy > 0.9, result.stdout
    assert (tmp_path / "checkpoint.npz").is_file()
    assert result.stdout.count("epoch ") >= 3

    evaluation = run("eval", str(tmp_path / "checkpoint.npz"), "--data", str(idx_dir))
    assert f"test accuracy {accuracy:.4f}" in evaluation.stdout
    rows = [line.split() for line in evaluation.stdout.splitlines()]
    assert [row[0] for row in rows if len(row) == 3 and row[0].isdigit()] == list("0123456789")


def test_same_seed_same_weights(idx_dir: Path, tmp_path: Path) -> None:
    run(*train_args(idx_dir, tmp_path / "a", "--epochs", "1"))
    run(*train_args(idx_dir, tmp_path / "b", "--epochs", "1"))
    a = tg.load(tmp_path / "a" / "checkpoint.npz")["model"]
    b = tg.load(tmp_path / "b" / "checkpoint.npz")["model"]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_sigkill_then_resume_equals_an_uninterrupted_run(idx_dir: Path, tmp_path: Path) -> None:
    run(*train_args(idx_dir, tmp_path / "full"))
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(PROGRAM), *train_args(idx_dir, killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                               env=ENV)
    deadline = time.monotonic() + 240
    while not (killed / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # into the second epoch (an epoch takes several times longer)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert tg.load(killed / "checkpoint.npz")["epoch"] < 3, "the run ended before the kill"

    resumed = run(*train_args(idx_dir, killed, "--resume"))
    assert "resumed" in resumed.stdout
    full = tg.load(tmp_path / "full" / "checkpoint.npz")
    again = tg.load(killed / "checkpoint.npz")
    assert again["epoch"] == 3
    for key, value in full["model"].items():
        np.testing.assert_array_equal(again["model"][key], value, err_msg=key)


def test_predict_preprocesses_a_drawing(idx_dir: Path, tmp_path: Path) -> None:
    run(*train_args(idx_dir, tmp_path, "--epochs", "2"))
    # dark ink on light paper, off-centre and larger than 20x20: preprocessing inverts, crops,
    # scales the bar to 20 pixels wide and centres it on rows 13-14, between the bars of the
    # synthetic classes 4 (rows 12-13) and 5 (rows 14-15); uncentred it would sit near the top
    drawing = np.full((90, 70), 235, np.uint8)
    drawing[10:18, 8:60] = 20
    path = tmp_path / "drawing.png"
    Image.fromarray(drawing).save(path)
    result = run("predict", str(tmp_path / "checkpoint.npz"), str(path))
    assert result.stdout.startswith((f"{path}: 4 with probability", f"{path}: 5 with"))
    probabilities = [float(x.split(":")[1]) for x in result.stdout.splitlines()[1].split()]
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 1e-2


def test_resume_refuses_other_settings(idx_dir: Path, tmp_path: Path) -> None:
    run(*train_args(idx_dir, tmp_path, "--epochs", "1"))
    result = run(*train_args(idx_dir, tmp_path, "--resume", "--lr", "0.5"), check=False)
    assert result.returncode == 2
    assert "--lr" in result.stderr and "0.5" in result.stderr and "Traceback" not in result.stderr


def test_flags_without_subcommand_mean_train(idx_dir: Path, tmp_path: Path) -> None:
    result = run("--model", "seed", "--data", str(idx_dir), "--epochs", "1", "--limit", "600",
                 "--out", str(tmp_path), "--quiet")
    assert "seed:" in result.stdout and (tmp_path / "checkpoint.npz").is_file()


def test_checkpoint_from_another_model_is_a_one_line_error(idx_dir: Path, tmp_path: Path) -> None:
    run(*train_args(idx_dir, tmp_path, "--epochs", "1"))
    result = run("train", "--model", "seed", "--data", str(idx_dir), "--epochs", "2",
                 "--out", str(tmp_path), "--resume", "--quiet", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "lenet" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("problem", ["truncated", "magic", "count", "missing"])
def test_bad_idx_input_is_a_one_line_error(problem: str, idx_dir: Path, tmp_path: Path) -> None:
    for f in idx_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    images = tmp_path / "train-images-idx3-ubyte"
    if problem == "truncated":
        images.write_bytes(images.read_bytes()[:-100])
    elif problem == "magic":
        images.write_bytes(b"\x01\x02" + images.read_bytes()[2:])
    elif problem == "count":
        write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    else:
        images.unlink()
    result = run(*train_args(tmp_path, tmp_path / "out"), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "train-" in result.stderr  # names the file


def test_bad_image_folder_is_a_one_line_error(tmp_path: Path) -> None:
    for split in ("train", "test"):
        (tmp_path / split / "seven").mkdir(parents=True)
        Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / split / "seven" / "a.png")
    result = run("train", "--train-dir", str(tmp_path / "train"), "--test-dir",
                 str(tmp_path / "test"), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2
    assert "seven" in result.stderr and "Traceback" not in result.stderr


def test_models_have_the_documented_shapes() -> None:
    x = tg.Tensor(np.zeros((2, 1, 28, 28), np.float32))
    for name, build in mnist.MODELS.items():
        assert build()(x).shape == (2, 10), name


@pytest.mark.parametrize("command", ["train", "eval", "predict", "export", "explore"])
def test_every_flag_has_a_help_text(command: str) -> None:
    parser = mnist.build_parser("lenet")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices[command]._actions:
        assert action.help and action.help.strip(), f"{command} {action.option_strings}"


def test_train_help_shows_each_models_recipe() -> None:
    result = run("train", "--model", "seed", "--help")
    text = " ".join(result.stdout.split())
    assert "--lr LR learning rate (onecycle: its peak) (default: 0.05)" in text  # seed's own
    for name, recipe in mnist.RECIPES.items():
        flags = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in recipe.items())
        assert f"{name} {flags}" in text


def test_label_smoothing_flag_is_checked_and_reaches_the_loss(idx_dir: Path,
                                                               tmp_path: Path) -> None:
    result = run(*train_args(idx_dir, tmp_path, "--label-smoothing", "1.5"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--label-smoothing" in result.stderr and "<= 1" in result.stderr, result.stderr
    assert mnist.RECIPES["best"]["label_smoothing"] == 0.1
    # the step's loss is PyTorch's smoothed cross-entropy: (1 - e) * nll + e * mean_k(-log p_k)
    tg.manual_seed(3)
    model = mnist.MODELS["lenet"]()
    x = tg.Tensor(np.random.default_rng(4).standard_normal((6, 1, 28, 28), np.float32))
    y = tg.Tensor(np.array([0, 1, 2, 3, 4, 9]), dtype=None)
    with tg.no_grad():
        logits = model(x).data.astype(np.float64)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    nll = -log_p[np.arange(6), y.data]
    expected = (0.75 * nll + 0.25 * -log_p.mean(axis=1)).mean()
    opt = tg.optim.SGD(model.parameters(), lr=0.0)
    loss, _ = mnist.train_step(model, opt, None, x, y, label_smoothing=0.25)
    assert loss == pytest.approx(expected, rel=1e-5)


def test_resume_of_a_run_saved_before_label_smoothing_existed() -> None:
    """Such a run was trained without smoothing: --resume keeps 0.0, not the recipe's 0.1, and
    asking for 0.1 is a changed setting."""
    saved = {"model": "best", "epochs": 6, "lr": 4e-3}  # no "label_smoothing" key
    state = {"config": json.dumps(saved), "epoch": 2}
    settings = dict(saved, label_smoothing=0.1)
    flags = ("model", "epochs", "lr", "label_smoothing")
    merged = runs.resume_settings(state, settings, [], flags, mnist.FLAGS_BEFORE_THEY_EXISTED)
    assert merged["label_smoothing"] == 0.0
    with pytest.raises(runs.RunError, match=r"--label-smoothing 0.0 -> 0.1"):
        runs.resume_settings(state, settings, ["label_smoothing"], flags,
                             mnist.FLAGS_BEFORE_THEY_EXISTED)


def test_the_compiled_kernels_load_before_the_first_epoch_s_clock(monkeypatch):
    from tinygrad_cnn.ops import compiled
    loads: list[str] = []
    monkeypatch.setattr(compiled, "warm_up", lambda: loads.append("all"))
    monkeypatch.setattr(compiled, "enabled", lambda: True)
    mnist.warm_up_kernels()
    assert loads == ["all"]
    monkeypatch.setattr(compiled, "enabled", lambda: False)  # TINYGRAD_CNN_COMPILED=0, no numba
    mnist.warm_up_kernels()
    assert loads == ["all"]
