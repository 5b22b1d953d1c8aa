"""Commits over HTTP: each requirement type failing (409, nothing changed), multi-table transactions (atomic),
Idempotency-Key replay, concurrent committers (compare-and-set), and a failed metadata write."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from litestar.testing import TestClient

from catalog.service.catalog import CatalogService
from tests.catalog.doubles import MemoryFiles
from tests.catalog.helpers import T_LOCATION, P, add_snapshot_updates, commit, create_namespace, create_table
from tests.catalog.test_namespaces_api import error

ZSTD = {
    "write.parquet.compression-codec": "zstd"
}  # what Iceberg's Java TableMetadata persists in every new table

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def table(client: Client) -> dict[str, Any]:
    create_namespace(client, "db")
    create_table(client, "db", "t", location=T_LOCATION)
    r = commit(client, "db", "t", [], add_snapshot_updates(1, 1))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def failing_requirements(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "assert-create": {"type": "assert-create"},
        "assert-table-uuid": {"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000001"},
        "assert-ref-snapshot-id": {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 999},
        "assert-last-assigned-field-id": {
            "type": "assert-last-assigned-field-id",
            "last-assigned-field-id": meta["last-column-id"] + 1,
        },
        "assert-current-schema-id": {"type": "assert-current-schema-id", "current-schema-id": 7},
        "assert-last-assigned-partition-id": {
            "type": "assert-last-assigned-partition-id",
            "last-assigned-partition-id": 7,
        },
        "assert-default-spec-id": {"type": "assert-default-spec-id", "default-spec-id": 7},
        "assert-default-sort-order-id": {"type": "assert-default-sort-order-id", "default-sort-order-id": 7},
    }


REQUIREMENT_TYPES = list(failing_requirements({"last-column-id": 0}))


@pytest.mark.parametrize("req_type", REQUIREMENT_TYPES)
def test_failing_requirement_is_409_and_changes_nothing(
    client: Client, files: MemoryFiles, table: dict[str, Any], req_type: str
) -> None:
    before = client.get(f"{P}/namespaces/db/tables/t").json()
    n_files = len(files.keys("lake"))
    req = failing_requirements(before["metadata"])[req_type]
    r = commit(client, "db", "t", [req], [{"action": "set-properties", "updates": {"k": "v"}}])
    assert error(r) == (409, "CommitFailedException")
    after = client.get(f"{P}/namespaces/db/tables/t").json()
    assert after == before
    assert len(files.keys("lake")) == n_files  # no new metadata file left behind


def test_commit_moves_pointer_and_logs_previous(client: Client, table: dict[str, Any]) -> None:
    first = table["metadata-location"]
    r = commit(
        client,
        "db",
        "t",
        [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}],
        add_snapshot_updates(2, 2, parent=1),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["metadata-location"] != first
    assert "/metadata/00002-" in body["metadata-location"]
    assert body["metadata"]["metadata-log"][-1]["metadata-file"] == first
    assert body["metadata"]["current-snapshot-id"] == 2
    assert set(body) == {"metadata-location", "metadata"}


def test_commit_errors(client: Client, table: dict[str, Any]) -> None:
    assert error(commit(client, "db", "nope", [], [])) == (404, "NoSuchTableException")
    assert error(commit(client, "zz", "t", [], [])) == (404, "NoSuchTableException")  # as Java's catalog
    r = client.post(f"{P}/namespaces/db/tables/t", json={"updates": [{"action": "no-such-action"}]})
    assert error(r) == (406, "UnsupportedOperationException")
    r = commit(client, "db", "t", [], [{"action": "set-current-schema", "schema-id": 42}])
    assert error(r) == (400, "IllegalArgumentException")


def test_empty_commit_is_a_no_op(client: Client, table: dict[str, Any]) -> None:
    r = commit(client, "db", "t", [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}], [])
    assert r.status_code == 200
    assert r.json()["metadata-location"] == table["metadata-location"]


def _change(ns: str, name: str, reqs: list[Any], updates: list[Any]) -> dict[str, Any]:
    return {"identifier": {"namespace": [ns], "name": name}, "requirements": reqs, "updates": updates}


def test_transaction_commits_all_tables(client: Client, table: dict[str, Any]) -> None:
    create_table(client, "db", "u")
    body = {
        "table-changes": [
            _change(
                "db",
                "t",
                [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}],
                add_snapshot_updates(2, 2, parent=1),
            ),
            _change("db", "u", [], [{"action": "set-properties", "updates": {"x": "1"}}]),
        ]
    }
    r = client.post(f"{P}/transactions/commit", json=body)
    assert r.status_code == 204, r.text
    assert client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]["current-snapshot-id"] == 2
    assert client.get(f"{P}/namespaces/db/tables/u").json()["metadata"]["properties"] == ZSTD | {"x": "1"}


def test_transaction_with_one_failing_requirement_changes_no_table(
    client: Client, files: MemoryFiles, table: dict[str, Any]
) -> None:
    create_table(client, "db", "u")
    before_t = client.get(f"{P}/namespaces/db/tables/t").json()
    before_u = client.get(f"{P}/namespaces/db/tables/u").json()
    n_files = len(files.keys("lake"))
    body = {
        "table-changes": [
            _change("db", "u", [], [{"action": "set-properties", "updates": {"x": "1"}}]),
            _change(
                "db",
                "t",
                [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 42}],
                add_snapshot_updates(2, 2, parent=1),
            ),
        ]
    }
    assert error(client.post(f"{P}/transactions/commit", json=body)) == (409, "CommitFailedException")
    assert client.get(f"{P}/namespaces/db/tables/t").json() == before_t
    assert client.get(f"{P}/namespaces/db/tables/u").json() == before_u
    assert len(files.keys("lake")) == n_files


def test_transaction_lost_race_moves_nothing(
    client: Client, service: CatalogService, table: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second table's pointer moves under us between planning and the compare-and-set: nothing moves."""
    create_table(client, "db", "u")
    before_t = client.get(f"{P}/namespaces/db/tables/t").json()
    repo = service.ctx.repo
    real_commit = repo.commit
    raced = {"done": False}

    def racing_commit(moves: Any, creates: Any = (), conn: Any = None) -> None:
        if not raced["done"]:
            raced["done"] = True
            # another writer commits to table u first
            r = commit(client, "db", "u", [], [{"action": "set-properties", "updates": {"other": "writer"}}])
            assert r.status_code == 200
        real_commit(moves, creates, conn)

    monkeypatch.setattr(repo, "commit", racing_commit)
    monkeypatch.setattr(service.ctx, "settings", type(service.ctx.settings)(commit_retries=0))
    body = {
        "table-changes": [
            _change("db", "t", [], add_snapshot_updates(2, 2, parent=1)),
            _change("db", "u", [], [{"action": "set-properties", "updates": {"x": "1"}}]),
        ]
    }
    assert error(client.post(f"{P}/transactions/commit", json=body)) == (409, "CommitFailedException")
    assert client.get(f"{P}/namespaces/db/tables/t").json() == before_t
    assert client.get(f"{P}/namespaces/db/tables/u").json()["metadata"]["properties"] == ZSTD | {
        "other": "writer"
    }


def test_transaction_errors(client: Client, table: dict[str, Any]) -> None:
    assert error(client.post(f"{P}/transactions/commit", json={"table-changes": []})) == (
        400,
        "IllegalArgumentException",
    )
    body = {"table-changes": [_change("db", "missing", [], [])]}
    assert error(client.post(f"{P}/transactions/commit", json=body)) == (404, "NoSuchTableException")
    body = {"table-changes": [{"requirements": [], "updates": []}]}
    assert error(client.post(f"{P}/transactions/commit", json=body)) == (400, "IllegalArgumentException")


def test_idempotent_replay(client: Client, table: dict[str, Any]) -> None:
    key = "01890a5d-ac96-774b-bcce-b302099a8057"
    headers = {"Idempotency-Key": key}
    updates = add_snapshot_updates(2, 2, parent=1)
    reqs = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}]
    url = f"{P}/namespaces/db/tables/t"
    first = client.post(url, json={"requirements": reqs, "updates": updates}, headers=headers)
    assert first.status_code == 200
    # retried (e.g. the response was lost): replayed, not re-run (re-running would fail the requirement)
    again = client.post(url, json={"requirements": reqs, "updates": updates}, headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    # without the key the same request is a stale commit
    assert error(client.post(url, json={"requirements": reqs, "updates": updates})) == (
        409,
        "CommitFailedException",
    )
    # a finalised 4xx is replayed too
    k2 = {"Idempotency-Key": "01890a5d-ac96-774b-bcce-b302099a8058"}
    r1 = client.post(f"{P}/namespaces", json={"namespace": ["db"]}, headers=k2)
    assert error(r1) == (409, "AlreadyExistsException")
    client.delete(f"{P}/namespaces/db/tables/t")
    client.delete(f"{P}/namespaces/db")
    r2 = client.post(f"{P}/namespaces", json={"namespace": ["db"]}, headers=k2)
    assert r2.status_code == 409
    assert r2.content == r1.content
    # the same key on another operation is refused
    r3 = client.post(f"{P}/namespaces", json={"namespace": ["x"]}, headers=headers)
    assert error(r3) == (400, "BadRequestException")


def test_idempotent_delete_replays_204(client: Client, table: dict[str, Any]) -> None:
    headers = {"Idempotency-Key": "01890a5d-ac96-774b-bcce-b302099a8059"}
    assert client.delete(f"{P}/namespaces/db/tables/t", headers=headers).status_code == 204
    assert client.delete(f"{P}/namespaces/db/tables/t", headers=headers).status_code == 204
    assert client.delete(f"{P}/namespaces/db/tables/t").status_code == 404


def test_concurrent_appends_all_land_exactly_once(client: Client, service: CatalogService) -> None:
    """Writers race on one table; each retries on 409 like PyIceberg does. Every append lands exactly once."""
    create_namespace(client, "db")
    create_table(client, "db", "t", location=T_LOCATION)
    n_writers, per_writer = 4, 5
    errors: list[str] = []

    def writer(w: int) -> None:
        for i in range(per_writer):
            sid = 1000 * (w + 1) + i
            for _ in range(50):
                meta = client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]
                parent = meta.get("current-snapshot-id")
                seq = meta["last-sequence-number"] + 1
                reqs = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}]
                r = commit(client, "db", "t", reqs, add_snapshot_updates(sid, seq, parent))
                if r.status_code == 200:
                    break
                if r.status_code != 409:
                    errors.append(r.text)
                    return
            else:
                errors.append(f"writer {w} gave up")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    meta = client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]
    ids = [s["snapshot-id"] for s in meta["snapshots"]]
    assert len(ids) == len(set(ids)) == n_writers * per_writer
    # the chain from the current snapshot reaches every snapshot: none was lost
    by_id = {s["snapshot-id"]: s for s in meta["snapshots"]}
    chain, cur = [], meta["current-snapshot-id"]
    while cur is not None:
        chain.append(cur)
        cur = by_id[cur].get("parent-snapshot-id")
    assert sorted(chain) == sorted(ids)


def test_failed_metadata_write_moves_nothing(
    client: Client, files: MemoryFiles, table: dict[str, Any]
) -> None:
    before = client.get(f"{P}/namespaces/db/tables/t").json()
    files.fail_writes = True
    r = commit(client, "db", "t", [], [{"action": "set-properties", "updates": {"k": "v"}}])
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "InternalServerError"
    files.fail_writes = False
    assert client.get(f"{P}/namespaces/db/tables/t").json() == before


def test_encryption_key_updates(client: Client, table: dict[str, Any]) -> None:
    key = {"key-id": "k1", "encrypted-key-metadata": "c2VjcmV0", "properties": {"a": "b"}}
    r = commit(client, "db", "t", [], [{"action": "add-encryption-key", "encryption-key": key}])
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["encryption-keys"] == [key]
    # carried through later commits that pyiceberg applies
    r = commit(client, "db", "t", [], [{"action": "set-properties", "updates": {"x": "1"}}])
    assert r.json()["metadata"]["encryption-keys"] == [key]
    assert client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]["encryption-keys"] == [key]
    r = commit(client, "db", "t", [], [{"action": "remove-encryption-key", "key-id": "k1"}])
    assert "encryption-keys" not in r.json()["metadata"]
    r = commit(client, "db", "t", [], [{"action": "remove-encryption-key", "key-id": "k1"}])
    assert error(r) == (400, "BadRequestException")


def test_set_location_into_another_table_is_refused(client: Client, table: dict[str, Any]) -> None:
    other = create_table(client, "db", "u")["metadata"]["location"]
    r = commit(client, "db", "t", [], [{"action": "set-location", "location": other + "/inside"}])
    assert error(r) == (400, "BadRequestException")
    r = commit(client, "db", "t", [], [{"action": "set-location", "location": "s3://lake/elsewhere/t"}])
    assert r.status_code == 200
    assert r.json()["metadata"]["location"] == "s3://lake/elsewhere/t"
    assert "/elsewhere/t/metadata/" in r.json()["metadata-location"]
