"""The package's comment rule (docs/architecture.md): no timing numbers in comments or docstrings
(they live in docs/benchmarks.md). There is no file-size cap: a file holds one concept."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_cnn"
FILES = sorted(PACKAGE.rglob("*.py"))
# a number of ms / us, or a speed ratio such as "~2x cheaper" / "3x faster"
TIMING = re.compile(r"\d\s?(ms|us|µs|milliseconds?|microseconds?)\b|\d(\.\d+)?x (cheaper|faster"
                    r"|slower|as much)", re.IGNORECASE)


def _prose(source: str) -> list[str]:
    """The comments and docstrings of a module."""
    found = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(ast.get_docstring(node) or "")
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_timing_numbers_in_comments(path):
    bad = [text for text in _prose(path.read_text(encoding="utf-8")) if TIMING.search(text)]
    assert bad == [], f"{path.name}: move the measurement to docs/benchmarks.md"


def test_the_rule_catches_what_it_should():
    assert TIMING.search("# 3x cheaper than np.ones") and TIMING.search("(16 us for 128 x 10)")
    assert not TIMING.search("# one long row: faster than a 4-D broadcast")
