"""Issue 14 item 1, end to end against ``lakebox serve`` with PyIceberg: registering a table over the catalog's own
area or over another table (which, purged, used to delete the other tables' files) is refused; purging a
legitimately registered table deletes its own files only, and every other table still scans the same rows."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from tests.catalog.live import LiveLake

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False), NestedField(2, "name", StringType(), required=False)
)


@pytest.fixture(scope="module")
def stack(lake: LiveLake) -> LiveLake:
    lake.warehouse("lake")
    return lake


def rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array([f"n{i}" for i in ids], pa.string())})


def keys(stack: LiveLake, prefix: str) -> list[str]:
    out: list[str] = []
    for page in stack.s3().get_paginator("list_objects_v2").paginate(Bucket="lake", Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def scanned(cat: RestCatalog, name: str) -> list[tuple[int, str]]:
    table = cat.load_table(name).scan().to_arrow()
    return sorted(zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True))


def register(stack: LiveLake, name: str, metadata_location: str) -> httpx.Response:
    return httpx.post(
        f"{stack.catalog_uri}/v1/lake/namespaces/loc/register",
        json={"name": name, "metadata-location": metadata_location},
        headers={"Authorization": f"Bearer {stack.root.token}"},
        timeout=60,
    )


def test_register_over_other_tables_is_refused_and_purge_spares_them(stack: LiveLake) -> None:
    cat = RestCatalog("lake", uri=stack.catalog_uri, warehouse="lake", token=stack.root.token)
    cat.create_namespace("loc")
    a = cat.create_table("loc.a", SCHEMA)
    a.append(rows(0, 500))
    b = cat.create_table("loc.b", SCHEMA, location="s3://lake/shared/b")
    b.append(rows(1000, 300))
    before = {"loc.a": scanned(cat, "loc.a"), "loc.b": scanned(cat, "loc.b")}
    a_prefix = a.metadata.location.removeprefix("s3://lake/") + "/"
    metadata: dict[str, Any] = json.loads(
        stack.s3()
        .get_object(Bucket="lake", Key=a.metadata_location.removeprefix("s3://lake/"))["Body"]
        .read()
    )

    # the original failure: a table registered at the catalog's own prefix (or over another table), then purged
    hostile = {
        "__lakebox": "the catalog's own area",
        "__lakebox/loc": "the namespace folder holding loc.a",
        "shared": "a prefix of loc.b",
        a_prefix.rstrip("/"): "loc.a's own location",
    }
    for i, (where, why) in enumerate(hostile.items()):
        key = f"{where}/metadata/hostile-{i}.metadata.json"
        doc = {**metadata, "location": f"s3://lake/{where}"}
        stack.s3().put_object(Bucket="lake", Key=key, Body=json.dumps(doc).encode())
        r = register(stack, f"hostile{i}", f"s3://lake/{key}")
        assert r.status_code == 400, (why, r.text)
        assert r.json()["error"]["type"] == "BadRequestException"
        assert r.json()["error"]["code"] == 400
    assert sorted(t[1] for t in cat.list_tables("loc")) == ["a", "b"]
    kept = {p: keys(stack, p) for p in (a_prefix, "shared/b/", "__lakebox/")}

    # a legitimate register: a dropped table's files registered again, then purged
    c = cat.create_table("loc.c", SCHEMA)
    c.append(rows(5000, 200))
    c_prefix = c.metadata.location.removeprefix("s3://lake/") + "/"
    cat.drop_table("loc.c")
    assert keys(stack, c_prefix)
    r = register(stack, "c2", c.metadata_location)
    assert r.status_code == 200, r.text
    assert len(scanned(cat, "loc.c2")) == 200
    cat.purge_table("loc.c2")
    assert keys(stack, c_prefix) == []  # every file of c was referenced by its metadata
    kept["__lakebox/"] = [k for k in kept["__lakebox/"] if not k.startswith(c_prefix)]
    for prefix, listed in kept.items():
        assert keys(stack, prefix) == listed
    for name, expected in before.items():
        assert scanned(cat, name) == expected


def test_purge_leaves_files_its_metadata_does_not_name(stack: LiveLake) -> None:
    cat = RestCatalog("lake", uri=stack.catalog_uri, warehouse="lake", token=stack.root.token)
    cat.create_namespace("keep")
    t = cat.create_table("keep.t", SCHEMA)
    t.append(rows(0, 10))
    prefix = t.metadata.location.removeprefix("s3://lake/") + "/"
    stack.s3().put_object(Bucket="lake", Key=prefix + "data/not-in-any-manifest.parquet", Body=b"x")
    cat.purge_table("keep.t")
    assert keys(stack, prefix) == [prefix + "data/not-in-any-manifest.parquet"]
