"""DuckDB 1.5.5 with R2's statements (a secret with TOKEN, ATTACH with ENDPOINT): it lists, reads and INSERTs
into a table PyIceberg created (DuckDB commits through transactions/commit), and PyIceberg sees the rows."""

from __future__ import annotations

import glob
import sysconfig
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.catalog.live import LiveLake

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def stack(lake: LiveLake) -> LiveLake:
    lake.warehouse("lake")
    return lake


def duck(stack: LiveLake) -> Any:
    con = duckdb.connect()
    site = sysconfig.get_paths()["purelib"]
    for name in ("httpfs", "avro", "iceberg"):  # avro before iceberg
        (path,) = glob.glob(f"{site}/duckdb_extension_{name}/extensions/v1.5.5/{name}.duckdb_extension")
        con.execute(f"INSTALL '{path}'")
        con.execute(f"LOAD {name}")
    con.execute(f"CREATE SECRET r2_secret (TYPE ICEBERG, TOKEN '{stack.root.token}')")
    con.execute(f"ATTACH 'lake' AS my_r2_catalog (TYPE ICEBERG, ENDPOINT '{stack.catalog_uri}')")
    return con


def test_duckdb_reads_and_inserts_a_pyiceberg_table(stack: LiveLake) -> None:
    cat = RestCatalog("lake", uri=stack.catalog_uri, warehouse="lake", token=stack.root.token)
    cat.create_namespace("default")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["Alice", "Bob", "Charlie"]})
    table = cat.create_table(("default", "people"), schema=data.schema)
    table.append(data)

    con = duck(stack)
    tables = con.execute("SHOW ALL TABLES").fetchall()
    assert ("my_r2_catalog", "default", "people") in [t[:3] for t in tables]
    assert con.execute("SELECT id, name FROM my_r2_catalog.default.people ORDER BY id").fetchall() == [
        (1, "Alice"),
        (2, "Bob"),
        (3, "Charlie"),
    ]
    con.execute("INSERT INTO my_r2_catalog.default.people VALUES (4, 'Dana'), (5, 'Eve')")
    assert con.execute("SELECT count(*) FROM my_r2_catalog.default.people").fetchone() == (5,)

    seen = cat.load_table(("default", "people")).scan().to_arrow()
    assert sorted(seen.column("id").to_pylist()) == [1, 2, 3, 4, 5]


def test_duckdb_creates_a_table_pyiceberg_reads(stack: LiveLake) -> None:
    con = duck(stack)
    con.execute("CREATE SCHEMA my_r2_catalog.ddb")
    con.execute("CREATE TABLE my_r2_catalog.ddb.t (id BIGINT, v VARCHAR)")
    con.execute("INSERT INTO my_r2_catalog.ddb.t VALUES (1, 'x'), (2, 'y')")
    cat = RestCatalog("lake", uri=stack.catalog_uri, warehouse="lake", token=stack.root.token)
    assert cat.load_table("ddb.t").scan().to_arrow().column("v").to_pylist() == ["x", "y"]
