"""The getting-started notebook (notebooks/) runs top to bottom against a live catalog and S3 server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.catalog.stack import running_stack

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "r2-data-catalog-tutorial.ipynb"


@pytest.mark.slow
def test_getting_started_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_stack(tmp_path / "data") as stack:
        stack.warehouse("r2-data-catalog-tutorial")
        monkeypatch.setenv("LAKEBOX_WAREHOUSE", "r2-data-catalog-tutorial")
        monkeypatch.setenv("LAKEBOX_CATALOG_URI", stack.catalog_uri)
        monkeypatch.setenv("LAKEBOX_TOKEN", stack.root.token)
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
        outputs = "".join(
            o.get("text", "")
            for cell in nb.cells
            if cell.cell_type == "code"
            for o in cell.get("outputs", [])
        )
        assert "Creating table: ('default', 'people')" in outputs
        assert "'name': 'Bob'" in outputs
        assert "[('Bob', 92.5), ('Charlie', 88.0), ('Alice', 80.0)]" in outputs
