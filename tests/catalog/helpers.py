"""Request payloads shared by the catalog tests."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

P = "/v1/lake"
T_LOCATION = "s3://lake/db/t"  # tests that add snapshots create db.t here: a snapshot's files lie inside it

SCHEMA: dict[str, Any] = {
    "type": "struct",
    "schema-id": 0,
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "name", "type": "string", "required": False},
        {"id": 3, "name": "ts", "type": "timestamp", "required": False},
    ],
}


def create_namespace(client: TestClient, *levels: str, **props: str) -> None:  # type: ignore[type-arg]
    r = client.post(f"{P}/namespaces", json={"namespace": list(levels), "properties": props})
    assert r.status_code == 200, r.text


def create_table(client: TestClient, ns: str, name: str, **extra: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    body = {"name": name, "schema": SCHEMA, **extra}
    r = client.post(f"{P}/namespaces/{ns}/tables", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def snapshot(
    snapshot_id: int, seq: int, parent: int | None = None, ts: int = 1_700_000_000_000
) -> dict[str, Any]:
    snap: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "sequence-number": seq,
        "timestamp-ms": ts + seq,
        "manifest-list": f"{T_LOCATION}/metadata/snap-{snapshot_id}.avro",
        "summary": {"operation": "append"},
        "schema-id": 0,
    }
    if parent is not None:
        snap["parent-snapshot-id"] = parent
    return snap


def add_snapshot_updates(snapshot_id: int, seq: int, parent: int | None = None) -> list[dict[str, Any]]:
    return [
        {"action": "add-snapshot", "snapshot": snapshot(snapshot_id, seq, parent)},
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": snapshot_id},
    ]


def commit(client: TestClient, ns: str, table: str, requirements: list[Any], updates: list[Any]) -> Any:  # type: ignore[type-arg]
    return client.post(
        f"{P}/namespaces/{ns}/tables/{table}", json={"requirements": requirements, "updates": updates}
    )
