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
