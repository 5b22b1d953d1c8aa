"""Format version 3 end to end against ``lakebox serve``: PyIceberg creates v3 tables with the new types and
column defaults, and a v2 table with data upgraded to v3 stays readable by PyIceberg and DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import (
    GeographyType,
    GeometryType,
    LongType,
    NestedField,
    StringType,
    TimestampNanoType,
    TimestamptzNanoType,
    UnknownType,
)

from tests.catalog.live import LiveLake
from tests.catalog.test_e2e_duckdb import duck

V3_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "ts", TimestampNanoType(), required=False),
    NestedField(3, "tstz", TimestamptzNanoType(), required=False),
    NestedField(4, "nothing", UnknownType(), required=False),
    NestedField(5, "shape", GeometryType(), required=False),
    NestedField(6, "place", GeographyType(), required=False),
)


@pytest.fixture(scope="module")
def stack(lake: LiveLake) -> LiveLake:
    lake.warehouse("lake")
    return lake


def connect(stack: LiveLake) -> RestCatalog:
    return RestCatalog("lake", uri=stack.catalog_uri, warehouse="lake", token=stack.root.token)


def test_pyiceberg_creates_and_loads_a_v3_table_with_new_types_and_defaults(stack: LiveLake) -> None:
    cat = connect(stack)
    cat.create_namespace_if_not_exists("v3")
    created = cat.create_table("v3.types", V3_SCHEMA, properties={"format-version": "3"})
    table = cat.load_table("v3.types")
    assert table.metadata.format_version == 3
    assert table.metadata.next_row_id == 0
    assert table.schema() == created.schema()
    fields = {f.name: f for f in table.schema().fields}
    assert isinstance(fields["ts"].field_type, TimestampNanoType)
    assert isinstance(fields["tstz"].field_type, TimestamptzNanoType)
    assert isinstance(fields["nothing"].field_type, UnknownType)
    assert isinstance(fields["shape"].field_type, GeometryType)
    assert isinstance(fields["place"].field_type, GeographyType)
    assert table.scan().to_arrow().num_rows == 0

    # PyIceberg's client drops column defaults from a create request (its id assignment does), so they are
    # added as v3 schema changes: columns with defaults
    with table.update_schema() as update:
        update.add_column("n", LongType(), default_value=42)
        update.add_column("s", StringType(), default_value="dflt")
    table = cat.load_table("v3.types")
    n, s = table.schema().find_field("n"), table.schema().find_field("s")
    assert (n.initial_default, n.write_default) == (42, 42)
    assert (s.initial_default, s.write_default) == ("dflt", "dflt")
    assert table.metadata.format_version == 3


def test_a_v2_table_with_data_upgraded_to_v3_stays_readable(stack: LiveLake) -> None:
    cat = connect(stack)
    cat.create_namespace_if_not_exists("v3")
    schema = Schema(
        NestedField(1, "id", LongType(), required=False), NestedField(2, "v", StringType(), required=False)
    )
    table = cat.create_table("v3.upgraded", schema, properties={"format-version": "2"})
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": pa.array(["a", "b", "c"])})
    table.append(data)
    table.append(data.slice(0, 1))
    before = table.scan().to_arrow().sort_by("id")

    assert _upgrade_by_rest(cat, "v3", "upgraded") == 3  # PyIceberg 0.12's own API stops at version 2

    table = cat.load_table("v3.upgraded")
    assert table.metadata.format_version == 3
    assert table.metadata.next_row_id == 0  # rows written before v3 have no row ids
    assert len(table.metadata.snapshots) == 2
    assert table.scan().to_arrow().sort_by("id") == before
    con = duck(stack)
    got = con.execute("SELECT id, v FROM my_r2_catalog.v3.upgraded ORDER BY id, v").fetchall()
    assert got == [(1, "a"), (1, "a"), (2, "b"), (3, "c")]


def _upgrade_by_rest(cat: RestCatalog, namespace: str, name: str) -> int:
    """The spec's ``upgrade-format-version`` to 3, sent as PyIceberg's own REST session sends a commit."""
    table = cat.load_table(f"{namespace}.{name}")
    uuid_ = str(table.metadata.table_uuid)
    body = {
        "identifier": {"namespace": [namespace], "name": name},
        "requirements": [{"type": "assert-table-uuid", "uuid": uuid_}],
        "updates": [{"action": "upgrade-format-version", "format-version": 3}],
    }
    url = cat.url(f"namespaces/{namespace}/tables/{name}", prefixed=True)
    r = cat._session.post(url, json=body)
    assert r.status_code == 200, r.text
    version: int = r.json()["metadata"]["format-version"]
    return version


def test_a_v1_table_upgraded_to_v3(stack: LiveLake) -> None:
    cat = connect(stack)
    cat.create_namespace_if_not_exists("v3")
    schema = Schema(NestedField(1, "id", LongType(), required=False))
    table = cat.create_table("v3.from_v1", schema, properties={"format-version": "1"})
    table.append(pa.table({"id": pa.array([5, 6], pa.int64())}))
    assert _upgrade_by_rest(cat, "v3", "from_v1") == 3
    table = cat.load_table("v3.from_v1")
    assert table.metadata.format_version == 3
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [5, 6]


def test_a_v3_table_with_nanosecond_timestamps_and_defaults_written_and_read(stack: LiveLake) -> None:
    """PyIceberg 0.12 (the newest release) cannot write v3 manifests ("Cannot write manifest for table version:
    3"), so DuckDB appends; PyIceberg creates, evolves and reads."""
    cat = connect(stack)
    cat.create_namespace_if_not_exists("v3")
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "ts", TimestampNanoType(), required=False),
    )
    cat.create_table("v3.appended", schema, properties={"format-version": "3"})
    con = duck(stack)
    con.execute(
        "INSERT INTO my_r2_catalog.v3.appended VALUES (1, TIMESTAMP_NS '2025-01-01 00:00:00.000000001')"
    )
    table = cat.load_table("v3.appended")
    first = table.metadata.snapshots[0]
    assert (first.first_row_id, first.added_rows, table.metadata.next_row_id) == (0, 1, 1)

    with table.update_schema() as update:  # rows written before the column existed read its initial default
        update.add_column("n", LongType(), default_value=42)
    con.execute(
        "INSERT INTO my_r2_catalog.v3.appended VALUES (2, TIMESTAMP_NS '2025-01-01 00:00:00.000000002', 5), "
        "(3, NULL, 6)"
    )
    table = cat.load_table("v3.appended")
    second = table.metadata.snapshots[-1]
    assert (second.first_row_id, second.added_rows, table.metadata.next_row_id) == (1, 2, 3)
    got = table.scan().to_arrow().sort_by("id")
    assert got.schema.field("ts").type == pa.timestamp("ns")
    assert got.column("ts").cast(pa.int64()).to_pylist() == [
        1_735_689_600_000_000_001,
        1_735_689_600_000_000_002,
        None,
    ]
    assert got.column("n").to_pylist() == [42, 5, 6]


def test_pyiceberg_creates_a_v3_table_in_a_transaction(stack: LiveLake) -> None:
    """create_table_transaction: a stage-create, then a commit that creates the table (assert-create)."""
    cat = connect(stack)
    cat.create_namespace_if_not_exists("v3")
    schema = Schema(NestedField(1, "ts", TimestampNanoType(), required=False))
    tx = cat.create_table_transaction("v3.staged", schema, properties={"format-version": "3"})
    tx.set_properties(owner="me")
    tx.commit_transaction()
    table = cat.load_table("v3.staged")
    assert table.metadata.format_version == 3
    assert table.metadata.next_row_id == 0
    assert table.metadata.properties["owner"] == "me"
    assert table.metadata.properties["write.parquet.compression-codec"] == "zstd"
