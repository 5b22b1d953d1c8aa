"""Tables over HTTP: create (assigned/explicit location, stage-create), load (snapshots, ETag/304), HEAD, drop
with purge, rename, register, metrics, credentials and vended credentials."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.catalog.conftest import S3_ENDPOINT
from tests.catalog.doubles import MemoryFiles, RecordingVendor
from tests.catalog.helpers import (
    SCHEMA,
    T_LOCATION,
    P,
    add_snapshot_updates,
    commit,
    create_namespace,
    create_table,
)
from tests.catalog.test_namespaces_api import error

Client = TestClient  # type: ignore[type-arg]
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


def test_create_assigns_a_fresh_location_inside_the_warehouse(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    t = create_table(client, "db", "events")
    location = t["metadata"]["location"]
    assert location.startswith("s3://lake/__lakebox/db/events-")
    assert t["metadata-location"].startswith(location + "/metadata/00000-")
    assert t["metadata-location"].endswith(".metadata.json")
    key = t["metadata-location"].removeprefix("s3://lake/")
    assert files.keys("lake", key) == [key]  # the metadata file is written before the pointer exists
    assert t["config"] == {
        "s3.endpoint": S3_ENDPOINT,
        "s3.path-style-access": "true",
        "client.region": "auto",
    }
    assert t["storage-credentials"] == []
    # dropped and re-created: never the same location
    assert client.delete(f"{P}/namespaces/db/tables/events").status_code == 204
    assert create_table(client, "db", "events")["metadata"]["location"] != location


def test_create_with_explicit_location(client: Client) -> None:
    create_namespace(client, "db")
    t = create_table(client, "db", "t", location="s3://lake/custom/place/")
    assert t["metadata"]["location"] == "s3://lake/custom/place"
    for bad in ("s3://other/x", "s3://lake", "s3://lake/", "gs://lake/x", "s3://lake/a/../../b"):
        r = client.post(f"{P}/namespaces/db/tables", json={"name": "u", "schema": SCHEMA, "location": bad})
        assert error(r) == (400, "BadRequestException"), bad


def test_create_errors(client: Client) -> None:
    r = client.post(f"{P}/namespaces/nope/tables", json={"name": "t", "schema": SCHEMA})
    assert error(r) == (404, "NoSuchNamespaceException")
    create_namespace(client, "db")
    create_table(client, "db", "t")
    r = client.post(f"{P}/namespaces/db/tables", json={"name": "t", "schema": SCHEMA})
    assert error(r) == (409, "AlreadyExistsException")
    r = client.post(f"{P}/namespaces/db/tables", json={"name": "t2"})
    assert error(r) == (400, "IllegalArgumentException")
    r = client.post(
        f"{P}/namespaces/db/tables", json={"name": "t2", "schema": {"type": "struct", "fields": [{}]}}
    )
    assert error(r) == (400, "BadRequestException")


def test_partitioned_create_assigns_fresh_ids(client: Client) -> None:
    create_namespace(client, "db")
    spec = {"fields": [{"source-id": 3, "name": "ts_day", "transform": "day"}]}
    order = {
        "order-id": 1,
        "fields": [
            {"source-id": 1, "transform": "identity", "direction": "asc", "null-order": "nulls-first"}
        ],
    }
    t = create_table(
        client,
        "db",
        "p",
        **{"partition-spec": spec, "write-order": order, "properties": {"format-version": "2", "a": "b"}},
    )
    meta = t["metadata"]
    assert meta["format-version"] == 2
    assert meta["partition-specs"][0]["fields"][0]["field-id"] == 1000
    assert meta["default-sort-order-id"] == 1
    assert meta["properties"] == {"a": "b", "write.parquet.compression-codec": "zstd"}


def test_stage_create_writes_nothing_and_commit_creates(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    r = client.post(f"{P}/namespaces/db/tables", json={"name": "s", "schema": SCHEMA, "stage-create": True})
    assert r.status_code == 200
    staged = r.json()
    assert "metadata-location" not in staged
    assert files.keys("lake") == []
    assert client.head(f"{P}/namespaces/db/tables/s").status_code == 404
    meta = staged["metadata"]
    updates = [
        {"action": "assign-uuid", "uuid": meta["table-uuid"]},
        {"action": "upgrade-format-version", "format-version": 2},
        {"action": "add-schema", "schema": meta["schemas"][0]},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": meta["partition-specs"][0]},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": meta["sort-orders"][0]},
        {"action": "set-default-sort-order", "sort-order-id": -1},
        {"action": "set-location", "location": meta["location"]},
        {"action": "set-properties", "updates": {"created": "staged"}},
    ]
    r = commit(client, "db", "s", [{"type": "assert-create"}], updates)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["table-uuid"] == meta["table-uuid"]
    assert client.head(f"{P}/namespaces/db/tables/s").status_code == 204
    # a second create-commit finds the table: CommitFailed
    r = commit(client, "db", "s", [{"type": "assert-create"}], updates)
    assert error(r) == (409, "CommitFailedException")


def test_load_snapshots_refs_and_etag(client: Client) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t", location=T_LOCATION)
    assert commit(client, "db", "t", [], add_snapshot_updates(1, 1)).status_code == 200
    assert commit(client, "db", "t", [], add_snapshot_updates(2, 2, parent=1)).status_code == 200
    full = client.get(f"{P}/namespaces/db/tables/t")
    refs = client.get(f"{P}/namespaces/db/tables/t", params={"snapshots": "refs"})
    assert [s["snapshot-id"] for s in full.json()["metadata"]["snapshots"]] == [1, 2]
    assert [s["snapshot-id"] for s in refs.json()["metadata"]["snapshots"]] == [2]
    etag = full.headers["etag"]
    assert etag.startswith('"')
    assert etag != refs.headers["etag"]
    r = client.get(f"{P}/namespaces/db/tables/t", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    commit(client, "db", "t", [], [{"action": "set-properties", "updates": {"x": "y"}}])
    r = client.get(f"{P}/namespaces/db/tables/t", headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] != etag
    r = client.get(f"{P}/namespaces/db/tables/t", params={"snapshots": "some"})  # all, as Java's catalog
    assert r.json()["metadata"] == client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]


def test_head_and_missing(client: Client) -> None:
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 404
    create_namespace(client, "db")
    assert error(client.get(f"{P}/namespaces/db/tables/t")) == (404, "NoSuchTableException")
    assert error(client.get(f"{P}/namespaces/nope/tables/t")) == (404, "NoSuchTableException")
    create_table(client, "db", "t")
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 204


def test_list_tables_paginated(client: Client) -> None:
    create_namespace(client, "db")
    for i in range(5):
        create_table(client, "db", f"t{i}")
    body = client.get(f"{P}/namespaces/db/tables", params={"pageSize": "2"}).json()
    assert body["identifiers"] == [{"namespace": ["db"], "name": "t0"}, {"namespace": ["db"], "name": "t1"}]
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"pageSize": 2} | ({"pageToken": token} if token else {})
        body = client.get(f"{P}/namespaces/db/tables", params=params).json()
        names += [i["name"] for i in body["identifiers"]]
        token = body.get("next-page-token")
        if not token:
            break
    assert names == [f"t{i}" for i in range(5)]
    assert error(client.get(f"{P}/namespaces/nope/tables")) == (404, "NoSuchNamespaceException")


def test_drop_with_and_without_purge(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    keep = create_table(client, "db", "keep")["metadata"]["location"].removeprefix("s3://lake/")
    t = create_table(client, "db", "gone")
    gone = t["metadata"]["location"].removeprefix("s3://lake/")
    files.write("lake", gone + "/data/unreferenced.parquet", b"x", "application/octet-stream")
    files.write("lake", gone + "x/other-table-file", b"x", "application/octet-stream")
    assert client.delete(f"{P}/namespaces/db/tables/keep").status_code == 204
    assert files.keys("lake", keep + "/")  # files kept
    assert (
        client.delete(f"{P}/namespaces/db/tables/gone", params={"purgeRequested": "true"}).status_code == 204
    )
    # the files its metadata references are deleted; a file it does not reference is not (never a prefix)
    assert files.keys("lake", gone + "/") == [gone + "/data/unreferenced.parquet"]
    assert files.keys("lake", gone + "x/") == [gone + "x/other-table-file"]
    assert error(client.delete(f"{P}/namespaces/db/tables/gone")) == (404, "NoSuchTableException")


def test_rename(client: Client) -> None:
    create_namespace(client, "a")
    create_namespace(client, "b")
    uuid_ = create_table(client, "a", "t")["metadata"]["table-uuid"]
    create_table(client, "b", "taken")
    body = {"source": {"namespace": ["a"], "name": "t"}, "destination": {"namespace": ["b"], "name": "u"}}
    assert client.post(f"{P}/tables/rename", json=body).status_code == 204
    assert client.get(f"{P}/namespaces/b/tables/u").json()["metadata"]["table-uuid"] == uuid_
    assert client.head(f"{P}/namespaces/a/tables/t").status_code == 404
    assert error(client.post(f"{P}/tables/rename", json=body)) == (404, "NoSuchTableException")
    body = {"source": {"namespace": ["b"], "name": "u"}, "destination": {"namespace": ["b"], "name": "taken"}}
    assert error(client.post(f"{P}/tables/rename", json=body)) == (409, "AlreadyExistsException")
    body = {"source": {"namespace": ["b"], "name": "u"}, "destination": {"namespace": ["zz"], "name": "x"}}
    assert error(client.post(f"{P}/tables/rename", json=body)) == (404, "NoSuchNamespaceException")


def test_register(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    t = create_table(client, "db", "orig")
    body = {"name": "copy", "metadata-location": t["metadata-location"]}
    # a live table owns its location: a second table over the same files is refused
    assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (400, "BadRequestException")
    assert client.delete(f"{P}/namespaces/db/tables/orig").status_code == 204  # dropped, files kept
    r = client.post(f"{P}/namespaces/db/register", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["table-uuid"] == t["metadata"]["table-uuid"]
    assert r.json()["metadata-location"] == t["metadata-location"]
    assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (409, "AlreadyExistsException")
    assert client.post(f"{P}/namespaces/db/register", json=body | {"overwrite": True}).status_code == 200
    missing = {"name": "x", "metadata-location": "s3://lake/nothing/here.metadata.json"}
    assert error(client.post(f"{P}/namespaces/db/register", json=missing)) == (400, "BadRequestException")
    outside = {"name": "x", "metadata-location": "s3://other/m.metadata.json"}
    assert error(client.post(f"{P}/namespaces/db/register", json=outside)) == (400, "BadRequestException")


def test_metrics_accepted(client: Client) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t")
    report = {
        "report-type": "scan-report",
        "table-name": "db.t",
        "snapshot-id": 1,
        "filter": True,
        "schema-id": 0,
        "projected-field-ids": [1],
        "projected-field-names": ["id"],
        "metrics": {},
    }
    r = client.post(f"{P}/namespaces/db/tables/t/metrics", json=report)
    assert r.status_code == 204
    assert r.content == b""
    # as Iceberg's reference catalog: a report is accepted whether or not the table exists
    assert client.post(f"{P}/namespaces/db/tables/u/metrics", json=report).status_code == 204


def test_vended_credentials_on_create_load_and_refresh(client: Client, vendor: RecordingVendor) -> None:
    create_namespace(client, "db")
    r = client.post(f"{P}/namespaces/db/tables", json={"name": "t", "schema": SCHEMA}, headers=VENDED)
    created = r.json()
    location = created["metadata"]["location"]
    key_prefix = location.removeprefix("s3://lake/") + "/"
    assert vendor.calls == [("tok-rw", "lake", key_prefix, False)]
    cfg = created["config"]
    assert cfg["s3.access-key-id"] == "TMPKEY1"
    assert cfg["s3.secret-access-key"] == "tmpsecret1"
    assert cfg["s3.session-token"] == "session1"
    assert cfg["s3.endpoint"] == S3_ENDPOINT
    assert cfg["s3.path-style-access"] == "true"
    assert cfg["client.region"] == "auto"
    assert cfg["s3.session-token-expires-at-ms"] == str(1893456001 * 1000)
    assert cfg["client.refresh-credentials-endpoint"] == "v1/lake/namespaces/db/tables/t/credentials"
    assert created["storage-credentials"] == [{"prefix": location, "config": cfg}]

    loaded = client.get(f"{P}/namespaces/db/tables/t", headers=VENDED).json()
    assert loaded["storage-credentials"][0]["prefix"] == location
    assert loaded["config"]["s3.access-key-id"] == "TMPKEY1"  # reused: most of its lifetime remains

    creds = client.get(f"{P}/namespaces/db/tables/t/credentials").json()
    assert creds["storage-credentials"][0]["prefix"] == location
    assert creds["storage-credentials"][0]["config"]["s3.session-token"] == "session1"
    assert len(vendor.calls) == 1

    # read-only for Admin Read only tokens
    r = client.get(f"{P}/namespaces/db/tables/t", headers=VENDED | {"Authorization": "Bearer ro-token"})
    assert r.status_code == 200
    assert vendor.calls[-1] == ("tok-ro", "lake", key_prefix, True)


def test_nested_namespace_refresh_endpoint_is_encoded(client: Client) -> None:
    create_namespace(client, "a")
    create_namespace(client, "a", "b")
    r = client.post(f"{P}/namespaces/a%1Fb/tables", json={"name": "t", "schema": SCHEMA}, headers=VENDED)
    assert (
        r.json()["config"]["client.refresh-credentials-endpoint"]
        == "v1/lake/namespaces/a%1Fb/tables/t/credentials"
    )


def test_not_modified_vends_nothing(client: Client, vendor: RecordingVendor) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t")
    etag = client.get(f"{P}/namespaces/db/tables/t").headers["etag"]
    r = client.get(f"{P}/namespaces/db/tables/t", headers=VENDED | {"If-None-Match": etag})
    assert r.status_code == 304
    assert vendor.calls == []


def test_register_keeps_fields_pyiceberg_does_not_model(client: Client, files: MemoryFiles) -> None:
    import json

    create_namespace(client, "db")
    t = create_table(client, "db", "orig")
    doc = t["metadata"] | {
        "location": "s3://lake/reg",
        "encryption-keys": [{"key-id": "k", "encrypted-key-metadata": "eA=="}],
    }
    files.write("lake", "reg/metadata/00000-x.metadata.json", json.dumps(doc).encode(), "application/json")
    body = {"name": "reg", "metadata-location": "s3://lake/reg/metadata/00000-x.metadata.json"}
    r = client.post(f"{P}/namespaces/db/register", json=body)
    assert r.status_code == 200, r.text
    assert (
        client.get(f"{P}/namespaces/db/tables/reg").json()["metadata"]["encryption-keys"][0]["key-id"] == "k"
    )


def test_explicit_locations_may_not_overlap(client: Client) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t", location="s3://lake/custom/place")
    for loc in ("s3://lake/custom/place", "s3://lake/custom/place/sub", "s3://lake/custom"):
        r = client.post(f"{P}/namespaces/db/tables", json={"name": "u", "schema": SCHEMA, "location": loc})
        assert error(r) == (400, "BadRequestException"), loc
    create_table(client, "db", "u", location="s3://lake/custom/place2")  # a sibling, not inside
