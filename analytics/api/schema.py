"""The GraphQL schema (``schema.graphql``, Cloudflare's names) bound to the analytics service with ariadne.

The selected ``dimensions`` decide the grouping, as in Cloudflare's adaptive groups. Variables are checked
against their declared types, but not against the type of the place they are used: Cloudflare accepts
``$accountTag: String`` (wrangler) where the schema says ``string`` (the docs' queries), so lakebox does too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariadne import ObjectType, ScalarType, make_executable_schema
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import VariablesInAllowedPositionRule

from analytics.service.analytics import AnalyticsService
from analytics.service.counting import operation_class
from analytics.store.repo import TimeRange

SDL = (Path(__file__).parent / "schema.graphql").read_text()
RULES = [rule for rule in specified_rules if rule is not VariablesInAllowedPositionRule]

# GraphQL dimension -> the store's grouping column; time dimensions fold minutes (or samples) in Python.
_OPERATION_COLUMNS = {
    "actionType": "action",
    "actionClass": "action",
    "actionStatus": "status",
    "bucketName": "bucket",
    "responseStatusCode": "code",
}
_TIME_DIMENSIONS = {"datetime", "datetimeMinute", "datetimeHour", "date"}
# The storage classes as R2's APIs name them.
STANDARD, INFREQUENT_ACCESS = "Standard", "InfrequentAccess"
_CLASS_NAMES = {"STANDARD": STANDARD, "STANDARD_IA": INFREQUENT_ACCESS}


def _parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise GraphQLError("Time must be an RFC 3339 string, e.g. 2026-01-31T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"cannot parse {value!r} as Time (RFC 3339)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _format_time(value: Any) -> str:
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_uint(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GraphQLError(f"expected a non-negative integer, got {value!r}")
    return value


time_scalar = ScalarType("Time", serializer=_format_time, value_parser=_parse_time)
date_scalar = ScalarType(
    "Date", serializer=lambda v: datetime.fromtimestamp(float(v), UTC).date().isoformat()
)
string_scalar = ScalarType("string", serializer=str, value_parser=str)
uint64_scalar = ScalarType("uint64", serializer=int, value_parser=_parse_uint)
uint16_scalar = ScalarType("uint16", serializer=int, value_parser=_parse_uint)

query = ObjectType("Query")
viewer = ObjectType("Viewer")
account = ObjectType("Account")
op_dimensions = ObjectType("R2OperationsAdaptiveGroupsDimensions")
storage_dimensions = ObjectType("R2StorageAdaptiveGroupsDimensions")
early_dimensions = ObjectType("R2EarlyDeletionsAdaptiveGroupsDimensions")


@query.field("viewer")
def resolve_viewer(_: Any, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    return {}


@viewer.field("accounts")
def resolve_accounts(_: Any, info: GraphQLResolveInfo[Any], filter: dict[str, Any]) -> list[dict[str, Any]]:
    own: str = info.context["account_id"]
    wanted = [filter["accountTag"]] if filter.get("accountTag") is not None else filter.get("accountTag_in")
    if not wanted:
        raise GraphQLError("accounts needs a filter on accountTag")
    if any(str(tag) != own for tag in wanted):
        raise GraphQLError("not authorized for that account")
    return [{}]


def _range(filter: dict[str, Any] | None) -> tuple[TimeRange, list[str] | None]:
    f = filter or {}
    exact = f.get("datetime")
    when = TimeRange(
        geq=exact if exact is not None else f.get("datetime_geq"),
        gt=f.get("datetime_gt"),
        leq=exact if exact is not None else f.get("datetime_leq"),
        lt=f.get("datetime_lt"),
    )
    buckets: list[str] | None = None
    if f.get("bucketName") is not None:
        buckets = [str(f["bucketName"])]
    if f.get("bucketName_in") is not None:
        names = [str(n) for n in f["bucketName_in"]]
        buckets = names if buckets is None else [b for b in buckets if b in names]
    return when, buckets


def _selected(info: GraphQLResolveInfo[Any], child: str) -> set[str]:
    """The names selected under ``child`` of this field (inline fragments included)."""
    names: set[str] = set()

    def walk(selection_set: SelectionSetNode | None, inside: bool) -> None:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, InlineFragmentNode):
                walk(node.selection_set, inside)
            elif isinstance(node, FieldNode):
                if inside:
                    names.add(node.name.value)
                elif node.name.value == child:
                    walk(node.selection_set, True)

    for field in info.field_nodes:
        walk(field.selection_set, False)
    return names


def _step(dims: set[str], exact: bool) -> int:
    """Seconds per time group: 0 keeps each row's own time (a storage sample's ``datetime``)."""
    if "datetime" in dims:
        return 0 if exact else 60
    if "datetimeMinute" in dims:
        return 60
    return 3600 if "datetimeHour" in dims else 86400


def _fold_time(rows: list[dict[str, Any]], column: str, keys: list[str], step: int, agg: str) -> Any:
    """Regroups rows by a time granularity (``sum`` or ``max`` of the value columns)."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    for row in rows:
        t = row[column] if step == 0 else row[column] // step * step
        group = groups[(t, *(row[k] for k in keys))]
        for name, value in row.items():
            if name == column:
                group[name] = t
            elif name in keys or name not in group:
                group[name] = value
            else:
                group[name] = group[name] + value if agg == "sum" else max(group[name], value)
    return list(groups.values())


@dataclass(frozen=True)
class _Query:
    """What every dataset resolver starts from: the service, the filter's time range and buckets, and the
    dimensions the query selects."""

    service: AnalyticsService
    when: TimeRange
    buckets: list[str] | None
    dims: set[str]

    @property
    def timed(self) -> bool:
        return bool(self.dims & _TIME_DIMENSIONS)

    def bucket_keys(self) -> list[str]:
        return ["bucket"] if "bucketName" in self.dims else []


def _query(info: GraphQLResolveInfo[Any], filter: dict[str, Any] | None) -> _Query:
    when, buckets = _range(filter)
    return _Query(info.context["analytics"], when, buckets, _selected(info, "dimensions"))


@account.field("r2OperationsAdaptiveGroups")
def resolve_operations(
    _: Any,
    info: GraphQLResolveInfo[Any],
    limit: int,
    filter: dict[str, Any] | None = None,
    orderBy: list[str] | None = None,
) -> list[dict[str, Any]]:
    q = _query(info, filter)
    service, when, buckets, dims, timed = q.service, q.when, q.buckets, q.dims, q.timed
    keys = sorted({_OPERATION_COLUMNS[d] for d in dims if d in _OPERATION_COLUMNS})
    by_class = "storageClass" in dims
    retrieval = by_class or "retrievedBytes" in _selected(info, "sum")
    grouping = keys + (["minute"] if timed else [])
    rows = service.operations(grouping, when, buckets, limit if not (timed or retrieval) else 10**9)
    if retrieval:
        read = service.retrievals(grouping + (["storage_class"] if by_class else []), when, buckets)
        rows = _with_retrievals(rows, read, grouping, by_class)
    if by_class:
        keys.append("storage_class")
    if timed:
        rows = _fold_time(rows, "minute", keys, _step(dims, False), "sum")
    order = orderBy[0] if orderBy else None
    if order in ("datetime_ASC", "datetime_DESC") and timed:
        rows.sort(key=lambda r: r["minute"], reverse=order == "datetime_DESC")
    elif order in ("sum_requests_ASC", "sum_requests_DESC"):
        rows.sort(key=lambda r: r["requests"], reverse=order == "sum_requests_DESC")
    return [
        {
            "count": r["requests"],
            "sum": {"requests": r["requests"], "retrievedBytes": r.get("retrieved", 0)},
            "dimensions": r,
        }
        for r in rows[:limit]
    ]


def _with_retrievals(
    rows: list[dict[str, Any]], retrievals: list[dict[str, Any]], grouping: list[str], by_class: bool
) -> list[dict[str, Any]]:
    """Operation rows with the bytes their requests read from Infrequent Access; ``by_class`` splits each row
    into the requests that read each class (those that read none count as Standard)."""
    read: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in retrievals:
        read[tuple(r[k] for k in grouping)].append(r)
    merged: list[dict[str, Any]] = []
    for row in rows:
        found = read.get(tuple(row[k] for k in grouping), [])
        if not by_class:
            merged.append({**row, "retrieved": sum(int(r["bytes"]) for r in found)})
            continue
        standard = int(row["requests"]) - sum(int(r["requests"]) for r in found)
        if standard > 0 or not found:
            merged.append({**row, "storage_class": STANDARD, "requests": standard, "retrieved": 0})
        for r in found:
            klass = _CLASS_NAMES.get(str(r["storage_class"]), str(r["storage_class"]))
            merged.append(
                {**row, "storage_class": klass, "requests": int(r["requests"]), "retrieved": int(r["bytes"])}
            )
    return merged


@op_dimensions.field("actionType")
def resolve_action_type(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["action"])


@op_dimensions.field("actionClass")
def resolve_action_class(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return operation_class(str(row["action"]))


@op_dimensions.field("actionStatus")
def resolve_action_status(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["status"])


@op_dimensions.field("bucketName")
def resolve_op_bucket(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["bucket"])


@op_dimensions.field("objectName")
def resolve_object_name(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> None:
    return None


@op_dimensions.field("storageClass")
def resolve_op_storage_class(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row.get("storage_class", STANDARD))


@op_dimensions.field("responseStatusCode")
def resolve_code(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> int:
    return int(row["code"])


for _name in _TIME_DIMENSIONS:
    op_dimensions.set_field(_name, lambda row, info: row["minute"])
    storage_dimensions.set_field(_name, lambda row, info: row["at"])
    early_dimensions.set_field(_name, lambda row, info: row["minute"])


@early_dimensions.field("bucketName")
def resolve_early_bucket(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["bucket"])


@storage_dimensions.field("bucketName")
def resolve_storage_bucket(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["bucket"])


def _by_class(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A storage row as its Standard and its Infrequent Access part (pending uploads count as Standard)."""
    standard = {
        **row,
        "storage_class": STANDARD,
        "object_count": row["standard_object_count"],
        "payload_size": row["standard_payload_size"],
        "metadata_size": row["standard_metadata_size"],
    }
    infrequent = {
        **row,
        "storage_class": INFREQUENT_ACCESS,
        "object_count": row["ia_object_count"] or 0,
        "upload_count": 0,
        "payload_size": row["ia_payload_size"] or 0,
        "metadata_size": row["ia_metadata_size"] or 0,
    }
    return [standard, infrequent]


@storage_dimensions.field("storageClass")
def resolve_storage_class(row: dict[str, Any], info: GraphQLResolveInfo[Any]) -> str:
    return str(row["storage_class"])


@account.field("r2StorageAdaptiveGroups")
def resolve_storage(
    _: Any,
    info: GraphQLResolveInfo[Any],
    limit: int,
    filter: dict[str, Any] | None = None,
    orderBy: list[str] | None = None,
) -> list[dict[str, Any]]:
    q = _query(info, filter)
    service, when, buckets, dims, timed = q.service, q.when, q.buckets, q.dims, q.timed
    keys = q.bucket_keys()
    by_class = "storageClass" in dims
    descending = orderBy is not None and bool(orderBy) and orderBy[0] == "datetime_DESC"
    columns = keys + (["at"] if timed else [])
    rows = service.storage(columns, when, buckets, limit if not (timed or by_class) else 10**9, descending)
    if by_class:
        rows = [part for row in rows for part in _by_class(row)]
        keys.append("storage_class")
    if timed:
        rows = _fold_time(rows, "at", keys, _step(dims, True), "max")
        rows.sort(key=lambda r: r["at"], reverse=descending)
    return [
        {
            "max": {
                "objectCount": r["object_count"],
                "uploadCount": r["upload_count"],
                "payloadSize": r["payload_size"],
                "metadataSize": r["metadata_size"],
            },
            "dimensions": r,
        }
        for r in rows[:limit]
    ]


@account.field("r2EarlyDeletionsAdaptiveGroups")
def resolve_early_deletions(
    _: Any,
    info: GraphQLResolveInfo[Any],
    limit: int,
    filter: dict[str, Any] | None = None,
    orderBy: list[str] | None = None,
) -> list[dict[str, Any]]:
    q = _query(info, filter)
    service, when, buckets, dims, timed = q.service, q.when, q.buckets, q.dims, q.timed
    keys = q.bucket_keys()
    rows = service.early_deletions(
        keys + (["minute"] if timed else []), when, buckets, limit if not timed else 10**9
    )
    if timed:
        rows = _fold_time(rows, "minute", keys, _step(dims, False), "sum")
        descending = bool(orderBy) and orderBy is not None and orderBy[0] == "datetime_DESC"
        rows.sort(key=lambda r: r["minute"], reverse=descending)
    return [
        {
            "count": r["deletions"],
            "sum": {"payloadSize": r["size"], "byteSecondsShort": int(r["byte_seconds"])},
            "dimensions": r,
        }
        for r in rows[:limit]
    ]


SCHEMA: GraphQLSchema = make_executable_schema(
    SDL,
    query, viewer, account, op_dimensions, storage_dimensions, early_dimensions,
    time_scalar, date_scalar, string_scalar, uint64_scalar, uint16_scalar,
)  # fmt: skip


def run_query(
    service: AnalyticsService,
    account_id: str,
    source: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> dict[str, Any]:
    """The GraphQL answer ``{"data", "errors"}`` for one request (synchronous: the reads are blocking)."""
    try:
        document = parse(source)
    except GraphQLError as exc:
        return {"data": None, "errors": [exc.formatted]}
    problems = validate(SCHEMA, document, RULES)
    if problems:
        return {"data": None, "errors": [p.formatted for p in problems]}
    result = execute_sync(
        SCHEMA,
        document,
        variable_values=variables,
        operation_name=operation_name,
        context_value={"analytics": service, "account_id": account_id},
    )
    answer: dict[str, Any] = {"data": result.data, "errors": None}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    return answer
