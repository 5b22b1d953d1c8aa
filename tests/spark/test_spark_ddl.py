"""Spark SQL DDL and views against lakebox's catalog, with R2's Spark configuration (tests/spark/driver.py): every
statement runs in one Spark driver for the module, and each result is checked from a second client (PyIceberg,
or the bucket's listing) so a statement that Spark accepts but the catalog stored wrongly still fails."""

from __future__ import annotations

import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NoSuchTableError, NoSuchViewError
from pyiceberg.table.sorting import SortDirection

from tests.catalog.live import LiveLake
from tests.spark.session import SparkSql, SparkSqlError, keys_under

pytestmark = pytest.mark.slow

EVENTS = "db.events"


@pytest.fixture(scope="module", autouse=True)
def namespace(spark: SparkSql) -> None:
    spark.run("CREATE NAMESPACE IF NOT EXISTS db")
    assert ["db"] in spark.rows("SHOW NAMESPACES")


def fields(pyiceberg: RestCatalog, table: str) -> list[str]:
    return [f.name for f in pyiceberg.load_table(table).schema().fields]


def rows(pyiceberg: RestCatalog, table: str, *columns: str) -> list[tuple[object, ...]]:
    data = pyiceberg.load_table(table).scan().to_arrow().sort_by(columns[0])
    return list(zip(*(data.column(c).to_pylist() for c in columns), strict=True))


def partitioning(pyiceberg: RestCatalog, table: str) -> list[tuple[str, str]]:
    spec = pyiceberg.load_table(table).spec()
    return [(f.name, str(f.transform)) for f in spec.fields]


def test_create_partitioned_table(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(
        f"CREATE TABLE {EVENTS} (id BIGINT NOT NULL, name STRING, ts TIMESTAMP, cat STRING) USING iceberg "
        "PARTITIONED BY (days(ts), cat) TBLPROPERTIES ('format-version'='2', 'owner-team'='lake')"
    )
    assert ["db", "events", False] in spark.rows("SHOW TABLES IN db")
    table = pyiceberg.load_table(EVENTS)
    assert table.format_version == 2
    assert [(f.name, f.required) for f in table.schema().fields] == [
        ("id", True),
        ("name", False),
        ("ts", False),
        ("cat", False),
    ]
    assert partitioning(pyiceberg, EVENTS) == [("ts_day", "day"), ("cat", "identity")]
    assert table.properties["owner-team"] == "lake"


def test_alter_add_rename_drop_columns(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(f"ALTER TABLE {EVENTS} ADD COLUMNS (score DOUBLE, note STRING)")
    assert fields(pyiceberg, EVENTS) == ["id", "name", "ts", "cat", "score", "note"]
    spark.run(f"ALTER TABLE {EVENTS} RENAME COLUMN name TO label")
    spark.run(f"ALTER TABLE {EVENTS} DROP COLUMN note")
    spark.run(f"ALTER TABLE {EVENTS} ALTER COLUMN score COMMENT 'a score'")
    assert fields(pyiceberg, EVENTS) == ["id", "label", "ts", "cat", "score"]
    described = {row[0]: row[1] for row in spark.rows(f"DESCRIBE TABLE {EVENTS}") if row[0]}
    assert described["label"] == "string"
    assert described["score"] == "double"
    assert "note" not in described
    assert pyiceberg.load_table(EVENTS).schema().find_field("score").doc == "a score"


def test_partition_evolution(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(f"ALTER TABLE {EVENTS} ADD PARTITION FIELD bucket(4, id) AS id_bucket")
    assert partitioning(pyiceberg, EVENTS) == [
        ("ts_day", "day"),
        ("cat", "identity"),
        ("id_bucket", "bucket[4]"),
    ]
    spark.run(f"ALTER TABLE {EVENTS} DROP PARTITION FIELD cat")
    table = pyiceberg.load_table(EVENTS)
    # format v2 removes a dropped field from the new spec; the old specs stay in the metadata
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
        ("ts_day", "day"),
        ("id_bucket", "bucket[4]"),
    ]
    assert len(table.specs()) == 3
    spark.run(f"ALTER TABLE {EVENTS} REPLACE PARTITION FIELD ts_day WITH hours(ts) AS ts_hour")
    assert partitioning(pyiceberg, EVENTS) == [("id_bucket", "bucket[4]"), ("ts_hour", "hour")]


def test_sort_order(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(f"ALTER TABLE {EVENTS} WRITE ORDERED BY id DESC, label")
    order = pyiceberg.load_table(EVENTS).sort_order()
    assert [(f.direction, str(f.transform)) for f in order.fields] == [
        (SortDirection.DESC, "identity"),
        (SortDirection.ASC, "identity"),
    ]
    props = dict(spark.rows(f"SHOW TBLPROPERTIES {EVENTS}"))
    assert props["sort-order"] == "id DESC NULLS LAST, label ASC NULLS FIRST"
    spark.run(f"ALTER TABLE {EVENTS} WRITE UNORDERED")
    assert pyiceberg.load_table(EVENTS).sort_order().is_unsorted


def test_set_and_unset_properties(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(
        f"ALTER TABLE {EVENTS} SET TBLPROPERTIES ('k1'='v1', 'k2'='v2', 'write.target-file-size-bytes'='1048576')"
    )
    spark.run(f"ALTER TABLE {EVENTS} UNSET TBLPROPERTIES ('k2')")
    props = pyiceberg.load_table(EVENTS).properties
    assert props["k1"] == "v1"
    assert "k2" not in props
    assert props["write.target-file-size-bytes"] == "1048576"
    shown = dict(spark.rows(f"SHOW TBLPROPERTIES {EVENTS}"))
    assert shown["k1"] == "v1"
    assert "k2" not in shown


def test_branches_and_tags(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE db.refs (id BIGINT, v STRING) USING iceberg")
    spark.run("INSERT INTO db.refs VALUES (1, 'a'), (2, 'b')")
    first = pyiceberg.load_table("db.refs").metadata.current_snapshot_id
    spark.run("ALTER TABLE db.refs CREATE BRANCH audit RETAIN 7 DAYS WITH SNAPSHOT RETENTION 2 SNAPSHOTS")
    spark.run("ALTER TABLE db.refs CREATE TAG v1 RETAIN 30 DAYS")
    spark.run("INSERT INTO db.refs VALUES (3, 'c')")
    refs = pyiceberg.load_table("db.refs").metadata.refs
    assert refs["audit"].snapshot_id == first
    assert refs["audit"].snapshot_ref_type == "branch"
    assert refs["audit"].max_ref_age_ms == 7 * 86_400_000
    assert refs["audit"].min_snapshots_to_keep == 2
    assert refs["v1"].snapshot_ref_type == "tag"
    assert refs["v1"].snapshot_id == first
    assert refs["v1"].max_ref_age_ms == 30 * 86_400_000
    assert refs["main"].snapshot_id != first

    assert spark.rows("SELECT id FROM db.refs VERSION AS OF 'v1' ORDER BY id") == [[1], [2]]
    assert spark.rows("SELECT id FROM db.refs VERSION AS OF 'audit' ORDER BY id") == [[1], [2]]
    assert spark.rows("SELECT id FROM db.refs ORDER BY id") == [[1], [2], [3]]

    spark.run("ALTER TABLE db.refs REPLACE TAG v1 AS OF VERSION " + str(refs["main"].snapshot_id))
    assert spark.rows("SELECT id FROM db.refs VERSION AS OF 'v1' ORDER BY id") == [[1], [2], [3]]
    spark.run("ALTER TABLE db.refs DROP TAG v1")
    spark.run("ALTER TABLE db.refs DROP BRANCH audit")
    assert set(pyiceberg.load_table("db.refs").metadata.refs) == {"main"}


def test_rename_table(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE db.before (id BIGINT) USING iceberg")
    spark.run("INSERT INTO db.before VALUES (7)")
    spark.run("ALTER TABLE db.before RENAME TO db.after")
    assert not pyiceberg.table_exists("db.before")
    assert pyiceberg.load_table("db.after").scan().to_arrow().column("id").to_pylist() == [7]
    assert spark.rows("SELECT id FROM db.after") == [[7]]
    tables = [row[1] for row in spark.rows("SHOW TABLES IN db")]
    assert "after" in tables
    assert "before" not in tables


def test_drop_table_keeps_files_and_purge_deletes_them(
    spark: SparkSql, pyiceberg: RestCatalog, lake: LiveLake, warehouse: str
) -> None:
    for name in ("kept", "purged"):
        spark.run(f"CREATE TABLE db.{name} (id BIGINT, v STRING) USING iceberg PARTITIONED BY (v)")
        spark.run(f"INSERT INTO db.{name} VALUES (1, 'a'), (2, 'b')")
    kept = pyiceberg.load_table("db.kept").location()
    purged = pyiceberg.load_table("db.purged").location()
    kept_keys = keys_under(lake, warehouse, kept)
    assert any(k.endswith(".parquet") for k in kept_keys)
    assert any(k.endswith(".parquet") for k in keys_under(lake, warehouse, purged))

    spark.run("DROP TABLE db.kept")
    spark.run("DROP TABLE db.purged PURGE")
    for name in ("kept", "purged"):
        with pytest.raises(NoSuchTableError):
            pyiceberg.load_table(f"db.{name}")
    assert keys_under(lake, warehouse, kept) == kept_keys
    assert keys_under(lake, warehouse, purged) == []


def test_views_create_replace_select_drop(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE db.people (id BIGINT, name STRING, age INT) USING iceberg")
    spark.run("INSERT INTO db.people VALUES (1, 'Ada', 36), (2, 'Brian', 17), (3, 'Cleo', 52)")
    spark.run("CREATE VIEW db.adults COMMENT 'grown-ups' AS SELECT id, name FROM db.people WHERE age >= 18")
    assert spark.rows("SELECT name FROM db.adults ORDER BY id") == [["Ada"], ["Cleo"]]
    assert ["db", "adults", False] in spark.rows("SHOW VIEWS IN db")
    view = pyiceberg.load_view("db.adults")
    assert [f.name for f in view.metadata.schemas[-1].fields] == ["id", "name"]
    sql = view.metadata.versions[-1].representations[0].root
    assert sql.dialect == "spark"
    assert "age >= 18" in sql.sql

    spark.run("CREATE OR REPLACE VIEW db.adults AS SELECT name, age FROM db.people WHERE age >= 40")
    assert spark.rows("SELECT name, age FROM db.adults") == [["Cleo", 52]]
    replaced = pyiceberg.load_view("db.adults").metadata
    assert len(replaced.versions) == 2
    assert replaced.current_version_id == max(v.version_id for v in replaced.versions)
    assert [f.name for f in replaced.schemas[-1].fields] == ["name", "age"]

    spark.run("CREATE VIEW IF NOT EXISTS db.adults AS SELECT 1 AS one")
    assert spark.rows("SELECT name FROM db.adults") == [["Cleo"]]
    spark.run("DROP VIEW db.adults")
    with pytest.raises(NoSuchViewError):
        pyiceberg.load_view("db.adults")
    assert ["db", "adults", False] not in spark.rows("SHOW VIEWS IN db")


def test_namespace_properties_and_drop(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE NAMESPACE props WITH PROPERTIES ('team'='a')")
    spark.run("ALTER NAMESPACE props SET PROPERTIES ('team'='b', 'tier'='gold')")
    props = pyiceberg.load_namespace_properties("props")
    assert props["team"] == "b"
    assert props["tier"] == "gold"
    described = dict(spark.rows("DESCRIBE NAMESPACE EXTENDED props"))
    assert "(team,b)" in described["Properties"]
    spark.run("CREATE TABLE props.t (id BIGINT) USING iceberg")
    with pytest.raises(SparkSqlError) as refused:
        spark.run("DROP NAMESPACE props")
    assert refused.value.root == "org.apache.iceberg.exceptions.NamespaceNotEmptyException"
    assert pyiceberg.table_exists("props.t")
    spark.run("DROP TABLE props.t")
    spark.run("DROP NAMESPACE props")
    assert ["props"] not in spark.rows("SHOW NAMESPACES")


def test_create_and_replace_table_as_select(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE db.seed (id BIGINT, v STRING) USING iceberg")
    spark.run("INSERT INTO db.seed VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    spark.run(
        "CREATE TABLE db.copy USING iceberg PARTITIONED BY (v) AS SELECT id, v FROM db.seed WHERE id < 3"
    )
    assert rows(pyiceberg, "db.copy", "id", "v") == [(1, "a"), (2, "b")]
    assert partitioning(pyiceberg, "db.copy") == [("v", "identity")]
    spark.run("REPLACE TABLE db.copy USING iceberg AS SELECT id, upper(v) AS big FROM db.seed")
    replaced = pyiceberg.load_table("db.copy")
    assert [f.name for f in replaced.schema().fields] == ["id", "big"]
    assert replaced.spec().is_unpartitioned()
    assert len(replaced.snapshots()) == 2  # a replace keeps the table's history
    assert rows(pyiceberg, "db.copy", "id", "big") == [(1, "A"), (2, "B"), (3, "C")]
    spark.run("CREATE OR REPLACE TABLE db.copy USING iceberg AS SELECT id FROM db.seed WHERE id = 3")
    assert rows(pyiceberg, "db.copy", "id") == [(3,)]
    spark.run("CREATE OR REPLACE TABLE db.brand_new (x INT) USING iceberg")
    assert pyiceberg.load_table("db.brand_new").current_snapshot() is None


def test_column_types_order_nesting_and_identifier_fields(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run(
        "CREATE TABLE db.shapes (id INT NOT NULL, s STRUCT<a: INT, b: STRING>, m MAP<STRING, INT>, "
        "arr ARRAY<BIGINT>, tz TIMESTAMP_NTZ, price FLOAT) USING iceberg"
    )
    spark.run(
        "INSERT INTO db.shapes VALUES (1, named_struct('a', 1, 'b', 'x'), map('k', 1), array(1L, 2L), "
        "TIMESTAMP_NTZ '2024-01-01 00:00:00', 1.5)"
    )
    spark.run("ALTER TABLE db.shapes ALTER COLUMN id TYPE BIGINT")
    spark.run("ALTER TABLE db.shapes ALTER COLUMN price TYPE DOUBLE")
    spark.run("ALTER TABLE db.shapes ALTER COLUMN tz FIRST")
    spark.run("ALTER TABLE db.shapes ALTER COLUMN arr AFTER id")
    spark.run("ALTER TABLE db.shapes ADD COLUMN s.c DOUBLE")
    spark.run("ALTER TABLE db.shapes SET IDENTIFIER FIELDS id")
    schema = pyiceberg.load_table("db.shapes").schema()
    assert [f.name for f in schema.fields] == ["tz", "id", "arr", "s", "m", "price"]
    assert str(schema.find_field("id").field_type) == "long"
    assert str(schema.find_field("price").field_type) == "double"
    assert schema.find_field("s.c").required is False
    assert schema.identifier_field_names() == {"id"}
    assert spark.rows("SELECT id, s.a, s.c, m['k'], arr[1], price FROM db.shapes") == [
        [1, 1, None, 1, 2, 1.5]
    ]
    spark.run("ALTER TABLE db.shapes DROP IDENTIFIER FIELDS id")
    assert pyiceberg.load_table("db.shapes").schema().identifier_field_names() == set()


def test_refused_ddl_changes_nothing(spark: SparkSql, pyiceberg: RestCatalog) -> None:
    spark.run("CREATE TABLE db.solid (id BIGINT) USING iceberg")
    before = pyiceberg.load_table("db.solid").metadata_location
    cases = [
        ("CREATE TABLE db.solid (x INT) USING iceberg", "TableAlreadyExistsException"),
        (
            "ALTER TABLE db.solid RENAME TO missing_ns.solid",
            "org.apache.iceberg.exceptions.NoSuchNamespaceException",
        ),
        ("DROP TABLE db.missing", "NoSuchTableException"),
        ("CREATE TABLE missing_ns.t (x INT) USING iceberg", "NoSuchNamespaceException"),
        ("CREATE VIEW db.solid AS SELECT 1 AS one", "ViewAlreadyExistsException"),
    ]
    for statement, error in cases:
        with pytest.raises(SparkSqlError) as refused:
            spark.run(statement)
        assert refused.value.root.endswith(error), (statement, str(refused.value))
    assert pyiceberg.load_table("db.solid").metadata_location == before
    assert not pyiceberg.namespace_exists("missing_ns")
