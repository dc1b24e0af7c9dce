"""The two tiers: importing the core loads NumPy and the standard library; tools load lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TOOL_LIBRARIES = ("graphviz", "matplotlib", "PIL", "tqdm")
TOOL_MODULES = ("anomaly", "health", "plots", "profile", "report", "saved_memory", "viz")

_PROBE = """
import json, sys
import tinygrad_cnn, tinygrad_cnn.nn, tinygrad_cnn.optim, tinygrad_cnn.data
import tinygrad_cnn.datasets, tinygrad_cnn.serialization
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_importing_the_core_loads_no_tool_library_and_no_tool():
    loaded = _modules_after(_PROBE)
    assert [lib for lib in TOOL_LIBRARIES if lib in loaded] == []
    assert [m for m in TOOL_MODULES if f"tinygrad_cnn.{m}" in loaded] == []


def test_a_tool_loads_on_first_use():
    loaded = _modules_after(_PROBE.replace("print(", "tinygrad_cnn.draw_graph\nprint("))
    assert "graphviz" in loaded and "tinygrad_cnn.viz" in loaded
    assert "matplotlib" not in loaded  # only what that tool needs


@pytest.mark.parametrize("name", ["draw_graph", "render_graph", "Profiler", "HealthMonitor",
                                  "detect_anomaly", "AnomalyError", "backward_memory",
                                  "saved_for_backward"])
def test_tools_are_offered_on_the_package_and_listed(name):
    import tinygrad_cnn as tg

    assert name in tg.__all__ and name in dir(tg)
    module = tg._TOOLS[name]
    assert getattr(tg, name) is getattr(getattr(tg, module), name)


def test_from_import_of_a_tool_works():
    from tinygrad_cnn import Profiler, draw_graph  # noqa: F401 (the import is the test)


def test_an_unknown_attribute_still_raises_attribute_error():
    import tinygrad_cnn as tg

    with pytest.raises(AttributeError, match="no attribute 'draw_grahp'"):
        tg.draw_grahp  # noqa: B018
