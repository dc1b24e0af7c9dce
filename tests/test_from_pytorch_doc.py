"""docs/from_pytorch.md runs as written: its PyTorch-style script (only the import changed)
trains, and what it prints is PyTorch's kind of output."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "from_pytorch.md").read_text(encoding="utf-8")


def test_the_script_runs_and_learns(capsys):
    (code,) = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)
    namespace: dict = {}
    exec(compile(code, "docs/from_pytorch.md", "exec"), namespace)  # noqa: S102 (our own doc)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == "torch.Size([64, 4]) 64 True"  # what PyTorch 2.13 prints
    assert printed[-2].startswith("loss ") and printed[-2].endswith("lr 0.00125")
    assert namespace["accuracy"] > 0.6  # chance is 0.25
