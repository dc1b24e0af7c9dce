"""The docs name only things that exist: every `tinygrad_cnn.…` name in docs/architecture.md is
imported (the longest importable module prefix) and the rest looked up with getattr, and every
path of the package, tests, docs, benchmarks, examples or models named in the README, the
architecture page, the add-an-op guide and the two tutorials is a file or folder of the
repository."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from tinygrad_cnn import engine

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
NAMES = sorted(set(re.findall(r"`(tinygrad_cnn(?:\.\w+)+)", DOC.read_text(encoding="utf-8"))))
PAGES = [ROOT / "README.md", DOC, ROOT / "docs" / "add_an_op.md",
         ROOT / "docs" / "tutorial_backprop.md", ROOT / "docs" / "tutorial_higher_order.md"]
# a path of the repository: tinygrad_cnn/ops/conv/op.py, tinygrad_cnn/nn/, tests/test_tiers.py,
# docs/img/tanh_grad_graph.svg, ...; a pattern such as tests/ops/test_<family>.py is no path
PATH = re.compile(r"(?<![\w/.])((?:tinygrad_cnn|tests|docs|benchmarks|examples|models)/[\w/.-]*"
                  r"[\w/])(?![\w/<-])")
PATHS = sorted({(page.name, found.rstrip("/")) for page in PAGES
                for found in PATH.findall(page.read_text(encoding="utf-8"))})


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


def test_the_line_counts_of_the_trace_are_current():
    """The trace's '`tinygrad_cnn/engine.py`, N lines' and 'engine.backward` (about N lines)'
    stay within 10% of the code (they said 340 and 40 while the file had grown to 500)."""
    text = DOC.read_text(encoding="utf-8")
    stated_file = int(re.search(r"`tinygrad_cnn/engine\.py`, (\d+) lines", text)[1])
    stated_backward = int(re.search(r"engine\.backward` \(about (\d+) lines\)", text)[1])
    actual_file = len((ROOT / "tinygrad_cnn" / "engine.py").read_text().splitlines())
    actual_backward = len(inspect.getsourcelines(engine.backward)[0])
    assert abs(stated_file - actual_file) <= actual_file / 10, (stated_file, actual_file)
    assert abs(stated_backward - actual_backward) <= actual_backward / 10, (stated_backward,
                                                                            actual_backward)
