"""Iceberg's Java reference catalog (``CatalogHandlers`` over a JDBC catalog on SQLite, Iceberg 1.10.2, behind the
JDK's HTTP server) and lakebox answer the same requests with the same status and error type. Every case below was
sent to both on the same starting state (namespaces ``db`` and ``empty``, table ``db.t``, view ``db.v``) and the
answers compared. ``reference`` is None where the reference answered exactly this; otherwise it says what the
reference answered that lakebox deliberately does not (a 500 for bad input, a Jackson class name as the type, or a
JDBC-catalog quirk such as namespaces that exist implicitly). A refused request changes nothing."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest
from litestar.testing import TestClient

from tests.catalog.doubles import MemoryFiles
from tests.catalog.helpers import P

Client = TestClient  # type: ignore[type-arg]

S = {
    "type": "struct",
    "schema-id": 0,
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "s", "type": "string", "required": False},
    ],
}
VIEW = {
    "name": "v",
    "schema": S,
    "view-version": {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1700000000000,
        "summary": {"engine-name": "spark"},
        "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
        "default-namespace": ["db"],
    },
    "properties": {},
}


SNAPSHOT = {
    "snapshot-id": 1,
    "sequence-number": 1,
    "timestamp-ms": 1700000000000,
    "manifest-list": "s3://x/m.avro",
    "summary": {"operation": "append"},
    "schema-id": 0,
}


def schema(schema_id: int) -> dict[str, Any]:
    """``S`` under another schema id."""
    return S | {"schema-id": schema_id}


def view_body(
    name: str,
    schema_id: int = 0,
    version_schema_id: int | None = None,
    representations: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """``VIEW`` renamed; the view version's schema id follows the schema's unless given."""
    view_version: dict[str, Any] = VIEW["view-version"] | {  # type: ignore[operator]
        "schema-id": schema_id if version_schema_id is None else version_schema_id
    }
    if representations is not None:
        view_version["representations"] = representations
    return {
        "name": name,
        "schema": S if schema_id == 0 else schema(schema_id),
        "view-version": view_version,
        "properties": {},
    }


S5 = {"type": "struct", "schema-id": 5, "fields": [{"id": 1, "name": "id", "type": "long", "required": True}]}


def version(schema_id: int, version_id: int) -> dict[str, Any]:
    return VIEW["view-version"] | {  # type: ignore[operator]
        "version-id": version_id,
        "schema-id": schema_id,
        "representations": [{"type": "sql", "sql": f"select {version_id}", "dialect": "spark"}],
    }


class Case(NamedTuple):
    name: str
    method: str
    path: str
    body: Any
    status: int
    error_type: str | None
    reference: str | None  # None: the reference answers exactly this


CASES = [
    Case(
        "create ns exists",
        "POST",
        "{P}/namespaces",
        {"namespace": ["db"]},
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "create ns no body",
        "POST",
        "{P}/namespaces",
        "{}",
        400,
        "IllegalArgumentException",
        "reference: 500 NullPointerException",
    ),
    Case(
        "create ns bad json",
        "POST",
        "{P}/namespaces",
        "{",
        400,
        "BadRequestException",
        "reference: 400 JsonEOFException (Jackson's class name)",
    ),
    Case("get ns missing", "GET", "{P}/namespaces/nope", None, 404, "NoSuchNamespaceException", None),
    Case("head ns missing", "HEAD", "{P}/namespaces/nope", None, 404, None, None),
    Case(
        "list ns parent missing",
        "GET",
        "{P}/namespaces?parent=nope",
        None,
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case("drop ns missing", "DELETE", "{P}/namespaces/nope", None, 404, "NoSuchNamespaceException", None),
    Case("drop ns not empty", "DELETE", "{P}/namespaces/db", None, 409, "NamespaceNotEmptyException", None),
    Case(
        "ns props missing",
        "POST",
        "{P}/namespaces/nope/properties",
        {"updates": {"a": "b"}},
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case(
        "ns props overlap",
        "POST",
        "{P}/namespaces/db/properties",
        {"updates": {"a": "b"}, "removals": ["a"]},
        422,
        "UnprocessableEntityException",
        "reference: UnprocessableEntityException with 500 (the spec and Java's RESTCatalogAdapter: 422)",
    ),
    Case(
        "list tables ns missing",
        "GET",
        "{P}/namespaces/nope/tables",
        None,
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case(
        "load table ns missing",
        "GET",
        "{P}/namespaces/nope/tables/t",
        None,
        404,
        "NoSuchTableException",
        None,
    ),
    Case("load table missing", "GET", "{P}/namespaces/db/tables/x", None, 404, "NoSuchTableException", None),
    Case(
        "load table that is a view",
        "GET",
        "{P}/namespaces/db/tables/v",
        None,
        404,
        "NoSuchTableException",
        None,
    ),
    Case("load table bad snapshots", "GET", "{P}/namespaces/db/tables/t?snapshots=x", None, 200, None, None),
    Case("head table ns missing", "HEAD", "{P}/namespaces/nope/tables/t", None, 404, None, None),
    Case(
        "create table exists",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "t",
            "schema": S,
        },
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "create table name of view",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "v",
            "schema": S,
        },
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "create table no schema",
        "POST",
        "{P}/namespaces/db/tables",
        {"name": "x"},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "create table no name",
        "POST",
        "{P}/namespaces/db/tables",
        {"schema": S},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "create table unknown type",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c0",
            "schema": {
                "type": "struct",
                "fields": [{"id": 1, "name": "a", "type": "varchar", "required": False}],
            },
        },
        400,
        "BadRequestException",
        "reference: 400 JsonMappingException (Jackson's class name)",
    ),
    Case(
        "create table bad transform",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c1",
            "schema": S,
            "partition-spec": {
                "spec-id": 0,
                "fields": [{"name": "p", "transform": "zorder", "source-id": 1, "field-id": 1000}],
            },
        },
        400,
        "BadRequestException",
        "reference: 200, keeps a transform it cannot apply",
    ),
    Case(
        "create table spec missing column",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c2",
            "schema": S,
            "partition-spec": {
                "spec-id": 0,
                "fields": [{"name": "p", "transform": "identity", "source-id": 9, "field-id": 1000}],
            },
        },
        400,
        "ValidationException",
        None,
    ),
    Case(
        "create table day of long",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c3",
            "schema": S,
            "partition-spec": {
                "spec-id": 0,
                "fields": [{"name": "p", "transform": "day", "source-id": 1, "field-id": 1000}],
            },
        },
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "create table format-version 0",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c4",
            "schema": S,
            "properties": {"format-version": "0"},
        },
        400,
        "BadRequestException",
        "reference: 200, writes format-version 0",
    ),
    Case(
        "create table format-version x",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c5",
            "schema": S,
            "properties": {"format-version": "x"},
        },
        400,
        "BadRequestException",
        "reference: 400 NumberFormatException",
    ),
    Case(
        "create table ts_ns in v2",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c6",
            "schema": {
                "type": "struct",
                "fields": [{"id": 1, "name": "a", "type": "timestamp_ns", "required": False}],
            },
        },
        400,
        "BadRequestException",
        "reference: 500 IllegalStateException",
    ),
    Case(
        "drop table ns missing",
        "DELETE",
        "{P}/namespaces/nope/tables/t",
        None,
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "drop table missing", "DELETE", "{P}/namespaces/db/tables/x", None, 404, "NoSuchTableException", None
    ),
    Case(
        "drop table that is a view",
        "DELETE",
        "{P}/namespaces/db/tables/v",
        None,
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "metrics table missing",
        "POST",
        "{P}/namespaces/db/tables/x/metrics",
        {
            "report-type": "scan-report",
            "table-name": "x",
            "snapshot-id": 1,
            "filter": True,
            "schema-id": 0,
            "projected-field-ids": [],
            "projected-field-names": [],
            "metrics": {},
        },
        204,
        None,
        None,
    ),
    Case(
        "metrics ns missing",
        "POST",
        "{P}/namespaces/nope/tables/x/metrics",
        {
            "report-type": "scan-report",
            "table-name": "x",
            "snapshot-id": 1,
            "filter": True,
            "schema-id": 0,
            "projected-field-ids": [],
            "projected-field-names": [],
            "metrics": {},
        },
        204,
        None,
        None,
    ),
    Case(
        "commit table missing",
        "POST",
        "{P}/namespaces/db/tables/x",
        {"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": "b"}}]},
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "commit table ns missing",
        "POST",
        "{P}/namespaces/nope/tables/x",
        {"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": "b"}}]},
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "commit uuid mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [{"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit assert-create on existing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [{"type": "assert-create"}], "updates": []},
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit ref-snapshot-id mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 5}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit current-schema mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [{"type": "assert-current-schema-id", "current-schema-id": 7}], "updates": []},
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit unknown action",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "drop-everything"}]},
        406,
        "UnsupportedOperationException",
        None,
    ),
    Case(
        "commit unknown requirement",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [{"type": "assert-nothing"}], "updates": []},
        406,
        "UnsupportedOperationException",
        None,
    ),
    Case(
        "commit set-current-schema missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "set-current-schema", "schema-id": 9}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit set-current-schema -1 none added",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "set-current-schema", "schema-id": -1}]},
        400,
        "ValidationException",
        None,
    ),
    Case(
        "commit set-default-spec missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "set-default-spec", "spec-id": 9}]},
        400,
        "IllegalArgumentException",
        "reference: 500 NullPointerException",
    ),
    Case(
        "commit set-default-sort-order missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "set-default-sort-order", "sort-order-id": 9}]},
        400,
        "IllegalArgumentException",
        "reference: 500 NullPointerException",
    ),
    Case(
        "commit set-snapshot-ref missing snapshot",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 42}
            ],
        },
        400,
        "ValidationException",
        None,
    ),
    Case(
        "commit remove-snapshot-ref missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-snapshot-ref", "ref-name": "nope"}]},
        200,
        None,
        None,
    ),
    Case(
        "commit remove-snapshots missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-snapshots", "snapshot-ids": [42]}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit downgrade",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "upgrade-format-version", "format-version": 1}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit remove current schema",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-schemas", "schema-ids": [0]}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit remove default spec",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-partition-specs", "spec-ids": [0]}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit add-spec unknown column",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {
                    "action": "add-spec",
                    "spec": {
                        "spec-id": 1,
                        "fields": [{"name": "p", "transform": "identity", "source-id": 9, "field-id": 1001}],
                    },
                }
            ],
        },
        400,
        "ValidationException",
        None,
    ),
    Case(
        "commit add-snapshot duplicate seq",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {
                    "action": "add-snapshot",
                    "snapshot": SNAPSHOT,
                },
                {
                    "action": "add-snapshot",
                    "snapshot": SNAPSHOT,
                },
            ],
        },
        400,
        "ValidationException",
        None,
    ),
    Case(
        "commit remove-statistics missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-statistics", "snapshot-id": 42}]},
        200,
        None,
        None,
    ),
    Case(
        "commit remove-partition-statistics missing",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "remove-partition-statistics", "snapshot-id": 42}]},
        200,
        None,
        None,
    ),
    Case(
        "commit identifier mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"identifier": {"namespace": ["db"], "name": "other"}, "requirements": [], "updates": []},
        400,
        "BadRequestException",
        "reference: 200, ignores the body's identifier and commits to the URL's table",
    ),
    Case(
        "rename source missing",
        "POST",
        "{P}/tables/rename",
        {"source": {"namespace": ["db"], "name": "x"}, "destination": {"namespace": ["db"], "name": "y"}},
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "rename source ns missing",
        "POST",
        "{P}/tables/rename",
        {"source": {"namespace": ["nope"], "name": "x"}, "destination": {"namespace": ["db"], "name": "y"}},
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "rename dest ns missing",
        "POST",
        "{P}/tables/rename",
        {"source": {"namespace": ["db"], "name": "t"}, "destination": {"namespace": ["nope"], "name": "y"}},
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case(
        "rename dest is view",
        "POST",
        "{P}/tables/rename",
        {"source": {"namespace": ["db"], "name": "t"}, "destination": {"namespace": ["db"], "name": "v"}},
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "rename no body",
        "POST",
        "{P}/tables/rename",
        "{}",
        400,
        "IllegalArgumentException",
        "reference: 500 NullPointerException",
    ),
    Case(
        "register ns missing",
        "POST",
        "{P}/namespaces/nope/register",
        {"name": "r", "metadata-location": "s3://lake/x.metadata.json"},
        404,
        "NoSuchNamespaceException",
        "reference: 500 NotFoundException (JDBC namespaces exist implicitly; the file is read first)",
    ),
    Case(
        "register existing name",
        "POST",
        "{P}/namespaces/db/register",
        {"name": "t", "metadata-location": "s3://lake/x.metadata.json"},
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "tx empty",
        "POST",
        "{P}/transactions/commit",
        {"table-changes": []},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "tx table missing",
        "POST",
        "{P}/transactions/commit",
        {
            "table-changes": [
                {"identifier": {"namespace": ["db"], "name": "x"}, "requirements": [], "updates": []}
            ]
        },
        404,
        "NoSuchTableException",
        None,
    ),
    Case(
        "tx no identifier",
        "POST",
        "{P}/transactions/commit",
        {"table-changes": [{"requirements": [], "updates": []}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "tx requirement fails",
        "POST",
        "{P}/transactions/commit",
        {
            "table-changes": [
                {
                    "identifier": {"namespace": ["db"], "name": "t"},
                    "requirements": [
                        {"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}
                    ],
                    "updates": [],
                }
            ]
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "list views ns missing",
        "GET",
        "{P}/namespaces/nope/views",
        None,
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case(
        "load view ns missing", "GET", "{P}/namespaces/nope/views/v", None, 404, "NoSuchViewException", None
    ),
    Case("load view missing", "GET", "{P}/namespaces/db/views/x", None, 404, "NoSuchViewException", None),
    Case(
        "load view that is a table",
        "GET",
        "{P}/namespaces/db/views/t",
        None,
        404,
        "NoSuchViewException",
        None,
    ),
    Case("head view missing", "HEAD", "{P}/namespaces/db/views/x", None, 404, None, None),
    Case(
        "create view exists",
        "POST",
        "{P}/namespaces/db/views",
        view_body("v"),
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "create view name of table",
        "POST",
        "{P}/namespaces/db/views",
        view_body("t"),
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "create view schema-id 5",
        "POST",
        "{P}/namespaces/db/views",
        view_body("v5", schema_id=5),
        200,
        None,
        None,
    ),
    Case(
        "create view version schema-id mismatch",
        "POST",
        "{P}/namespaces/db/views",
        view_body("v6", version_schema_id=3),
        200,
        None,
        None,
    ),
    Case(
        "create view no representations",
        "POST",
        "{P}/namespaces/db/views",
        view_body("v7", representations=[]),
        400,
        "BadRequestException",
        "reference: 500 IllegalStateException",
    ),
    Case(
        "create view no view-version",
        "POST",
        "{P}/namespaces/db/views",
        {
            "name": "v8",
            "schema": S,
        },
        400,
        "IllegalArgumentException",
        None,
    ),
    Case("drop view missing", "DELETE", "{P}/namespaces/db/views/x", None, 404, "NoSuchViewException", None),
    Case(
        "drop view ns missing",
        "DELETE",
        "{P}/namespaces/nope/views/x",
        None,
        404,
        "NoSuchViewException",
        None,
    ),
    Case(
        "drop view that is a table",
        "DELETE",
        "{P}/namespaces/db/views/t",
        None,
        404,
        "NoSuchViewException",
        None,
    ),
    Case(
        "replace view missing",
        "POST",
        "{P}/namespaces/db/views/x",
        {"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": "b"}}]},
        404,
        "NoSuchViewException",
        None,
    ),
    Case(
        "replace view uuid mismatch",
        "POST",
        "{P}/namespaces/db/views/v",
        {
            "requirements": [{"type": "assert-view-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "replace view set-current missing",
        "POST",
        "{P}/namespaces/db/views/v",
        {"requirements": [], "updates": [{"action": "set-current-view-version", "view-version-id": 9}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "replace view unknown action",
        "POST",
        "{P}/namespaces/db/views/v",
        {"requirements": [], "updates": [{"action": "nope"}]},
        406,
        "UnsupportedOperationException",
        None,
    ),
    Case(
        "rename view missing",
        "POST",
        "{P}/views/rename",
        {"source": {"namespace": ["db"], "name": "x"}, "destination": {"namespace": ["db"], "name": "y"}},
        404,
        "NoSuchViewException",
        None,
    ),
    Case(
        "rename view to table",
        "POST",
        "{P}/views/rename",
        {"source": {"namespace": ["db"], "name": "v"}, "destination": {"namespace": ["db"], "name": "t"}},
        409,
        "AlreadyExistsException",
        None,
    ),
    Case(
        "rename view dest ns missing",
        "POST",
        "{P}/views/rename",
        {"source": {"namespace": ["db"], "name": "v"}, "destination": {"namespace": ["nope"], "name": "t"}},
        404,
        "NoSuchNamespaceException",
        None,
    ),
    Case(
        "create table v3",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c90",
            "schema": S,
            "properties": {"format-version": "3"},
        },
        200,
        None,
        None,
    ),
    Case(
        "create table ts_ns in v3",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c91",
            "schema": {
                "type": "struct",
                "fields": [{"id": 1, "name": "a", "type": "timestamp_ns", "required": False}],
            },
            "properties": {"format-version": "3"},
        },
        200,
        None,
        None,
    ),
    Case(
        "commit upgrade to 3",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [], "updates": [{"action": "upgrade-format-version", "format-version": 3}]},
        200,
        None,
        None,
    ),
    Case(
        "commit v3 add-snapshot without first-row-id",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {"action": "upgrade-format-version", "format-version": 3},
                {
                    "action": "add-snapshot",
                    "snapshot": SNAPSHOT,
                },
            ],
        },
        400,
        "ValidationException",
        None,
    ),
    Case(
        "commit v3 add-snapshot without added-rows",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {"action": "upgrade-format-version", "format-version": 3},
                {
                    "action": "add-snapshot",
                    "snapshot": SNAPSHOT | {"first-row-id": 0},
                },
            ],
        },
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "commit v3 downgrade",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [
                {"action": "upgrade-format-version", "format-version": 3},
                {"action": "upgrade-format-version", "format-version": 2},
            ],
        },
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "create view with schema-id 5 and version schema-id 3",
        "POST",
        "{P}/namespaces/db/views",
        view_body("v9", schema_id=5, version_schema_id=3),
        200,
        None,
        None,
    ),
    Case(
        "stage-create table",
        "POST",
        "{P}/namespaces/db/tables",
        {
            "name": "c92",
            "schema": S,
            "stage-create": True,
        },
        200,
        None,
        None,
    ),
    Case(
        "commit unknown requirement in transaction",
        "POST",
        "{P}/transactions/commit",
        {
            "table-changes": [
                {
                    "identifier": {"namespace": ["db"], "name": "t"},
                    "requirements": [{"type": "assert-nothing"}],
                    "updates": [],
                }
            ]
        },
        406,
        "UnsupportedOperationException",
        None,
    ),
    Case(
        "commit assert-default-spec-id mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {"requirements": [{"type": "assert-default-spec-id", "default-spec-id": 3}], "updates": []},
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit assert-last-assigned-field-id mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [{"type": "assert-last-assigned-field-id", "last-assigned-field-id": 9}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit assert-default-sort-order-id mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [{"type": "assert-default-sort-order-id", "default-sort-order-id": 3}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "commit assert-last-assigned-partition-id mismatch",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [{"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 3}],
            "updates": [],
        },
        409,
        "CommitFailedException",
        None,
    ),
    Case(
        "load view that is missing in missing ns via HEAD",
        "HEAD",
        "{P}/namespaces/nope/views/v",
        None,
        404,
        None,
        None,
    ),
    Case("list namespaces", "GET", "{P}/namespaces", None, 200, None, None),
    Case(
        "rename to itself",
        "POST",
        "{P}/tables/rename",
        {"source": {"namespace": ["db"], "name": "t"}, "destination": {"namespace": ["db"], "name": "t"}},
        204,
        None,
        None,
    ),
    Case(
        "commit assign other uuid",
        "POST",
        "{P}/namespaces/db/tables/t",
        {
            "requirements": [],
            "updates": [{"action": "assign-uuid", "uuid": "00000000-0000-0000-0000-000000000001"}],
        },
        400,
        "BadRequestException",
        "reference: 500 IllegalStateException, after committing the new UUID",
    ),
    Case(
        "create table ns missing",
        "POST",
        "{P}/namespaces/nope3/tables",
        {
            "name": "t",
            "schema": S,
        },
        404,
        "NoSuchNamespaceException",
        "reference: 200 (JDBC namespaces exist implicitly; the spec: 404)",
    ),
    Case(
        "create view ns missing",
        "POST",
        "{P}/namespaces/nope4/views",
        view_body("v"),
        404,
        "NoSuchNamespaceException",
        "reference: 200 (JDBC namespaces exist implicitly; the spec: 404)",
    ),
    Case(
        "create ns nested missing parent",
        "POST",
        "{P}/namespaces",
        {"namespace": ["nope2", "child"]},
        404,
        "NoSuchNamespaceException",
        "reference: 200 (JDBC namespaces exist implicitly)",
    ),
    Case(
        "create ns empty",
        "POST",
        "{P}/namespaces",
        {"namespace": []},
        400,
        "BadRequestException",
        "reference: 200, creates the empty namespace",
    ),
    Case(
        "replace view: add-schema 5, version names schema 5",
        "POST",
        "{P}/namespaces/db/views/v",
        {
            "requirements": [],
            "updates": [
                {"action": "add-schema", "schema": S5},
                {"action": "add-view-version", "view-version": version(5, 2)},
                {"action": "set-current-view-version", "view-version-id": -1},
            ],
        },
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "replace view: add-schema, version schema -1",
        "POST",
        "{P}/namespaces/db/views/v",
        {
            "requirements": [],
            "updates": [
                {"action": "add-schema", "schema": S5},
                {"action": "add-view-version", "view-version": version(-1, 3)},
                {"action": "set-current-view-version", "view-version-id": -1},
            ],
        },
        200,
        None,
        None,
    ),
    Case(
        "replace view: version with unknown schema",
        "POST",
        "{P}/namespaces/db/views/v",
        {"requirements": [], "updates": [{"action": "add-view-version", "view-version": version(9, 4)}]},
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "replace view: set-current -1 without a version added",
        "POST",
        "{P}/namespaces/db/views/v",
        {"requirements": [], "updates": [{"action": "set-current-view-version", "view-version-id": -1}]},
        400,
        "ValidationException",
        None,
    ),
    Case(
        "drop a namespace holding a table",
        "DELETE",
        "{P}/namespaces/db",
        None,
        409,
        "NamespaceNotEmptyException",
        None,
    ),
    Case(
        "transaction with an empty body",
        "POST",
        "{P}/transactions/commit",
        "{}",
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "register with an empty body",
        "POST",
        "{P}/namespaces/db/register",
        "{}",
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "create view with an empty body",
        "POST",
        "{P}/namespaces/db/views",
        "{}",
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "replace a missing view with an empty body",
        "POST",
        "{P}/namespaces/db/views/x",
        "{}",
        404,
        "NoSuchViewException",
        None,
    ),
    Case("metrics with an empty body", "POST", "{P}/namespaces/db/tables/t/metrics", "{}", 204, None, None),
    Case(
        "list namespaces pageSize -1",
        "GET",
        "{P}/namespaces?pageSize=-1",
        None,
        400,
        "IllegalArgumentException",
        None,
    ),
    Case(
        "list namespaces pageSize 0",
        "GET",
        "{P}/namespaces?pageSize=0",
        None,
        400,
        "IllegalArgumentException",
        "reference: 200, an empty page (the spec: pageSize minimum 1)",
    ),
    Case(
        "list namespaces pageSize x",
        "GET",
        "{P}/namespaces?pageSize=x",
        None,
        400,
        "BadRequestException",
        "reference: 400 NumberFormatException",
    ),
    Case(
        "drop table with purge",
        "DELETE",
        "{P}/namespaces/db/tables/t?purgeRequested=true",
        None,
        204,
        None,
        None,
    ),
]


def send(client: Client, method: str, path: str, body: Any) -> Any:
    content = None if body is None else body if isinstance(body, str) else json.dumps(body)
    return client.request(
        method, path.replace("{P}", P), content=content, headers={"Content-Type": "application/json"}
    )


def error_type(r: Any) -> str | None:
    if r.status_code < 400 or not r.content:
        return None
    t: str = r.json()["error"]["type"]
    assert r.json()["error"]["code"] == r.status_code
    return t


def test_the_table_covers_every_route_and_mostly_agrees_with_the_reference() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
    assert sum(c.reference is None for c in CASES) >= 85


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_answers_as_the_reference(client: Client, files: MemoryFiles, case: Case) -> None:
    for setup in (
        ("POST", "{P}/namespaces", {"namespace": ["db"]}),
        ("POST", "{P}/namespaces", {"namespace": ["empty"]}),
        ("POST", "{P}/namespaces/db/tables", {"name": "t", "schema": S}),
        ("POST", "{P}/namespaces/db/views", VIEW),
    ):
        assert send(client, *setup).status_code == 200
    before_files = files.keys("lake")
    before_t = client.get(f"{P}/namespaces/db/tables/t").json()
    before_v = client.get(f"{P}/namespaces/db/views/v").json()

    r = send(client, case.method, case.path, case.body)
    assert (r.status_code, error_type(r)) == (case.status, case.error_type), r.text

    if r.status_code >= 400:  # nothing written, nothing moved
        assert files.keys("lake") == before_files
        assert client.get(f"{P}/namespaces/db/tables/t").json() == before_t
        assert client.get(f"{P}/namespaces/db/views/v").json() == before_v
