"""The docs name only things that exist: every `tinygrad_cnn.…` name in docs/architecture.md is
imported (the longest importable module prefix) and the rest looked up with getattr, and every
`tinygrad_cnn/…` path named in the README, the architecture page, the add-an-op guide and the
backprop tutorial is a file or folder of the repository."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
NAMES = sorted(set(re.findall(r"`(tinygrad_cnn(?:\.\w+)+)", DOC.read_text(encoding="utf-8"))))
PAGES = [ROOT / "README.md", DOC, ROOT / "docs" / "add_an_op.md",
         ROOT / "docs" / "tutorial_backprop.md"]
# a path inside the package: tinygrad_cnn/ops/conv/op.py, tinygrad_cnn/nn/, ...
PATH = re.compile(r"(tinygrad_cnn/[\w/]*(?:\.py)?)")
PATHS = sorted({(page.name, found.rstrip("/")) for page in PAGES
                for found in PATH.findall(page.read_text(encoding="utf-8"))
                if "<" not in found})


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
    assert len(NAMES) >= 30 and len(PATHS) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_every_name_in_the_trace_exists(name):
    assert _resolve(name) is not None


@pytest.mark.parametrize("page, path", PATHS, ids=[f"{p}:{q}" for p, q in PATHS])
def test_every_path_the_docs_name_exists(page, path):
    assert (ROOT / path).exists(), f"{page} names {path}, which does not exist"
