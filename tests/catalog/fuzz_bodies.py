"""Hypothesis strategies for the catalog fuzz tests: arbitrary JSON, valid request bodies of every route (from
the spec's shapes), mutations of them, and commits built from the spec's requirement and update types."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

MISSING = object()

SCHEMA: dict[str, Any] = {
    "type": "struct",
    "schema-id": 0,
    "identifier-field-ids": [1],
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "ts", "type": "timestamp", "required": False},
        {"id": 3, "name": "d", "type": "decimal(10,2)", "required": False},
        {
            "id": 4,
            "name": "tags",
            "type": {"type": "list", "element-id": 5, "element": "string", "element-required": False},
            "required": False,
        },
    ],
}
SPEC: dict[str, Any] = {
    "spec-id": 0,
    "fields": [{"source-id": 2, "field-id": 1000, "name": "ts_day", "transform": "day"}],
}
ORDER: dict[str, Any] = {
    "order-id": 1,
    "fields": [{"source-id": 1, "transform": "bucket[4]", "direction": "asc", "null-order": "nulls-first"}],
}
VIEW_VERSION: dict[str, Any] = {
    "version-id": 1,
    "schema-id": 0,
    "timestamp-ms": 1_700_000_000_000,
    "summary": {"engine-name": "fuzz"},
    "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
    "default-namespace": ["fz"],
}
SNAPSHOT: dict[str, Any] = {
    "snapshot-id": 7,
    "parent-snapshot-id": None,
    "sequence-number": 1,
    "timestamp-ms": 1_700_000_000_001,
    "manifest-list": "s3://lake/cz/c/metadata/snap-7.avro",
    "summary": {"operation": "append"},
    "schema-id": 0,
}
STATISTICS: dict[str, Any] = {
    "snapshot-id": 7,
    "statistics-path": "s3://lake/cz/c/metadata/stats.puffin",
    "file-size-in-bytes": 10,
    "file-footer-size-in-bytes": 5,
    "blob-metadata": [{"type": "ndv", "snapshot-id": 7, "sequence-number": 1, "fields": [1]}],
}

REQUIREMENTS: list[dict[str, Any]] = [
    {"type": "assert-create"},
    {"type": "assert-table-uuid", "uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1"},
    {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 7},
    {"type": "assert-last-assigned-field-id", "last-assigned-field-id": 5},
    {"type": "assert-current-schema-id", "current-schema-id": 0},
    {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1000},
    {"type": "assert-default-spec-id", "default-spec-id": 0},
    {"type": "assert-default-sort-order-id", "default-sort-order-id": 0},
]
VIEW_REQUIREMENTS: list[dict[str, Any]] = [
    {"type": "assert-view-uuid", "uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1"}
]
UPDATES: list[dict[str, Any]] = [
    {"action": "assign-uuid", "uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1"},
    {"action": "upgrade-format-version", "format-version": 2},
    {"action": "add-schema", "schema": SCHEMA, "last-column-id": 5},
    {"action": "set-current-schema", "schema-id": -1},
    {"action": "add-spec", "spec": SPEC},
    {"action": "set-default-spec", "spec-id": -1},
    {"action": "add-sort-order", "sort-order": ORDER},
    {"action": "set-default-sort-order", "sort-order-id": -1},
    {"action": "add-snapshot", "snapshot": SNAPSHOT},
    {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 7},
    {"action": "remove-snapshots", "snapshot-ids": [7]},
    {"action": "remove-snapshot-ref", "ref-name": "main"},
    {"action": "set-location", "location": "s3://lake/cz/c"},
    {"action": "set-properties", "updates": {"write.data.path": "s3://lake/cz/c/data", "k": "v"}},
    {"action": "remove-properties", "removals": ["k"]},
    {"action": "set-statistics", "snapshot-id": 7, "statistics": STATISTICS},
    {"action": "remove-statistics", "snapshot-id": 7},
    {
        "action": "set-partition-statistics",
        "partition-statistics": {
            "snapshot-id": 7,
            "statistics-path": "s3://lake/cz/c/metadata/p.parquet",
            "file-size-in-bytes": 3,
        },
    },
    {"action": "remove-partition-statistics", "snapshot-id": 7},
    {"action": "remove-partition-specs", "spec-ids": [0]},
    {"action": "remove-schemas", "schema-ids": [0]},
    {"action": "add-encryption-key", "encryption-key": {"key-id": "k1", "encrypted-key-metadata": "AAAA"}},
    {"action": "remove-encryption-key", "key-id": "k1"},
    {"action": "add-view-version", "view-version": VIEW_VERSION},
    {"action": "set-current-view-version", "view-version-id": -1},
]

NAMES = ["fz", "t", "v", "cz", "c", "nope", "fz\x1fsub", "", "..", "%2e%2e", "a/b", "x" * 300, "nul\x00"]
name = st.sampled_from(NAMES) | st.text(max_size=20)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        ["s3://lake/__lakebox", "file:///etc", "s3://lake/../x", "decimal(99,999)", "bucket[-5]"]
    )
)
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def mutated(template: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """``template`` kept, or with fields replaced by arbitrary JSON, dropped, or extra keys added, at any depth."""
    if isinstance(template, dict):
        fields = {
            k: st.one_of(mutated(v, depth + 1), mutated(v, depth + 1), json_values, st.just(MISSING))
            for k, v in template.items()
        }
        extra = st.dictionaries(st.text(max_size=12), json_values, max_size=2)
        return st.builds(_merge, st.fixed_dictionaries(fields), extra)
    if isinstance(template, list):
        if not template:
            return st.lists(json_values, max_size=3)
        return st.lists(mutated(template[0], depth + 1), max_size=3) | st.just(template)
    return st.just(template) | st.just(template) | json_leaf


def _merge(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if v is not MISSING}
    for k, v in extra.items():
        out.setdefault(k, v)
    return out


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


requirement = st.sampled_from(REQUIREMENTS + VIEW_REQUIREMENTS).flatmap(mutated) | json_values
update = st.sampled_from(UPDATES).flatmap(mutated) | json_values
commit_body = st.builds(
    lambda ident, reqs, ups: {
        k: v for k, v in (("identifier", ident), ("requirements", reqs), ("updates", ups)) if v is not MISSING
    },
    st.just(MISSING) | mutated({"namespace": ["cz"], "name": "c"}),
    st.lists(requirement, max_size=3) | st.just(MISSING),
    st.lists(update, max_size=4) | st.just(MISSING),
)

REPORT: dict[str, Any] = {
    "report-type": "scan-report",
    "table-name": "fz.t",
    "snapshot-id": 1,
    "filter": True,
    "schema-id": 0,
    "projected-field-ids": [1],
    "projected-field-names": ["id"],
    "metrics": {},
}
CREATE_TABLE: dict[str, Any] = {
    "name": "made",
    "schema": SCHEMA,
    "partition-spec": SPEC,
    "write-order": ORDER,
    "properties": {"format-version": "2"},
    "stage-create": False,
}
# (method, path template, body template or None); {ns}, {t}, {v}, {prefix} are filled in by the test
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/config", None),
    ("GET", "/v1/{prefix}/namespaces", None),
    ("POST", "/v1/{prefix}/namespaces", {"namespace": ["fz", "made"], "properties": {"a": "b"}}),
    ("GET", "/v1/{prefix}/namespaces/{ns}", None),
    ("HEAD", "/v1/{prefix}/namespaces/{ns}", None),
    ("DELETE", "/v1/{prefix}/namespaces/{ns}", None),
    ("POST", "/v1/{prefix}/namespaces/{ns}/properties", {"removals": ["a"], "updates": {"b": "c"}}),
    ("GET", "/v1/{prefix}/namespaces/{ns}/tables", None),
    ("POST", "/v1/{prefix}/namespaces/{ns}/tables", CREATE_TABLE),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/tables",
        {**CREATE_TABLE, "stage-create": True, "location": "s3://lake/fz/x"},
    ),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/register",
        {"name": "r", "metadata-location": "s3://lake/fz/t/metadata/v1.metadata.json", "overwrite": False},
    ),
    ("GET", "/v1/{prefix}/namespaces/{ns}/tables/{t}", None),
    ("HEAD", "/v1/{prefix}/namespaces/{ns}/tables/{t}", None),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/tables/{t}",
        {"requirements": REQUIREMENTS[:2], "updates": UPDATES[:3]},
    ),
    ("DELETE", "/v1/{prefix}/namespaces/{ns}/tables/{t}", None),
    ("POST", "/v1/{prefix}/namespaces/{ns}/tables/{t}/metrics", REPORT),
    ("GET", "/v1/{prefix}/namespaces/{ns}/tables/{t}/credentials", None),
    (
        "POST",
        "/v1/{prefix}/tables/rename",
        {"source": {"namespace": ["fz"], "name": "t"}, "destination": {"namespace": ["fz"], "name": "t2"}},
    ),
    (
        "POST",
        "/v1/{prefix}/transactions/commit",
        {
            "table-changes": [
                {
                    "identifier": {"namespace": ["fz"], "name": "t"},
                    "requirements": [],
                    "updates": UPDATES[12:14],
                }
            ]
        },
    ),
    ("GET", "/v1/{prefix}/namespaces/{ns}/views", None),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/views",
        {"name": "vv", "schema": SCHEMA, "view-version": VIEW_VERSION, "properties": {}},
    ),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/register-view",
        {"name": "rv", "metadata-location": "s3://lake/fz/v/metadata/v1.metadata.json"},
    ),
    ("GET", "/v1/{prefix}/namespaces/{ns}/views/{v}", None),
    ("HEAD", "/v1/{prefix}/namespaces/{ns}/views/{v}", None),
    (
        "POST",
        "/v1/{prefix}/namespaces/{ns}/views/{v}",
        {"requirements": VIEW_REQUIREMENTS, "updates": UPDATES[-2:]},
    ),
    ("DELETE", "/v1/{prefix}/namespaces/{ns}/views/{v}", None),
    (
        "POST",
        "/v1/{prefix}/views/rename",
        {"source": {"namespace": ["fz"], "name": "v"}, "destination": {"namespace": ["fz"], "name": "v2"}},
    ),
]
QUERY_KEYS = ["warehouse", "parent", "pageToken", "pageSize", "purgeRequested", "snapshots", "x-id"]
query = st.dictionaries(
    st.sampled_from(QUERY_KEYS),
    st.text(max_size=12) | st.sampled_from(["lake", "true", "refs", "1", "-1"]),
    max_size=3,
)
