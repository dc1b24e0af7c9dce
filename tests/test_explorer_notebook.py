"""docs/notebooks/explore_mnist.ipynb runs top to bottom (nbclient, a real Python kernel) and
shows the explorer inline."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "explore_mnist.ipynb"


def test_the_explorer_notebook_runs_and_shows_the_explorer_inline():
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]'")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # run in the checkout's root, so the kernel imports this checkout's tinygrad_cnn
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    accuracy = float(printed.split("test accuracy after one epoch: ")[1].split()[0])
    assert accuracy > 0.5  # one epoch on font digits: far above chance (0.1)
    page = notebook.cells[-2].outputs[0]["data"]["text/html"]
    assert page.startswith("<iframe srcdoc=") and "tgExplorer" in page
