"""The GraphQL schema over a real SQLite store: time folding, filters, ordering, wrangler's typed variables,
introspection, and the errors a client sees."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from analytics.api.schema import run_query
from analytics.service.analytics import AnalyticsService
from analytics.store.repo import AnalyticsRepository
from analytics.store.tables import StorageSampleRow
from infra.db import Database

ACCOUNT = "a" * 32
HOUR = (int(time.time()) // 3600 - 3) * 3600  # three hours ago, on the hour


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AnalyticsService]:
    db = Database(f"sqlite:///{tmp_path / 'lakebox.db'}")
    db.create_schema()
    repo = AnalyticsRepository(db)
    repo.add_counts(
        {
            (HOUR, "b", "GetObject", "success", 200): 3,
            (HOUR + 60, "b", "GetObject", "success", 200): 4,
            (HOUR + 3600, "b", "GetObject", "success", 200): 5,
            (HOUR + 3600, "c", "PutObject", "success", 200): 6,
        }
    )
    with db.write() as conn:
        conn.execute(
            insert(StorageSampleRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "at": HOUR + s,
                    "bucket": "b",
                    "object_count": n,
                    "upload_count": 0,
                    "payload_size": 10 * n,
                    "metadata_size": n,
                }
                for s, n in ((0, 1), (60, 2), (120, 3))
            ],
        )
    yield AnalyticsService(repo)
    db.dispose()


def _run(service: AnalyticsService, query: str, **variables: Any) -> dict[str, Any]:
    return run_query(service, ACCOUNT, query, {"accountTag": ACCOUNT, **variables}, None)


def _ops(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer["errors"] is None, answer
    groups: list[dict[str, Any]] = answer["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
    return groups


def test_hours_fold_minutes_and_filters_apply(service: AnalyticsService) -> None:
    query = """query ($accountTag: string!, $start: Time, $end: Time, $bucket: string) { viewer {
      accounts(filter: {accountTag: $accountTag}) {
        r2OperationsAdaptiveGroups(limit: 100, filter: {datetime_geq: $start, datetime_lt: $end, bucketName: $bucket},
                                   orderBy: [datetime_DESC]) {
          sum { requests } dimensions { datetimeHour }
        } } } }"""
    rows = _ops(_run(service, query, bucket="b"))
    assert [(r["dimensions"]["datetimeHour"], r["sum"]["requests"]) for r in rows] == [
        (_iso(HOUR + 3600), 5),
        (_iso(HOUR), 7),
    ]
    rows = _ops(_run(service, query, start=_iso(HOUR + 60), end=_iso(HOUR + 3600)))
    assert [(r["dimensions"]["datetimeHour"], r["sum"]["requests"]) for r in rows] == [(_iso(HOUR), 4)]


def test_no_dimensions_sums_everything(service: AnalyticsService) -> None:
    query = """query ($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) {
      r2OperationsAdaptiveGroups(limit: 10) { sum { requests } count } } } }"""
    assert _ops(_run(service, query)) == [{"sum": {"requests": 18}, "count": 18}]


def test_wrangler_query_with_its_variable_types(service: AnalyticsService) -> None:
    query = """
    query getR2StorageMetrics($accountTag: String, $filter: R2StorageAdaptiveGroupsFilter_InputObject) {
      viewer {
        accounts(filter: { accountTag: $accountTag }) {
          r2StorageAdaptiveGroups(limit: 1 filter: $filter orderBy: [datetime_DESC]) {
            max { objectCount payloadSize metadataSize }
            dimensions { datetime }
          }
        }
      }
    }"""
    window = {"datetime_geq": _iso(HOUR - 60), "datetime_leq": _iso(HOUR + 600), "bucketName": "b"}
    answer = _run(service, query, filter=window)
    assert answer["errors"] is None, answer
    assert answer["data"]["viewer"]["accounts"][0]["r2StorageAdaptiveGroups"] == [
        {
            "max": {"objectCount": 3, "payloadSize": 30, "metadataSize": 3},
            "dimensions": {"datetime": _iso(HOUR + 120)},
        }
    ]


def test_introspection_names_the_datasets(service: AnalyticsService) -> None:
    answer = run_query(service, ACCOUNT, '{ __type(name: "Account") { fields { name } } }', None, None)
    assert {f["name"] for f in answer["data"]["__type"]["fields"]} == {
        "r2OperationsAdaptiveGroups",
        "r2StorageAdaptiveGroups",
        "r2EarlyDeletionsAdaptiveGroups",  # lakebox's: Infrequent Access minimum-duration shortfalls
    }


def test_errors_clients_see(service: AnalyticsService) -> None:
    query = """query ($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) {
      r2OperationsAdaptiveGroups(limit: 10) { sum { requests } } } } }"""
    other = run_query(service, ACCOUNT, query, {"accountTag": "b" * 32}, None)
    assert other["data"] is None
    assert other["errors"][0]["message"] == "not authorized for that account"
    missing = run_query(service, ACCOUNT, query, {}, None)
    assert missing["errors"][0]["message"] == (
        "Variable '$accountTag' has invalid value: Expected a value of non-null type 'string!' to be provided."
    )
    syntax = run_query(service, ACCOUNT, "{ viewer {", None, None)
    assert syntax["data"] is None
    assert syntax["errors"][0]["message"].startswith("Syntax Error")
    no_limit = run_query(
        service,
        ACCOUNT,
        '{ viewer { accounts(filter: {accountTag: "x"}) { r2StorageAdaptiveGroups { max { objectCount } } } } }',
        None,
        None,
    )
    assert no_limit["errors"][0]["message"] == (
        "Argument 'Account.r2StorageAdaptiveGroups(limit:)' of type 'Int!' is required, but it was not provided."
    )
