"""The repository's compare-and-set and transactional invariants, on SQLite and (with
LAKEBOX_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import threading

import pytest

import catalog.store.models  # noqa: F401
from catalog.errors import AlreadyExists, BadRequest, CommitFailed, NamespaceNotEmpty, NoSuchNamespace
from catalog.store.repository import SEP, CatalogRepository, Entity, PointerMove
from infra.db import Database


@pytest.fixture
def repo(db: Database) -> CatalogRepository:
    r = CatalogRepository(db)
    r.set_warehouse("lake", enabled=True, warehouse_id="w1")
    r.create_namespace("lake", "db", {})
    return r


def entity(name: str, loc: str = "s3://lake/t/m0.json", kind: str = "table") -> Entity:
    return Entity(f"id-{name}", "lake", "db", name, kind, f"s3://lake/{name}", loc, "{}")


def move(e: Entity, expected: str, new: str) -> PointerMove:
    return PointerMove(e.id, expected, new, f'{{"v":"{new}"}}', e.location)


def test_compare_and_set(repo: CatalogRepository) -> None:
    t = repo.insert_entity(entity("t"))
    repo.commit([move(t, "s3://lake/t/m0.json", "s3://lake/t/m1.json")])
    got = repo.get_entity("lake", "db", "t")
    assert got is not None
    assert got.metadata_location == "s3://lake/t/m1.json"
    assert got.version == 1
    with pytest.raises(CommitFailed):
        repo.commit([move(t, "s3://lake/t/m0.json", "s3://lake/t/m2.json")])  # stale expectation
    got = repo.get_entity("lake", "db", "t")
    assert got is not None
    assert got.metadata_location == "s3://lake/t/m1.json"


def test_multi_table_commit_is_all_or_nothing(repo: CatalogRepository) -> None:
    a = repo.insert_entity(entity("a"))
    b = repo.insert_entity(entity("b"))
    with pytest.raises(CommitFailed):
        repo.commit(
            [move(a, "s3://lake/t/m0.json", "s3://lake/t/a1.json"), move(b, "stale", "s3://lake/t/b1.json")]
        )
    for name in ("a", "b"):
        got = repo.get_entity("lake", "db", name)
        assert got is not None
        assert got.metadata_location == "s3://lake/t/m0.json"
    # a create clashing with an existing name also rolls back the moves
    with pytest.raises(CommitFailed):
        repo.commit([move(a, "s3://lake/t/m0.json", "s3://lake/t/a1.json")], [entity("b")])
    got = repo.get_entity("lake", "db", "a")
    assert got is not None
    assert got.metadata_location == "s3://lake/t/m0.json"


def test_locations_never_overlap(repo: CatalogRepository) -> None:
    """Checked in the write transaction of an insert and of a commit that moves a location."""
    a = repo.insert_entity(entity("a"))
    for loc in ("s3://lake/a", "s3://lake/a/", "s3://lake/a/x", "s3://lake"):
        with pytest.raises(BadRequest):
            repo.insert_entity(Entity("id-x", "lake", "db", "x", "table", loc, "m", "{}"))
    repo.insert_entity(Entity("id-ab", "lake", "db", "ab", "table", "s3://lake/ab", "m", "{}"))  # a sibling
    b = repo.insert_entity(entity("b"))
    with pytest.raises(BadRequest):
        repo.commit(
            [PointerMove(b.id, b.metadata_location, "s3://lake/a/in/m1.json", "{}", "s3://lake/a/in", True)]
        )
    got = repo.get_entity("lake", "db", "b")
    assert got is not None
    assert got.location == "s3://lake/b"
    # replacing an entity (register with overwrite) may keep the location it had
    repo.insert_entity(Entity("id-a2", "lake", "db", "a", "table", a.location, "m2", "{}"), replace=True)
    assert sorted(repo.live_locations("lake")) == ["s3://lake/a", "s3://lake/ab", "s3://lake/b"]


def test_racing_committers_exactly_one_wins(repo: CatalogRepository) -> None:
    t = repo.insert_entity(entity("t"))
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            repo.commit([move(t, "s3://lake/t/m0.json", f"s3://lake/t/w{i}.json")])
            results.append("ok")
        except CommitFailed:
            results.append("409")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["409"] * 7 + ["ok"]
    got = repo.get_entity("lake", "db", "t")
    assert got is not None
    assert got.version == 1


def test_namespace_rules(repo: CatalogRepository) -> None:
    with pytest.raises(AlreadyExists):
        repo.create_namespace("lake", "db", {})
    with pytest.raises(NoSuchNamespace):
        repo.create_namespace("lake", f"x{SEP}y", {})
    repo.create_namespace("lake", f"db{SEP}child", {"a": "1"})
    assert repo.list_namespaces("lake", "", None, None) == ["db"]
    assert repo.list_namespaces("lake", "db", None, None) == [f"db{SEP}child"]
    with pytest.raises(NamespaceNotEmpty):
        repo.drop_namespace("lake", "db")
    repo.drop_namespace("lake", f"db{SEP}child")
    repo.insert_entity(entity("v", kind="view"))
    with pytest.raises(NamespaceNotEmpty):
        repo.drop_namespace("lake", "db")
    assert repo.delete_entity("lake", "db", "v", "table") is None  # kinds are distinct
    assert repo.delete_entity("lake", "db", "v", "view") is not None
    repo.drop_namespace("lake", "db")
    with pytest.raises(NoSuchNamespace):
        repo.drop_namespace("lake", "db")


def test_namespace_properties(repo: CatalogRepository) -> None:
    repo.create_namespace("lake", "p", {"a": "1", "b": "2"})
    assert repo.update_namespace_properties("lake", "p", ["a", "zz"], {"c": "3"}) == (["a"], ["c"], ["zz"])
    ns = repo.get_namespace("lake", "p")
    assert ns is not None
    assert ns.properties == {"b": "2", "c": "3"}


def test_names_order_bytewise_and_paginate(repo: CatalogRepository) -> None:
    for n in ("b", "B", "a", "é", "ab"):
        repo.create_namespace("lake", n, {})
    assert repo.list_namespaces("lake", "", None, None) == ["B", "a", "ab", "b", "db", "é"]
    assert repo.list_namespaces("lake", "", "ab", 2) == ["b", "db"]


def test_rename_rules(repo: CatalogRepository) -> None:
    repo.insert_entity(entity("t"))
    repo.insert_entity(entity("u"))
    assert repo.rename_entity("lake", "table", ("db", "t"), ("db", "t2")) is True
    assert repo.rename_entity("lake", "table", ("db", "t"), ("db", "t3")) is False
    with pytest.raises(AlreadyExists):
        repo.rename_entity("lake", "table", ("db", "t2"), ("db", "u"))
    with pytest.raises(NoSuchNamespace):
        repo.rename_entity("lake", "table", ("db", "t2"), ("nope", "x"))


def test_idempotency_records_expire(repo: CatalogRepository) -> None:
    from catalog.store.repository import StoredResponse

    resp = StoredResponse(200, '{"a":1}', {"ETag": '"x"'}, "POST /x")
    repo.put_response("k1", "lake", "POST /x", resp, now=100.0, expires_at=200.0)
    assert repo.get_response("k1", now=150.0) == resp
    assert repo.get_response("k1", now=250.0) is None
    repo.put_response(
        "k1", "lake", "POST /x", StoredResponse(409, "{}", {}, "POST /x"), now=150.0, expires_at=300.0
    )
    assert repo.get_response("k1", now=160.0) == resp  # the first finalised result stands
