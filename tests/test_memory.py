"""The allocator setting `import tinygrad_cnn` applies once (memory.py), and its switch."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn import memory

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
from tinygrad_cnn import memory, Tensor
before = memory.applied()
(Tensor([1.0, 2.0], requires_grad=True) * 3).sum().backward()
print(before, memory.applied())
"""


def probe(env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != memory.ENV}
    if env_value is not None:
        env[memory.ENV] = env_value
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, check=True)
    return done.stdout.split()


def test_the_import_applies_the_setting_and_backward_never_does():
    assert probe(None) == ["True", "True"]
    assert probe("1") == ["True", "True"]


def test_environment_variable_turns_it_off():
    for value in ("0", "false", "off", "No"):
        assert probe(value) == ["False", "False"]  # and no backward() turns it on


def test_the_engine_does_not_call_the_allocator():
    source = (ROOT / "tinygrad_cnn" / "engine.py").read_text(encoding="utf-8")
    assert "import memory" not in source and "mallopt" not in source


def test_gradients_are_the_same_with_the_setting():
    x = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    (x * x).sum().backward()
    memory.keep_freed_memory()
    y = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, x.grad.data)
    np.testing.assert_array_equal(x.grad.data, 2 * x.data)


def test_keep_freed_memory_reports_whether_glibc_took_it():
    took = memory.keep_freed_memory()
    assert took is (platform.libc_ver()[0] == "glibc")
