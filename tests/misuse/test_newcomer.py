"""What a new user tripped on (issue 20), each as the user runs it: --dataset fashion's folder and
target, the README's sentences and commands, the report's graph against the profile, the health
table once, and the system-deps script's message."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg

from .test_program_io import idx_folder, program

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return idx_folder(tmp_path_factory.mktemp("data"))


def test_fashion_trains_into_its_own_folder_with_its_own_target(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = program("train", "--dataset", "fashion", "--model", "seed", "--data",
                             str(data), "--epochs", "1", "--batch-size", "32", "--quiet")
    assert code == 0, err
    assert (tmp_path / "runs" / "seed-fashion" / "checkpoint.npz").is_file()
    assert not (tmp_path / "runs" / "seed").exists()  # the MNIST run's folder is left alone
    assert "time to 80.00% on the test set" in out  # Fashion-MNIST's target, not MNIST's 92%


def test_the_readme_export_line_writes_under_runs() -> None:
    (line,) = [line for line in README.splitlines() if "models/mnist.py export" in line]
    words = shlex.split(line)
    outputs = [words[4], words[words.index("--safetensors") + 1]]
    assert all(path.startswith("runs/") for path in outputs), outputs
    assert "runs/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_readmes_asarray_sentence_is_true() -> None:
    assert "`np.asarray(t)` is the data of a tensor that does not\nrequire grad" in README
    t = tg.Tensor([1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead"):
        np.asarray(tg.Tensor([1.0], requires_grad=True))


def test_system_deps_names_what_is_missing_with_spaces() -> None:
    done = subprocess.run(["/bin/sh", str(ROOT / "scripts" / "system-deps.sh"), "--test"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/nonexistent"})
    assert "could not install graphviz chromium chromium-driver automatically" in done.stdout


def test_the_report_names_the_profiles_conv_algorithm_and_health_prints_once(data, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("graphviz")
    code, out, err = program("train", "--model", "lenet", "--data", str(data), "--epochs", "2",
                             "--batch-size", "96", "--out", str(tmp_path), "--quiet",
                             "--report", "--profile")  # LeNet's convs pick by the batch size
    assert code == 0, err
    ops = {row["name"] for row in json.loads((tmp_path / "profile.json").read_text())["ops"]}
    convs = {name for name in ops if name.startswith("Conv2d[")}
    graph = next(p for p in (tmp_path / "graph.svg", tmp_path / "graph.dot") if p.exists())
    assert convs and set(re.findall(r"Conv2d\[\w+\]", graph.read_text())) == convs
    assert out.count("health, epoch 2") == 1 and "health, epoch 1" not in out
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="explorer" onload="try{this.style.height=' in report  # grows, not cut off
    assert '<a href="explorer.html">Open the explorer on its own page.</a>' in report


def test_the_explorer_page_has_no_empty_saliency_slot_and_its_cell_panel_scrolls() -> None:
    from tinygrad_cnn.explorer import page_html

    page = page_html({"mode": "server"}, "t")
    assert '<div id="tg-saliency-box" class="hidden"><small>saliency</small>' in page
    assert 'classList.toggle("hidden", !backward())' in page  # shown in the backward view
    assert "#tg-cell { overflow-x: auto; max-width: 100%; }" in page


def _steps(prof, n: int, marks: bool = False) -> None:
    from tinygrad_cnn import nn, optim

    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = tg.Tensor(np.ones((8, 4), np.float32)), tg.tensor(np.zeros(8, np.int64))
    for _ in range(n):
        loss = tg.ops.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if marks:
            prof.step()


def test_a_profiler_block_around_10_steps_counts_10_steps() -> None:
    prof = tg.Profiler(batch_size=8)
    with prof:  # one block, ten training steps: the per-image columns divide by 80 images
        _steps(prof, 10)
    assert (prof.steps, prof.images) == (10, 80)
    assert "over 10 step(s), 80 images" in prof.table()


def test_prof_step_marks_the_steps_as_in_pytorch() -> None:
    prof = tg.Profiler(batch_size=8)
    with prof:
        _steps(prof, 3, marks=True)
        _steps(prof, 1)  # a backward without a mark: the marks count
    assert prof.steps == 3


def test_forward_only_blocks_still_count_one_step_each() -> None:
    prof = tg.Profiler(batch_size=8)
    for _ in range(2):
        with prof, tg.no_grad():
            tg.Tensor(np.ones((8, 4), np.float32)).relu()
    assert prof.steps == 2
