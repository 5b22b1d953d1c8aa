"""Property-based fuzz of the catalog against a real ``lakebox serve`` (issue 14 acceptance): arbitrary JSON and
mutated valid bodies to every route, and commits made of the spec's requirement and update types with arbitrary
or mutated fields. Every request gets a response, none is a 5xx (503 is the spec's ServiceUnavailable, allowed),
every error is the spec's ErrorModel, and the server still works afterwards. One server and one HTTP client
serve every example (about 2,900 per run)."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalog.fuzz_bodies import ROUTES, SCHEMA, commit_body, encode, json_values, mutated, name, query
from tests.catalog.live import LiveLake

FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    database=None,
)
STATUSES: Counter[int] = Counter()
EXAMPLES: Counter[str] = Counter()  # examples run per fuzz test (each must reach its max_examples)
MAX_EXAMPLES = {"commits": 900, "arbitrary": 1100, "mutated": 900}  # 2,900 a run
BODY_ROUTES = [r for r in ROUTES if r[2] is not None]


@pytest.fixture(scope="module")
def http(lake: LiveLake) -> Iterator[httpx.Client]:
    lake.warehouse("lake")
    client = httpx.Client(
        base_url=lake.catalog_uri, headers={"Authorization": f"Bearer {lake.root.token}"}, timeout=60
    )
    for ns in ("fz", "cz"):
        assert client.post("/v1/lake/namespaces", json={"namespace": [ns]}).status_code == 200
    tables = [("fz", {"name": "t"}), ("cz", {"name": "c", "location": "s3://lake/cz/c"})]
    for ns, extra in tables:
        r = client.post(f"/v1/lake/namespaces/{ns}/tables", json={"schema": SCHEMA, **extra})
        assert r.status_code == 200, r.text
    view = {
        "schema": SCHEMA,
        "view-version": {
            "version-id": 1,
            "schema-id": 0,
            "timestamp-ms": 1,
            "summary": {},
            "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
            "default-namespace": ["fz"],
        },
    }
    for ns, v in (("fz", "v"), ("cz", "cv")):
        assert client.post(f"/v1/lake/namespaces/{ns}/views", json={"name": v, **view}).status_code == 200
    yield client
    client.close()


def send(
    http: httpx.Client,
    method: str,
    path: str,
    body: bytes | None,
    params: dict[str, str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    headers = (
        {"Content-Type": "application/json", **(extra_headers or {})} if body is not None else extra_headers
    )
    r = http.request(
        method, path, content=body, params=params, headers=headers
    )  # a dropped connection raises
    STATUSES[r.status_code] += 1
    what = f"{method} {path} {params} {(body or b'')[:300]!r} -> {r.status_code} {r.text[:300]}"
    assert r.status_code < 500 or r.status_code == 503, what
    if r.status_code >= 400 and method != "HEAD":
        error = r.json()["error"]
        assert set(error) == {"message", "type", "code"}, what
        assert error["code"] == r.status_code, what
        assert isinstance(error["type"], str), what
        assert isinstance(error["message"], str), what
    return r


def fill(template: str, prefix: str, ns: str, table: str, view: str) -> str:
    q = lambda s: quote(s, safe="")  # noqa: E731
    return template.format(prefix=q(prefix), ns=q(ns), t=q(table), v=q(view))


def test_regression_create_by_commit_without_a_schema(http: httpx.Client) -> None:
    """Found by the fuzz: pyiceberg raised StopIteration, which asyncio cannot carry out of the handler's thread;
    the request hung without a response."""
    for updates in ([], [{"action": "set-properties", "updates": {"a": "b"}}]):
        body = {"requirements": [{"type": "assert-create"}], "updates": updates}
        r = send(http, "POST", "/v1/lake/namespaces/fz/tables/created", encode(body))
        assert r.status_code == 400
        assert r.json()["error"]["type"] == "BadRequestException"
        change = {"identifier": {"namespace": ["fz"], "name": "created"}, **body}
        r = send(http, "POST", "/v1/lake/transactions/commit", encode({"table-changes": [change]}))
        assert r.status_code == 400
    assert send(http, "HEAD", "/v1/lake/namespaces/fz/tables/created", None).status_code == 404


def test_regression_long_paths_and_keys_with_an_idempotency_key(http: httpx.Client) -> None:
    """Found by the fuzz on PostgreSQL: the stored operation (method and path) and key have bounded columns; a
    long path was a 500 there (SQLite does not enforce the bound)."""
    long_name = "x" * 250
    for key in (str(uuid.uuid4()), "k" * 64):
        r = send(
            http, "DELETE", f"/v1/lake/namespaces/fz/views/{long_name}", None, None, {"Idempotency-Key": key}
        )
        assert r.status_code == 404
        again = send(
            http, "DELETE", f"/v1/lake/namespaces/fz/views/{long_name}", None, None, {"Idempotency-Key": key}
        )
        assert again.status_code == 404  # replayed
    r = send(http, "DELETE", "/v1/lake/namespaces/fz/views/v0", None, None, {"Idempotency-Key": "k" * 65})
    assert r.status_code == 400


def test_regression_nul_in_names_and_tokens(http: httpx.Client) -> None:
    """Found by the fuzz on PostgreSQL, which cannot store or even compare NUL in a text column: a 500 there."""
    token = base64.urlsafe_b64encode(b"a\x00b").decode().rstrip("=")
    cases = [
        ("POST", "/v1/lake/namespaces", encode({"namespace": ["a\x00b"]}), None),
        ("POST", "/v1/lake/namespaces/fz/tables", encode({"name": "t\x00", "schema": SCHEMA}), None),
        ("GET", "/v1/lake/namespaces/fz%00/tables/t", None, None),
        ("GET", "/v1/lake/namespaces/fz/tables/t%00", None, None),
        ("GET", "/v1/lake%00/namespaces", None, None),
        ("GET", "/v1/config", None, {"warehouse": "lake\x00"}),
        ("GET", "/v1/lake/namespaces", None, {"pageToken": token}),
        ("GET", "/v1/lake/namespaces", None, {"parent": "fz\x00"}),
    ]
    for method, path, body, params in cases:
        r = send(http, method, path, body, params)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["error"]["type"] == "BadRequestException"


@pytest.mark.parametrize(
    "update",
    [
        {"action": "set-properties", "updates": ["a"]},  # pyiceberg's validator raised AttributeError: a 500
        {
            "action": "add-spec",
            "spec": {"fields": [{"source-id": 1, "field-id": 1000, "name": "p", "transform": "bucket[-5]"}]},
        },
        {
            "action": "add-schema",
            "schema": {
                "type": "struct",
                "fields": [{"id": 9, "name": "d", "type": "decimal(99,999)", "required": False}],
            },
        },
    ],
)
def test_regression_validator_errors_are_400(http: httpx.Client, update: dict[str, Any]) -> None:
    r = send(http, "POST", "/v1/lake/namespaces/fz/tables/t", encode({"updates": [update]}))
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "BadRequestException"


headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": st.uuids().map(str)
        | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=90),
        "X-Iceberg-Access-Delegation": st.sampled_from(["vended-credentials", "remote-signing", "x"]),
    },
)
prefixes = st.just("lake") | st.just("lake") | st.just("lake") | name


@settings(FUZZ, max_examples=MAX_EXAMPLES["commits"])
@given(
    path=st.sampled_from(
        ["/v1/lake/namespaces/cz/tables/c", "/v1/lake/namespaces/cz/views/cv", "/v1/lake/transactions/commit"]
    ),
    body=commit_body,
    more=st.lists(commit_body, max_size=2),
    hdrs=headers,
)
def test_commits_with_arbitrary_requirements_and_updates(
    http: httpx.Client, path: str, body: dict[str, Any], more: list[dict[str, Any]], hdrs: dict[str, str]
) -> None:
    EXAMPLES["commits"] += 1
    if path.endswith("/transactions/commit"):
        changes = [{"identifier": {"namespace": ["cz"], "name": "c"}, **b} for b in [body, *more]]
        send(http, "POST", path, encode({"table-changes": changes}), extra_headers=hdrs)
    else:
        send(http, "POST", path, encode(body), extra_headers=hdrs)


@settings(FUZZ, max_examples=MAX_EXAMPLES["arbitrary"])
@given(
    route=st.sampled_from(ROUTES),
    body=json_values.map(encode) | st.binary(max_size=64) | st.none(),
    prefix=prefixes,
    ns=name,
    table=name,
    view=name,
    params=query,
    hdrs=headers,
)
def test_arbitrary_json_to_every_route(
    http: httpx.Client,
    route: tuple[str, str, Any],
    body: bytes | None,
    prefix: str,
    ns: str,
    table: str,
    view: str,
    params: dict[str, str],
    hdrs: dict[str, str],
) -> None:
    EXAMPLES["arbitrary"] += 1
    method, template, _ = route
    send(http, method, fill(template, prefix, ns, table, view), body, params, hdrs)


@settings(FUZZ, max_examples=MAX_EXAMPLES["mutated"])
@given(
    route_and_body=st.sampled_from(BODY_ROUTES).flatmap(lambda r: st.tuples(st.just(r), mutated(r[2]))),
    ns=st.sampled_from(["fz", "fz"]) | name,
    table=st.sampled_from(["t", "t"]) | name,
    view=st.sampled_from(["v", "v"]) | name,
    hdrs=headers,
)
def test_mutated_valid_bodies_to_every_route(
    http: httpx.Client,
    route_and_body: tuple[tuple[str, str, Any], Any],
    ns: str,
    table: str,
    view: str,
    hdrs: dict[str, str],
) -> None:
    EXAMPLES["mutated"] += 1
    (method, template, _), body = route_and_body
    send(http, method, fill(template, "lake", ns, table, view), encode(body), None, hdrs)


def test_the_server_still_works_after_the_fuzz(http: httpx.Client, lake: LiveLake) -> None:
    assert lake.server.process is not None
    assert lake.server.process.poll() is None  # still running
    ns = f"after{uuid.uuid4().hex[:8]}"
    assert send(http, "POST", "/v1/lake/namespaces", encode({"namespace": [ns]})).status_code == 200
    created = send(http, "POST", f"/v1/lake/namespaces/{ns}/tables", encode({"name": "t", "schema": SCHEMA}))
    assert created.status_code == 200
    upd = {"updates": [{"action": "set-properties", "updates": {"k": "v"}}]}
    assert send(http, "POST", f"/v1/lake/namespaces/{ns}/tables/t", encode(upd)).status_code == 200
    loaded = send(http, "GET", f"/v1/lake/namespaces/{ns}/tables/t", None).json()
    assert loaded["metadata"]["properties"]["k"] == "v"
    assert loaded["metadata"]["table-uuid"] == created.json()["metadata"]["table-uuid"]
    print("catalog fuzz statuses:", json.dumps(dict(sorted(STATUSES.items()))))
    for test, ran in EXAMPLES.items():  # the fuzz tests that ran in this session ran all their examples
        assert ran >= MAX_EXAMPLES[test], (test, ran)
