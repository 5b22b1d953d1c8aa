"""Every metadata table Spark offers for an Iceberg table, queried against lakebox's catalog, and branch
identifiers (``t.branch_x``), both resolved by Java's REST client after loading ``db.t.<name>`` answers
NoSuchTableException (the namespace ``db.t`` does not exist): each row checked against PyIceberg's view."""

from __future__ import annotations

import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.spark.session import SparkSql

pytestmark = pytest.mark.slow

METADATA_TABLES = [
    "history",
    "metadata_log_entries",
    "snapshots",
    "entries",
    "files",
    "data_files",
    "delete_files",
    "manifests",
    "partitions",
    "position_deletes",
    "all_data_files",
    "all_delete_files",
    "all_files",
    "all_manifests",
    "all_entries",
    "refs",
]


@pytest.fixture(scope="module")
def table(spark: SparkSql) -> str:
    spark.run("CREATE NAMESPACE IF NOT EXISTS meta")
    spark.run(
        "CREATE TABLE meta.t (id BIGINT, cat STRING) USING iceberg PARTITIONED BY (cat) "
        "TBLPROPERTIES ('write.delete.mode'='merge-on-read')"
    )
    spark.run("INSERT INTO meta.t VALUES (1, 'x'), (2, 'x'), (3, 'y')")
    spark.run("ALTER TABLE meta.t CREATE TAG v1")
    spark.run("DELETE FROM meta.t WHERE id = 1")
    return "meta.t"


@pytest.mark.parametrize("name", METADATA_TABLES)
def test_every_metadata_table(spark: SparkSql, pyiceberg: RestCatalog, table: str, name: str) -> None:
    rows = spark.dicts(f"SELECT * FROM {table}.{name}")
    ice = pyiceberg.load_table(table)
    snapshots = {s.snapshot_id for s in ice.snapshots()}
    if name in ("history", "snapshots"):
        assert {r["snapshot_id"] for r in rows} == snapshots
    elif name == "metadata_log_entries":
        assert [r["file"] for r in rows][-1] == ice.metadata_location
        assert len(rows) == len(ice.metadata.metadata_log) + 1
    elif name == "refs":
        assert {r["name"]: r["snapshot_id"] for r in rows} == {
            k: v.snapshot_id for k, v in ice.metadata.refs.items()
        }
    elif name in ("files", "data_files", "all_data_files", "all_files"):
        assert {r["file_path"] for r in rows if r["content"] == 0} >= {
            t.file.file_path for t in ice.scan().plan_files()
        }
    elif name in ("delete_files", "all_delete_files", "position_deletes"):
        assert len(rows) == 1  # the one row deleted in merge-on-read mode
    elif name == "partitions":
        assert sorted(r["partition"]["cat"] for r in rows) == ["x", "y"]
    else:  # entries, all_entries, manifests, all_manifests
        assert rows
        assert {r.get("snapshot_id", r.get("added_snapshot_id")) for r in rows} <= snapshots


def test_branch_identifiers(spark: SparkSql, pyiceberg: RestCatalog, table: str) -> None:
    spark.run(f"ALTER TABLE {table} CREATE BRANCH dev")
    spark.run(f"INSERT INTO {table}.branch_dev VALUES (9, 'z')")
    assert spark.rows(f"SELECT id FROM {table}.branch_dev ORDER BY id") == [[2], [3], [9]]
    assert spark.rows(f"SELECT id FROM {table} ORDER BY id") == [[2], [3]]
    assert spark.rows(f"SELECT id FROM {table}.tag_v1 ORDER BY id") == [[1], [2], [3]]
    ice = pyiceberg.load_table(table)
    assert ice.metadata.refs["dev"].snapshot_id != ice.metadata.refs["main"].snapshot_id
