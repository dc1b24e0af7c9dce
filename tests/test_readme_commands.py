"""Every command of the README runs as written, from the repository root with its relative paths,
and makes what the README says: checkpoints, report.html with every image it shows, predictions.

The commands run in a temporary folder laid out like the repository (models/ and docs/ linked),
on a small generated IDX dataset given through $TINYGRAD_CNN_IDX_DIR (the default of --data), so
they are fast and never touch the network or the repository's own runs/. `.venv/bin/python` is
the interpreter running the tests. The set-up commands (venv, pip) are checked, not run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn.datasets import write_idx

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """Each line of the README's sh blocks, without its trailing comment."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def is_setup(command: str) -> bool:
    return "pip install" in command


COMMANDS = [c for c in readme_commands() if not is_setup(c)]
# the main job of the first set-up command (after its venv and pip steps): a newcomer runs it
# before the other commands, so they must work on top of the run it leaves in runs/
MAIN_JOB = [c for c in readme_commands() if is_setup(c)][0].split("&&")[-1].strip()


def test_the_setup_commands_are_there_and_ci_runs_the_test_one() -> None:
    setup = [c for c in readme_commands() if is_setup(c)]
    assert len(setup) == 2, setup
    assert all("python3 -m venv .venv" in c and "scripts/system-deps.sh" in c for c in setup)
    assert ".venv/bin/pip install -q -e '.[fast]'" in setup[0] and "models/mnist.py" in setup[0]
    assert "-e '.[test]'" in setup[1] and "-m pytest" in setup[1]
    assert setup[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert len(COMMANDS) >= 6 and all(c.startswith(".venv/bin/python ") for c in COMMANDS)


class _Sources(HTMLParser):
    """The src and href of every img and link in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for key, value in attrs if key in ("src", "href") and value
                       and not value.startswith("#")]


def tiny_mnist(directory: Path) -> None:
    """Learnable fake digits (class k: a bright bar at row 2k+4), in MNIST's file names."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 300), ("t10k", 60)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for k in range(10):
            images[labels == k, 2 * k + 4:2 * k + 6, 4:24] = 255
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Run the README's commands in order in a root-like folder; (that folder, results)."""
    root = tmp_path_factory.mktemp("root")
    for name in ("models", "docs"):
        (root / name).symlink_to(ROOT / name)
    data = tmp_path_factory.mktemp("idx")
    tiny_mnist(data)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": str(ROOT),
           "TINYGRAD_CNN_IDX_DIR": str(data), "TINYGRAD_CNN_DATA": str(root / "cache")}
    results = {}
    for command in [MAIN_JOB, *COMMANDS]:
        words = shlex.split(command, comments=True)
        words[0] = sys.executable  # .venv/bin/python
        results[command] = subprocess.run(words, cwd=root, env=env, capture_output=True,
                                          text=True, timeout=600)
    return root, results


@pytest.mark.parametrize("command", [MAIN_JOB, *COMMANDS])
def test_readme_command_runs_as_written(command: str, ran: tuple[Path, dict]) -> None:
    root, results = ran
    result = results[command]
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in output, f"{command}\n{output}"
    words = shlex.split(command, comments=True)[2:] or ["train"]  # no command means train
    if words[0] == "train":
        model = words[words.index("--model") + 1] if "--model" in words else "lenet"
        out = root / (words[words.index("--out") + 1] if "--out" in words else f"runs/{model}")
        assert (out / "checkpoint.npz").is_file() and (out / "history.json").is_file()
        assert "test accuracy" in result.stdout
        if "--profile" in words:
            assert (out / "profile.json").is_file()
        if "--report" in words:
            page = _Sources()
            page.feed((out / "report.html").read_text(encoding="utf-8"))
            assert len(page.links) >= 6
            for link in page.links:
                assert (out / link).is_file(), f"report.html shows {link}, which is missing"
    elif words[0] == "eval":
        assert re.search(r"test accuracy \d\.\d{4} on 60 images", result.stdout), output
    elif words[0] == "export":
        assert (root / words[2]).is_file(), output
        if "--safetensors" in words:
            assert (root / words[words.index("--safetensors") + 1]).is_file()
    elif words[0] == "explore" and "--static" in words:
        assert (root / words[words.index("--static") + 1]).is_file(), output
    elif words[0] == "predict":
        for image in [w for w in words[2:] if not w.startswith("--")]:
            assert re.search(rf"{re.escape(image)}: \d with probability", result.stdout)
        assert "true label" in result.stdout  # --random-test


def test_system_deps_knows_fashion_mnist_and_refuses_unknown_options() -> None:
    script = ROOT / "scripts" / "system-deps.sh"
    assert "dataset-fashion-mnist" in script.read_text(encoding="utf-8")
    assert "dataset-fashion-mnist" in README and "system-deps.sh --fashion" in README
    result = subprocess.run(["sh", str(script), "--bogus"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--bogus" in result.stdout
