"""Racing committers against ``lakebox serve`` with several worker processes: the compare-and-set lives in the
database, so every commit lands exactly once whichever worker serves it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.catalog.live import LiveLake
from tests.support.server import running

SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLake]:
    with running(tmp_path_factory.mktemp("workers") / "data", workers=3) as srv:
        live = LiveLake(srv)
        live.warehouse("lake")
        yield live


LOCATION = "s3://lake/w/t"  # the snapshots' manifest lists lie inside the table's location


def snapshot_updates(sid: int, seq: int, parent: int | None) -> list[dict[str, Any]]:
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


def test_racing_commits_across_workers(lake: LiveLake, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {lake.root.token}"}
    base = f"{lake.catalog_uri}/v1/lake"
    with httpx.Client(headers=headers, timeout=60) as http:
        assert http.post(f"{base}/namespaces", json={"namespace": ["w"]}).status_code == 200
        r = http.post(
            f"{base}/namespaces/w/tables", json={"name": "t", "schema": SCHEMA, "location": LOCATION}
        )
        assert r.status_code == 200
    writers, per_writer = 4, 8
    errors: list[str] = []

    def writer(w: int) -> None:
        with httpx.Client(headers=headers, timeout=60) as http:
            for i in range(per_writer):
                sid = 1000 * (w + 1) + i
                for _ in range(100):
                    meta = http.get(f"{base}/namespaces/w/tables/t").json()["metadata"]
                    parent = meta.get("current-snapshot-id")
                    reqs = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}]
                    body = {
                        "requirements": reqs,
                        "updates": snapshot_updates(sid, meta["last-sequence-number"] + 1, parent),
                    }
                    r = http.post(f"{base}/namespaces/w/tables/t", json=body)
                    if r.status_code == 200:
                        break
                    if r.status_code != 409:
                        errors.append(r.text)
                        return
                else:
                    errors.append(f"writer {w} gave up")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with httpx.Client(headers=headers, timeout=60) as http:
        meta = http.get(f"{base}/namespaces/w/tables/t").json()["metadata"]
    ids = [s["snapshot-id"] for s in meta["snapshots"]]
    assert len(ids) == len(set(ids)) == writers * per_writer
    by_id = {s["snapshot-id"]: s for s in meta["snapshots"]}
    chain, cur = [], meta["current-snapshot-id"]
    while cur is not None:
        chain.append(cur)
        cur = by_id[cur].get("parent-snapshot-id")
    assert sorted(chain) == sorted(ids)
    assert len(meta["metadata-log"]) >= 1
