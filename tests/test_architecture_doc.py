"""docs/architecture.md's trace names only things that exist: every `tinygrad_cnn.…` name in it
is imported (the longest importable module prefix) and the rest looked up with getattr."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
NAMES = sorted(set(re.findall(r"`(tinygrad_cnn(?:\.\w+)+)", DOC.read_text(encoding="utf-8"))))


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_doc_names_enough_to_be_a_trace():
    assert len(NAMES) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_every_name_in_the_trace_exists(name):
    assert _resolve(name) is not None
