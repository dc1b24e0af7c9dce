"""examples/train_mnist.py runs as a user runs it, from the repository root, on a small generated
IDX dataset (given through $TINYGRAD_CNN_IDX_DIR, its --data default; never the network), and
stays a lesson of at most 80 lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn.datasets import write_idx

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path("examples") / "train_mnist.py"


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Learnable fake digits: class k is a bright bar at row 2k + 4 on a noisy background."""
    directory = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 1000), ("t10k", 600)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for k in range(10):
            images[labels == k, 2 * k + 4: 2 * k + 6, 4:24] = 255
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


def run_example(idx_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # this checkout's package; an empty dataset cache, so a fetch would fail rather than download
    env = os.environ | {"PYTHONPATH": str(ROOT), "TINYGRAD_CNN_IDX_DIR": str(idx_dir),
                        "TINYGRAD_CNN_DATA": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_short_run_trains_and_prints_the_test_accuracy(idx_dir: Path, tmp_path: Path) -> None:
    result = run_example(idx_dir, tmp_path, "--epochs", "2", "--batch-size", "32",
                         "--limit", "512")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.findall(r"^epoch (\d)/2: ", result.stdout, flags=re.M) == ["1", "2"]
    found = re.search(r"^test accuracy ([\d.]+)% \((\d+)/512 images\)$", result.stdout,
                      flags=re.M)
    assert found, result.stdout
    assert float(found[1]) > 50, result.stdout  # the bars are easy: chance would be 10%
    assert not (tmp_path / "cache").exists()  # the IDX folder was read, nothing was fetched


def test_the_example_is_at_most_80_lines() -> None:
    lines = (ROOT / SCRIPT).read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 80, f"{SCRIPT} has {len(lines)} lines"
