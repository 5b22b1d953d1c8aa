"""SIGKILL ``lakebox serve`` while commits are in flight, start it again on the same data directory: every
acknowledged commit is there, the pointer names a metadata file that exists, and the table keeps committing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.catalog.live import LiveLake
from tests.support.server import LakeboxServer, postgres_database

SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}


LOCATION = "s3://lake/c/t"  # the snapshots' manifest lists lie inside the table's location


def updates(sid: int, seq: int, parent: int | None) -> list[dict[str, Any]]:
    snap: dict[str, Any] = {
        "snapshot-id": sid,
        "sequence-number": seq,
        "timestamp-ms": 1_700_000_000_000 + seq,
        "manifest-list": f"{LOCATION}/metadata/snap-{sid}.avro",
        "summary": {"operation": "append"},
        "schema-id": 0,
    }
    if parent is not None:
        snap["parent-snapshot-id"] = parent
    return [
        {"action": "add-snapshot", "snapshot": snap},
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": sid},
    ]


@pytest.mark.slow
def test_commits_survive_sigkill(tmp_path: Path) -> None:
    server = LakeboxServer(tmp_path / "data", workers=2, database_url=postgres_database()).start()
    try:
        lake = LiveLake(server)
        lake.warehouse("lake")
        headers = {"Authorization": f"Bearer {server.token}"}
        base = f"{server.catalog_uri}/v1/lake/namespaces/c/tables/t"
        with httpx.Client(headers=headers, timeout=30) as http:
            assert (
                http.post(f"{server.catalog_uri}/v1/lake/namespaces", json={"namespace": ["c"]}).status_code
                == 200
            )
            r = http.post(
                f"{server.catalog_uri}/v1/lake/namespaces/c/tables",
                json={"name": "t", "schema": SCHEMA, "location": LOCATION},
            )
            assert r.status_code == 200

        acknowledged: list[int] = []
        stop = threading.Event()

        def writer(w: int) -> None:
            with httpx.Client(headers=headers, timeout=10) as http:
                i = 0
                while not stop.is_set():
                    sid = 100_000 * (w + 1) + i
                    try:
                        meta = http.get(base).json()["metadata"]
                        parent = meta.get("current-snapshot-id")
                        reqs = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}]
                        body = {
                            "requirements": reqs,
                            "updates": updates(sid, meta["last-sequence-number"] + 1, parent),
                        }
                        r = http.post(base, json=body)
                    except (httpx.HTTPError, KeyError, ValueError):
                        return  # the server went away mid-request: outcome unknown, not acknowledged
                    if r.status_code == 200:
                        acknowledged.append(sid)
                        i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.kill()
        stop.set()
        for t in threads:
            t.join()
        assert acknowledged, "no commit was acknowledged before the kill"

        server.start()
        with httpx.Client(headers=headers, timeout=30) as http:
            body = http.get(base).json()
            meta = body["metadata"]
            ids = {s["snapshot-id"] for s in meta["snapshots"]}
            assert set(acknowledged) <= ids  # nothing acknowledged was lost
            key = body["metadata-location"].removeprefix("s3://lake/")
            assert (
                lake.s3().get_object(Bucket="lake", Key=key)["Body"].read()
            )  # the pointer names a real file
            chain, cur = [], meta.get("current-snapshot-id")
            by_id = {s["snapshot-id"]: s for s in meta["snapshots"]}
            while cur is not None:
                chain.append(cur)
                cur = by_id[cur].get("parent-snapshot-id")
            assert set(chain) == ids  # one linear history, nothing half-applied
            parent = meta.get("current-snapshot-id")
            reqs = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}]
            r = http.post(
                base,
                json={"requirements": reqs, "updates": updates(1, meta["last-sequence-number"] + 1, parent)},
            )
            assert r.status_code == 200, r.text
    finally:
        server.stop()
