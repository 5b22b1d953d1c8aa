"""Metadata written exactly: what pyiceberg's model does not know survives every commit.

pyiceberg parses a metadata document into its model, applies the updates there and dumps the result; whatever
its model drops (fields other writers add, keys of later spec versions, its own normalisations) would be lost.
``merge_unmodelled`` is a three-way merge: where the update left pyiceberg's view of a value unchanged the
original JSON is kept as written, and where it changed it the new value is taken, keeping the original's keys
that pyiceberg's model never saw."""

from __future__ import annotations

from typing import Any

from pyiceberg.typedef import IcebergBaseModel

ID_KEYS = ("snapshot-id", "schema-id", "spec-id", "order-id", "view-version-id", "key-id", "timestamp-ms")
"""What identifies an element of a metadata list (snapshots, schemas, specs, statistics, log entries, ...)."""


def model_json(metadata: IcebergBaseModel) -> str:
    """The JSON of pyiceberg's metadata model, for every format version (pyiceberg refuses to dump v3 metadata
    only so that its own clients do not write it; the model itself is complete)."""
    return str(IcebergBaseModel.model_dump_json(metadata, by_alias=True, exclude_none=True))


def merge_unmodelled(original: Any, before: Any, after: Any) -> Any:
    """``after`` (pyiceberg's dump after the updates) with what pyiceberg did not model taken from ``original``
    (the document as stored), given ``before`` (pyiceberg's dump of ``original``)."""
    if before == after:
        return original
    if isinstance(original, dict) and isinstance(before, dict) and isinstance(after, dict):
        merged = {}
        for key, value in after.items():
            if key in before and key in original:
                merged[key] = merge_unmodelled(original[key], before[key], value)
            else:
                merged[key] = value
        for key, value in original.items():
            if key not in before and key not in merged:  # unknown to pyiceberg: it cannot have changed it
                merged[key] = value
        return merged
    if isinstance(original, list) and isinstance(before, list) and isinstance(after, list):
        return _merge_lists(original, before, after)
    return after


def _merge_lists(original: list[Any], before: list[Any], after: list[Any]) -> list[Any]:
    """Each element of ``after`` is paired with the element of ``before`` it came from: the next one in order
    when equal (a walk in step, linear for the long lists: snapshots, logs), else one of the same identity (id
    key) or value."""
    if len(original) != len(before):  # pyiceberg dropped or added elements when it parsed: nothing to pair
        return after
    by_identity: dict[Any, list[int]] | None = None
    used: set[int] = set()
    merged = []
    cursor = 0
    for item in after:
        index: int | None = None
        if cursor < len(before) and cursor not in used and before[cursor] == item:
            index = cursor
        else:
            if by_identity is None:
                by_identity = {}
                for i, candidate in enumerate(before):
                    by_identity.setdefault(_identity(candidate), []).append(i)
            index = _counterpart(item, before, by_identity.get(_identity(item), []), used)
        if index is None:
            merged.append(item)
        else:
            used.add(index)
            cursor = index + 1
            merged.append(merge_unmodelled(original[index], before[index], item))
    return merged


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for key in ID_KEYS:
            if key in item:
                value = item[key]
                return (key, value) if isinstance(value, int | str) else (key,)
        return ("no id",)
    return ("value", item) if isinstance(item, int | str | float | bool) or item is None else ("other",)


def _counterpart(item: Any, before: list[Any], same_identity: list[int], used: set[int]) -> int | None:
    keyed = isinstance(item, dict) and _identity(item)[0] in ID_KEYS
    for i in same_identity:
        if i not in used and (keyed or before[i] == item):
            return i
    return None


def merged_json(original: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The document to write after a commit: ``after`` (pyiceberg's dump after the updates) merged into
    ``original`` (the stored document), given ``before`` (pyiceberg's dump of it). A new top-level dict; nested
    values may be shared with the inputs, which are never changed."""
    merged = merge_unmodelled(original, before, after)
    return dict(merged) if merged is original or merged is after else merged
