"""Catalog inputs that cannot be valid (issue 14 item 4): impossible types, bad transforms, unknown format
versions, absurd names and locations, wrong JSON types. Each is a 400 with the spec's ErrorModel, never a 500,
and nothing is created or changed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.catalog.doubles import MemoryFiles
from tests.catalog.helpers import SCHEMA, P, create_namespace, create_table

Client = TestClient  # type: ignore[type-arg]
HUGE = "n" * 100_000
HUGE_IN_URL = "n" * 30_000  # httpx refuses URLs over 64 KiB


def bad_request(r: Any) -> str:
    """Asserts the exact ErrorModel of a 400 and returns its message. The type is one of the three Iceberg's Java
    catalog answers with 400 (which one for which request: tests/catalog/test_reference_errors_api.py)."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["type"] in ("BadRequestException", "IllegalArgumentException", "ValidationException")
    assert body["error"]["code"] == 400
    message: str = body["error"]["message"]
    assert isinstance(message, str)
    assert 0 < len(message) <= 2000
    return message


def schema_with(type_: Any) -> dict[str, Any]:
    return {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "c", "type": type_, "required": False}],
    }


def spec_with(transform: str, source_id: int = 1) -> dict[str, Any]:
    return {
        "spec-id": 0,
        "fields": [{"source-id": source_id, "field-id": 1000, "name": "p", "transform": transform}],
    }


def order_with(transform: str) -> dict[str, Any]:
    field = {"source-id": 1, "transform": transform, "direction": "asc", "null-order": "nulls-first"}
    return {"order-id": 1, "fields": [field]}


@pytest.fixture
def cat(client: Client) -> Client:
    create_namespace(client, "db")
    create_table(client, "db", "t")
    return client


CREATE_BODIES = {
    "decimal(99,999)": {"schema": schema_with("decimal(99,999)")},
    "decimal(0,0)": {"schema": schema_with("decimal(0,0)")},
    "fixed[-1]": {"schema": schema_with("fixed[-1]")},
    "unknown type": {"schema": schema_with("varchar")},
    "list without element": {"schema": schema_with({"type": "list"})},
    "bucket[-5]": {"schema": SCHEMA, "partition-spec": spec_with("bucket[-5]")},
    "bucket[0]": {"schema": SCHEMA, "partition-spec": spec_with("bucket[0]")},
    "truncate[0]": {"schema": SCHEMA, "partition-spec": spec_with("truncate[0]")},
    "truncate[-1]": {"schema": SCHEMA, "partition-spec": spec_with("truncate[-1]")},
    "unknown transform": {"schema": SCHEMA, "partition-spec": spec_with("zorder")},
    "day of a long": {"schema": SCHEMA, "partition-spec": spec_with("day", source_id=1)},
    "missing source column": {"schema": SCHEMA, "partition-spec": spec_with("identity", source_id=99)},
    "sort by bucket[-3]": {"schema": SCHEMA, "write-order": order_with("bucket[-3]")},
    "sort by unknown": {"schema": SCHEMA, "write-order": order_with("nope")},
    "format-version 0": {"schema": SCHEMA, "properties": {"format-version": "0"}},
    "format-version 4": {"schema": SCHEMA, "properties": {"format-version": "4"}},
    "format-version 99": {"schema": SCHEMA, "properties": {"format-version": "99"}},
    "format-version x": {"schema": SCHEMA, "properties": {"format-version": "x"}},
    "schema is a list": {"schema": []},
    "fields is a string": {"schema": {"type": "struct", "fields": "x"}},
    "properties values are objects": {"schema": SCHEMA, "properties": {"a": {"b": 1}}},
    "stage-create is a list": {"schema": SCHEMA, "stage-create": [1]},
    "location is a number": {"schema": SCHEMA, "location": 5},
    "absurd location": {"schema": SCHEMA, "location": "s3://lake/" + HUGE},
}


@pytest.mark.parametrize("case", CREATE_BODIES)
def test_create_table_with_impossible_definitions(cat: Client, files: MemoryFiles, case: str) -> None:
    before = files.keys("lake")
    bad_request(cat.post(f"{P}/namespaces/db/tables", json={"name": "x", **CREATE_BODIES[case]}))
    assert files.keys("lake") == before
    assert cat.head(f"{P}/namespaces/db/tables/x").status_code == 404


UPDATES = {
    "add-schema decimal(99,999)": {"action": "add-schema", "schema": schema_with("decimal(99,999)")},
    "add-spec bucket[-5]": {"action": "add-spec", "spec": spec_with("bucket[-5]")},
    "add-spec truncate[0]": {"action": "add-spec", "spec": spec_with("truncate[0]")},
    "add-spec unknown": {"action": "add-spec", "spec": spec_with("whatever[3]")},
    "add-sort-order bucket[-3]": {"action": "add-sort-order", "sort-order": order_with("bucket[-3]")},
    "upgrade to 0": {"action": "upgrade-format-version", "format-version": 0},
    "upgrade to 4": {"action": "upgrade-format-version", "format-version": 4},
    "upgrade to 99": {"action": "upgrade-format-version", "format-version": 99},
    "upgrade to x": {"action": "upgrade-format-version", "format-version": "x"},
    "set-properties list": {"action": "set-properties", "updates": ["a"]},
    "remove-properties string": {"action": "remove-properties", "removals": "a"},
    "set-location huge": {"action": "set-location", "location": "s3://lake/" + HUGE},
    "set-snapshot-ref bad type": {
        "action": "set-snapshot-ref",
        "ref-name": "main",
        "type": "x",
        "snapshot-id": 1,
    },
}


@pytest.mark.parametrize("case", UPDATES)
def test_commit_with_impossible_updates(cat: Client, files: MemoryFiles, case: str) -> None:
    before = cat.get(f"{P}/namespaces/db/tables/t").json()["metadata-location"]
    keys = files.keys("lake")
    bad_request(cat.post(f"{P}/namespaces/db/tables/t", json={"updates": [UPDATES[case]]}))
    assert cat.get(f"{P}/namespaces/db/tables/t").json()["metadata-location"] == before
    assert files.keys("lake") == keys


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/namespaces", {"namespace": [HUGE]}),
        ("POST", "/namespaces", {"namespace": ["a"] * 200}),
        ("POST", "/namespaces", {"namespace": "db"}),
        ("POST", "/namespaces", {"namespace": [1]}),
        ("POST", "/namespaces", {"namespace": ["a"], "properties": ["x"]}),
        ("GET", f"/namespaces/{HUGE_IN_URL}", None),
        ("GET", f"/namespaces/db/tables/{HUGE_IN_URL}", None),
        ("POST", "/namespaces/db/tables", {"name": HUGE, "schema": SCHEMA}),
        ("POST", "/namespaces/db/tables", {"name": 5, "schema": SCHEMA}),
        ("POST", "/namespaces/db/views", {"name": HUGE, "schema": SCHEMA}),
        ("POST", "/namespaces/db/register", {"name": HUGE, "metadata-location": "s3://lake/x.json"}),
        ("POST", "/namespaces/db/register", {"name": "r", "metadata-location": "s3://lake/" + HUGE}),
        ("POST", "/namespaces/db/register-view", {"name": "r", "metadata-location": "s3://lake/" + HUGE}),
        ("POST", "/namespaces/db/properties", {"updates": {"a": 1}, "removals": "b"}),
        (
            "POST",
            "/tables/rename",
            {"source": {"namespace": ["db"], "name": "t"}, "destination": {"name": HUGE}},
        ),
        (
            "POST",
            "/tables/rename",
            {
                "source": {"namespace": ["db"], "name": "t"},
                "destination": {"namespace": ["db"], "name": HUGE},
            },
        ),
        ("POST", "/namespaces/db/tables/t", {"requirements": {"type": "assert-create"}}),
        ("POST", "/namespaces/db/tables/t", {"requirements": [{"type": "assert-ref-snapshot-id"}]}),
        ("POST", "/transactions/commit", {"table-changes": [{"identifier": "db.t"}]}),
        ("POST", "/transactions/commit", {"table-changes": {}}),
        ("GET", "/namespaces", {"pageToken": HUGE_IN_URL}),
        ("GET", "/namespaces", {"parent": HUGE_IN_URL}),
    ],
)
def test_wrong_types_and_absurd_names(cat: Client, method: str, path: str, body: Any) -> None:
    r = (
        cat.get(f"{P}{path}", params=body)
        if method == "GET"
        else cat.request(method, f"{P}{path}", json=body)
    )
    message = bad_request(r)
    assert HUGE_IN_URL not in message  # an absurd input is not echoed back
    assert cat.head(f"{P}/namespaces/db/tables/t").status_code == 204


def test_names_at_the_cap_work(client: Client) -> None:
    level, name = "l" * 255, "t" * 255
    create_namespace(client, level)
    t = create_table(client, level, name)
    assert (
        client.get(f"{P}/namespaces/{level}/tables/{name}").json()["metadata"]["location"]
        == t["metadata"]["location"]
    )
    bad_request(client.post(f"{P}/namespaces/{level}/tables", json={"name": name + "t", "schema": SCHEMA}))
