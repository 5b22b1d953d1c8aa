"""The getting-started notebook (notebooks/) runs top to bottom against ``lakebox serve``."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.catalog.live import LiveLake

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "r2-data-catalog-tutorial.ipynb"


@pytest.mark.slow
def test_getting_started_notebook_runs(
    lake: LiveLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.warehouse("r2-data-catalog-tutorial")
    monkeypatch.setenv("LAKEBOX_WAREHOUSE", "r2-data-catalog-tutorial")
    monkeypatch.setenv("LAKEBOX_CATALOG_URI", lake.catalog_uri)
    monkeypatch.setenv("LAKEBOX_TOKEN", lake.root.token)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "".join(
        o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    )
    assert "Creating table: ('default', 'people')" in outputs
    assert "'name': 'Bob'" in outputs
    assert "[('Bob', 92.5), ('Charlie', 88.0), ('Alice', 80.0)]" in outputs
