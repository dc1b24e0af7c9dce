"""docs/moving_on.md runs as written: its python blocks in order in one namespace, and its
mnist.py command on a checkpoint made here (blocks fenced `python torch` need PyTorch: skipped)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg

pytest.importorskip("onnxruntime")
pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "moving_on.md").read_text(encoding="utf-8")


def blocks(info: str) -> list[str]:
    return re.findall(rf"```{info}\n(.*?)```", DOC, flags=re.S)


def test_the_python_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = blocks("python")
    assert len(code) == 3 and len(blocks("python torch")) == 2
    namespace: dict = {}
    for block in code:
        exec(compile(block, "docs/moving_on.md", "exec"), namespace)  # noqa: S102 (our own doc)
    printed = capsys.readouterr().out
    assert "['0.weight', '0.bias', '3.weight', '3.bias']" in printed and "0 (Conv2d)" in printed
    assert (tmp_path / "lenet.onnx").is_file() and (tmp_path / "lenet.safetensors").is_file()
    assert namespace["loss"].item() > 0 and namespace["dot"].source.count("->") > 10


def test_the_export_command_runs(tmp_path):
    (commands,) = [line for block in blocks("sh") for line in block.splitlines()
                   if "models/mnist.py" in line]
    words = shlex.split(commands, comments=True)
    sys.path.insert(0, str(ROOT / "models"))
    import mnist

    tg.manual_seed(0)
    model = mnist.lenet()
    (tmp_path / "runs" / "lenet").mkdir(parents=True)
    tg.save({"model_name": "lenet", "model": model.state_dict(), "config": "{}", "epoch": 1},
            tmp_path / "runs" / "lenet" / "checkpoint.npz")
    result = subprocess.run([sys.executable, str(ROOT / words[1]), *words[2:]], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "wrote runs/lenet/lenet.onnx" in result.stdout  # beside the checkpoint, not in the repo
    weights = tg.load(tmp_path / "runs" / "lenet" / "lenet.safetensors")
    np.testing.assert_array_equal(weights["0.weight"], model.state_dict()["0.weight"])
