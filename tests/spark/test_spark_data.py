"""Spark SQL reading and writing data over S3 with the credentials lakebox vends (R2's Spark configuration:
``X-Iceberg-Access-Delegation: vended-credentials``, no remote signing): INSERT, SELECT, MERGE INTO, DELETE and
UPDATE, in copy-on-write and merge-on-read modes, each result read back by PyIceberg, and a PyIceberg write read
by Spark."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.catalog.live import LiveLake
from tests.spark.session import SparkSql, keys_under

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def namespace(spark: SparkSql) -> None:
    spark.run("CREATE NAMESPACE IF NOT EXISTS sales")


def rows_by_id(pyiceberg: RestCatalog, table: str, *columns: str) -> list[tuple[object, ...]]:
    data = pyiceberg.load_table(table).scan().to_arrow().sort_by("id")
    return list(zip(*(data.column(c).to_pylist() for c in columns), strict=True))


def test_insert_and_select_over_s3(
    spark: SparkSql, pyiceberg: RestCatalog, lake: LiveLake, warehouse: str
) -> None:
    spark.run(
        "CREATE TABLE sales.orders (id BIGINT, customer STRING, amount DECIMAL(10,2), day DATE) USING iceberg "
        "PARTITIONED BY (months(day))"
    )
    spark.run(
        "INSERT INTO sales.orders VALUES (1, 'ada', 10.50, DATE '2024-01-03'), (2, 'bo', 7.25, DATE '2024-02-11'), "
        "(3, 'cy', 99.99, DATE '2024-02-28')"
    )
    spark.run(
        "INSERT INTO sales.orders SELECT id + 10, customer, amount * 2, day FROM sales.orders WHERE id < 3"
    )
    assert spark.rows("SELECT id, customer, CAST(amount AS STRING) FROM sales.orders ORDER BY id") == [
        [1, "ada", "10.50"],
        [2, "bo", "7.25"],
        [3, "cy", "99.99"],
        [11, "ada", "21.00"],
        [12, "bo", "14.50"],
    ]
    assert spark.rows(
        "SELECT count(*), CAST(sum(amount) AS STRING) FROM sales.orders WHERE day >= DATE '2024-02-01'"
    ) == [[3, "121.74"]]
    assert rows_by_id(pyiceberg, "sales.orders", "id", "customer") == [
        (1, "ada"),
        (2, "bo"),
        (3, "cy"),
        (11, "ada"),
        (12, "bo"),
    ]
    table = pyiceberg.load_table("sales.orders")
    parquet = [k for k in keys_under(lake, warehouse, table.location()) if k.endswith(".parquet")]
    assert {k.split("/data/")[1].split("/")[0] for k in parquet} == {"day_month=2024-01", "day_month=2024-02"}
    assert len(table.snapshots()) == 2


def test_merge_into(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE sales.stock (id BIGINT, item STRING, qty INT) USING iceberg")
    spark.run("INSERT INTO sales.stock VALUES (1, 'apple', 5), (2, 'pear', 3), (3, 'plum', 0)")
    spark.run(
        "MERGE INTO sales.stock t USING (SELECT * FROM VALUES (2, 'pear', 10), (3, 'plum', 0), (4, 'fig', 8) "
        "AS s(id, item, qty)) s ON t.id = s.id "
        "WHEN MATCHED AND s.qty = 0 THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET t.qty = t.qty + s.qty "
        "WHEN NOT MATCHED THEN INSERT *"
    )
    expected = [(1, "apple", 5), (2, "pear", 13), (4, "fig", 8)]
    assert [tuple(r) for r in spark.rows("SELECT id, item, qty FROM sales.stock ORDER BY id")] == expected
    assert rows_by_id(pyiceberg, "sales.stock", "id", "item", "qty") == expected
    assert pyiceberg.load_table("sales.stock").current_snapshot().summary.operation.value == "overwrite"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_delete_and_update(spark: SparkSql, pyiceberg: RestCatalog, mode: str) -> None:
    name = "sales.cow" if mode == "copy-on-write" else "sales.mor"
    spark.run(
        f"CREATE TABLE {name} (id BIGINT, status STRING) USING iceberg TBLPROPERTIES "
        f"('format-version'='2', 'write.delete.mode'='{mode}', 'write.update.mode'='{mode}', "
        f"'write.merge.mode'='{mode}')"
    )
    spark.run(f"INSERT INTO {name} VALUES (1, 'new'), (2, 'new'), (3, 'new'), (4, 'new')")
    spark.run(f"DELETE FROM {name} WHERE id = 2")
    spark.run(f"UPDATE {name} SET status = 'paid' WHERE id >= 3")
    expected = [(1, "new"), (3, "paid"), (4, "paid")]
    assert [tuple(r) for r in spark.rows(f"SELECT id, status FROM {name} ORDER BY id")] == expected
    assert rows_by_id(pyiceberg, name, "id", "status") == expected
    table = pyiceberg.load_table(name)
    manifests = table.current_snapshot().manifests(table.io)  # type: ignore[union-attr]
    has_deletes = any(m.content.value == 1 for m in manifests)
    assert has_deletes is (mode == "merge-on-read")


def test_spark_reads_and_writes_a_pyiceberg_table(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "city": ["Oslo", "Lima"]})
    table = pyiceberg.create_table("sales.cities", schema=data.schema)
    table.append(data)
    assert spark.rows("SELECT id, city FROM sales.cities ORDER BY id") == [[1, "Oslo"], [2, "Lima"]]
    spark.run("INSERT INTO sales.cities VALUES (3, 'Pune')")
    spark.run("UPDATE sales.cities SET city = 'Bergen' WHERE id = 1")
    assert rows_by_id(pyiceberg, "sales.cities", "id", "city") == [(1, "Bergen"), (2, "Lima"), (3, "Pune")]


def test_write_audit_publish_on_a_branch(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE sales.wap (id BIGINT) USING iceberg TBLPROPERTIES ('write.wap.enabled'='true')")
    spark.run("INSERT INTO sales.wap VALUES (1)")
    spark.run("ALTER TABLE sales.wap CREATE BRANCH audit")
    spark.run("SET spark.wap.branch = audit")
    try:
        spark.run("INSERT INTO sales.wap VALUES (2)")
    finally:
        spark.run("RESET spark.wap.branch")
    assert spark.rows("SELECT id FROM sales.wap ORDER BY id") == [[1]]
    assert spark.rows("SELECT id FROM sales.wap VERSION AS OF 'audit' ORDER BY id") == [[1], [2]]
    assert pyiceberg.load_table("sales.wap").scan().to_arrow().column("id").to_pylist() == [1]
    published = spark.rows("CALL my_catalog.system.fast_forward('sales.wap', 'main', 'audit')")
    refs = pyiceberg.load_table("sales.wap").metadata.refs
    assert published == [["main", published[0][1], refs["audit"].snapshot_id]]
    assert refs["main"].snapshot_id == refs["audit"].snapshot_id
    assert sorted(pyiceberg.load_table("sales.wap").scan().to_arrow().column("id").to_pylist()) == [1, 2]


def test_staged_write_cherry_pick_and_rollback(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(
        "CREATE TABLE sales.staged (id BIGINT) USING iceberg TBLPROPERTIES ('write.wap.enabled'='true')"
    )
    spark.run("INSERT INTO sales.staged VALUES (1)")
    first = pyiceberg.load_table("sales.staged").metadata.current_snapshot_id
    spark.run("SET spark.wap.id = batch-7")
    try:
        spark.run("INSERT INTO sales.staged VALUES (2)")
    finally:
        spark.run("RESET spark.wap.id")
    table = pyiceberg.load_table("sales.staged")
    assert table.metadata.current_snapshot_id == first
    (staged,) = [s for s in table.snapshots() if s.summary and s.summary.get("wap.id") == "batch-7"]
    spark.run(f"CALL my_catalog.system.cherrypick_snapshot('sales.staged', {staged.snapshot_id})")
    assert sorted(pyiceberg.load_table("sales.staged").scan().to_arrow().column("id").to_pylist()) == [1, 2]
    spark.run(f"CALL my_catalog.system.rollback_to_snapshot('sales.staged', {first})")
    assert pyiceberg.load_table("sales.staged").metadata.current_snapshot_id == first
    assert spark.rows("SELECT id FROM sales.staged") == [[1]]


def test_maintenance_procedures(
    spark: SparkSql, pyiceberg: RestCatalog, lake: LiveLake, warehouse: str
) -> None:
    spark.run("CREATE TABLE sales.small (id BIGINT, v STRING) USING iceberg")
    for i in range(4):
        spark.run(f"INSERT INTO sales.small VALUES ({i}, 'v{i}')")
    location = pyiceberg.load_table("sales.small").location()
    rewritten = spark.rows(
        "CALL my_catalog.system.rewrite_data_files(table => 'sales.small', options => map('min-input-files', '2'))"
    )
    assert rewritten[0][:2] == [4, 1]
    spark.run("CALL my_catalog.system.rewrite_manifests('sales.small')")
    table = pyiceberg.load_table("sales.small")
    assert table.current_snapshot().summary.operation.value == "replace"  # type: ignore[union-attr]
    assert len(table.scan().plan_files()) == 1
    expired = spark.dicts(
        "CALL my_catalog.system.expire_snapshots(table => 'sales.small', "
        "older_than => TIMESTAMP '2100-01-01 00:00:00', retain_last => 1)"
    )
    assert expired[0]["deleted_data_files_count"] == 4
    table = pyiceberg.load_table("sales.small")
    assert len(table.snapshots()) == 1
    live = {task.file.file_path for task in table.scan().plan_files()}
    parquet = {
        f"s3://{warehouse}/{k}" for k in keys_under(lake, warehouse, location) if k.endswith(".parquet")
    }
    assert parquet == live
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [0, 1, 2, 3]

    (stats,) = spark.rows("CALL my_catalog.system.compute_table_stats('sales.small')")
    statistics = pyiceberg.load_table("sales.small").metadata.statistics
    assert [s.statistics_path for s in statistics] == stats


def test_format_v3_table_with_row_lineage(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    """Spark creates a format-version 3 table, writes it twice and deletes from it (deletion vectors); lakebox
    keeps the row-lineage fields the engine commits, and PyIceberg reads the same rows."""
    spark.run(
        "CREATE TABLE sales.v3 (id BIGINT, at TIMESTAMP_NTZ) USING iceberg "
        "TBLPROPERTIES ('format-version'='3', 'write.delete.mode'='merge-on-read')"
    )
    spark.run(
        "INSERT INTO sales.v3 VALUES (1, TIMESTAMP_NTZ '2024-01-01 00:00:00'), (2, TIMESTAMP_NTZ '2024-01-02')"
    )
    spark.run("INSERT INTO sales.v3 VALUES (3, TIMESTAMP_NTZ '2024-01-03 00:00:00')")
    spark.run("DELETE FROM sales.v3 WHERE id = 2")
    assert spark.rows("SELECT id FROM sales.v3 ORDER BY id") == [[1], [3]]
    metadata = pyiceberg.load_table("sales.v3").metadata
    assert metadata.format_version == 3
    assert metadata.next_row_id is not None
    assert metadata.next_row_id >= 3
    assert rows_by_id(pyiceberg, "sales.v3", "id") == [(1,), (3,)]
