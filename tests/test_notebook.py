"""examples/tour.ipynb runs from top to bottom without an error, and the committed copy
keeps its outputs (so it reads well where notebooks are shown without running them)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"


def test_the_tour_notebook_runs_and_keeps_its_outputs(tmp_path: Path) -> None:
    committed = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert code and all(c.outputs for c in code), "run the notebook and save it with outputs"
    kinds = {k for c in code for o in c.outputs for k in o.get("data", {})}
    assert {"image/svg+xml", "image/png"} <= kinds  # the graph and the loss curve
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.outputs)
    assert "True" in texts and "train accuracy" in texts
