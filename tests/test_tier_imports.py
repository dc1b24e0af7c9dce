"""The tiers of docs/architecture.md, checked on the real import graph: every import counts
(function-level ones too; only `if TYPE_CHECKING:` blocks are skipped), each module imports only
its own tier or lower ones, the engine imports nothing of ours, and no import cycle inside the
package has more than 4 modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_cnn"

# module (or package prefix) -> tier; the longest matching prefix wins
TIERS = {
    "engine": 1, "grad_mode": 1, "autograd": 1, "rng": 1, "memory": 1, "threads": 1,
    "ops": 2,
    "tensor": 3, "inplace": 3, "interop": 3, "devices": 3,
    "nn": 4, "optim": 4, "data": 4, "dataset": 4, "datasets": 4, "serialization": 4,
    "safetensors_io": 4, "fileio": 4, "gradcheck": 4,
    "torch_compat": 5, "utils": 5, "vision": 5, "": 5,  # "": the package's __init__
    "viz": 6, "viz_labels": 6, "profile": 6, "health": 6, "anomaly": 6, "plots": 6,
    "report": 6, "run_report": 6, "runs": 6, "cli": 6, "naming": 6, "explorer": 6, "onnx": 6,
    "saved_memory": 6,
}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def tier(module: str) -> int:
    parts = module.split(".") if module else []
    for cut in range(len(parts), -1, -1):
        prefix = ".".join(parts[:cut])
        if prefix in TIERS:
            return TIERS[prefix]
    raise KeyError(f"{module!r} has no tier: add it to TIERS and docs/architecture.md")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(module: str) -> set[str]:
    """The package's modules that `module` imports anywhere in its source."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    here = module.split(".") if module else []
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("tinygrad_cnn"):
                target = node.module.removeprefix("tinygrad_cnn").lstrip(".")
            else:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tinygrad_cnn"):
                    found.add(alias.name.removeprefix("tinygrad_cnn").lstrip("."))
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: imports_of(m) for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES), ids=lambda m: m or "tinygrad_cnn")
def test_a_module_imports_only_its_tier_and_below(module):
    upward = sorted(m for m in GRAPH[module] if tier(m) > tier(module))
    assert upward == [], f"{module or 'tinygrad_cnn'} (tier {tier(module)}) imports {upward}"


def test_the_engine_imports_nothing_of_ours():
    assert GRAPH["engine"] == set()


def test_an_op_module_imports_no_tensor_nn_or_tool():
    for module in (m for m in MODULES if m.startswith("ops")):
        assert {tier(m) for m in GRAPH[module]} <= {1, 2}, module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_no_import_cycle_has_more_than_four_modules():
    assert [c for c in _cycles(GRAPH) if len(c) > 4] == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert [sorted(c) for c in _cycles(graph)] == [["a", "b", "c"]]


def test_every_module_has_a_tier_and_the_rule_catches_an_upward_import():
    for module in MODULES:
        tier(module)
    assert tier("ops.conv.op") == 2 and tier("explorer.server") == 6
    assert tier("tensor") > tier("ops") > tier("engine")
