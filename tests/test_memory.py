"""The allocator setting the engine applies by itself at the first backward() / no_grad()."""

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
import sys
from tinygrad_cnn import memory, Tensor, no_grad
print(memory.automatic_pending())
if sys.argv[1] == "backward":
    (Tensor([1.0, 2.0], requires_grad=True) * 3).sum().backward()
elif sys.argv[1] == "no_grad":
    with no_grad():
        pass
print(memory.automatic_pending())
"""


def probe(how: str, env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != memory.ENV}
    if env_value is not None:
        env[memory.ENV] = env_value
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True,
                          env=env, check=True)
    return done.stdout.split()


def test_first_backward_applies_the_setting_once():
    assert probe("backward", None) == ["True", "False"]
    assert probe("no_grad", None) == ["True", "False"]
    assert probe("nothing", None) == ["True", "True"]  # import alone changes nothing


def test_environment_variable_turns_it_off():
    for value in ("0", "false", "off", "No"):
        assert probe("backward", value) == ["False", "False"]
    assert probe("backward", "1") == ["True", "False"]


def test_set_automatic_switches_and_gradients_are_unchanged():
    was = memory.automatic_pending()
    try:
        memory.set_automatic(False)
        x = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
        (x * x).sum().backward()
        assert not memory.automatic_pending()
        np.testing.assert_array_equal(x.grad.data, 2 * x.data)
        memory.set_automatic(True)
        assert memory.automatic_pending()
        y = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
        (y * y).sum().backward()  # applies it now: the same gradient
        assert not memory.automatic_pending()
        np.testing.assert_array_equal(y.grad.data, x.grad.data)
    finally:
        memory.set_automatic(was)


def test_keep_freed_memory_reports_whether_glibc_took_it():
    took = memory.keep_freed_memory()
    assert took is (platform.libc_ver()[0] == "glibc")
