"""Where a table's (or view's) files may live: the one place every location the catalog accepts is checked.

A table owns the keys under ``<location>/`` and nothing else. Its location is an ``s3://`` URI in the warehouse
bucket, never the bucket root and never a prefix of the catalog's own area (``__lakebox/`` and its namespace
folders, where the catalog assigns locations); every path its metadata names (manifest lists, statistics files,
the ``write.*.path`` properties, metadata files) lies inside it; no two live tables or views overlap (checked by
the repository in the write transaction). ``file://``, other buckets, ``..``/``.`` segments (also
percent-encoded), empty segments, ``?``/``#`` (clients parse them as URI parts) and control characters are
refused, so what a client reads or writes under a location is exactly the key range checked here.

Keys compare by their identity (NFC, as the object store does), so two spellings never escape the check."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from catalog.errors import BadRequest

SCHEME = "s3://"
CATALOG_AREA = "__lakebox"  # assigned locations: __lakebox/<namespace>/<name>-<uuid>
MAX_LOCATION_KEY_BYTES = 640  # a table's location (as a key); its files need room below S3's 1,024-byte keys
MAX_KEY_BYTES = 1024  # any file path (S3's key limit)
PATH_PROPERTIES = ("write.data.path", "write.metadata.path", "write.object-storage.path")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f?#\\]")


def table_location(location: object, bucket: str, what: str = "Location") -> str:
    """A table's or view's root location, normalised (NFC, no trailing ``/``); BadRequest when not allowed."""
    key = _key(location, bucket, what, MAX_LOCATION_KEY_BYTES).rstrip("/")
    if not key:
        raise BadRequest(
            f"{what} {_show(location)} is the warehouse root; a table needs a location inside it"
        )
    segments = key.split("/")
    if segments[0] == CATALOG_AREA and len(segments) < 3:
        raise BadRequest(
            f"{what} {_show(location)} covers the catalog's own area ({SCHEME}{bucket}/{CATALOG_AREA}/)"
        )
    return f"{SCHEME}{bucket}/{key}"


def key_prefix(location: str, bucket: str) -> str:
    """The key prefix a table owns (``<key>/``): what vended credentials and purges are limited to."""
    return table_location(location, bucket)[len(SCHEME) + len(bucket) + 1 :] + "/"


def file_key(path: object, bucket: str, what: str) -> str:
    """The key of a file path in the warehouse bucket (any file; whose table it is, is checked apart)."""
    return _key(path, bucket, what, MAX_KEY_BYTES)


def check_inside(path: object, location: str, bucket: str, what: str) -> str:
    """``path`` names a file (or folder) inside ``location``; returns its key."""
    key = _key(path, bucket, what, MAX_KEY_BYTES)
    prefix = key_prefix(location, bucket)
    if not (key.rstrip("/") + "/").startswith(prefix):
        raise BadRequest(f"{what} {_show(path)} is outside the table's location {location!r}")
    return key


def is_inside(path: str, location: str, bucket: str) -> bool:
    try:
        check_inside(path, location, bucket, "path")
    except BadRequest:
        return False
    return True


def overlaps(a: str, b: str) -> bool:
    """Two normalised locations overlap when one is (or lies inside) the other."""
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def property_paths(properties: dict[str, str]) -> Iterator[tuple[str, str]]:
    for name in PATH_PROPERTIES:
        if name in properties:
            yield f"Property {name!r}", properties[name]


def file_paths(doc: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """Every file a table metadata document (JSON) names: manifest lists, statistics and metadata-log files."""
    for snapshot in _dicts(doc.get("snapshots")):
        if "manifest-list" in snapshot:
            yield "Manifest list", snapshot["manifest-list"]
        for manifest in snapshot.get("manifests") or []:  # format v1 may list manifests inline
            yield "Manifest", manifest
    for stats in _dicts(doc.get("statistics")):
        yield "Statistics path", stats.get("statistics-path")
    for stats in _dicts(doc.get("partition-statistics")):
        yield "Partition statistics path", stats.get("statistics-path")
    for entry in _dicts(doc.get("metadata-log")):
        yield "Metadata log file", entry.get("metadata-file")


def check_metadata_paths(doc: dict[str, Any], bucket: str, known: frozenset[str] = frozenset()) -> str:
    """Checks a table metadata document: its location, the path properties, and every file path it names
    that is not in ``known`` (paths an earlier version already had are not checked again). Returns the
    normalised location."""
    location = table_location(doc.get("location"), bucket)
    properties = doc.get("properties") or {}
    for what, prop in property_paths(properties if isinstance(properties, dict) else {}):
        check_inside(prop, location, bucket, what)
    for what, path in file_paths(doc):
        if path not in known:
            check_inside(path, location, bucket, what)
    return location


def known_paths(doc: dict[str, Any] | None) -> frozenset[str]:
    if doc is None:
        return frozenset()
    return frozenset(p for _, p in file_paths(doc) if isinstance(p, str))


def _key(value: object, bucket: str, what: str, max_bytes: int) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{what} must be a non-empty string")
    if len(value.encode("utf-8", "surrogatepass")) > max_bytes + len(SCHEME) + len(bucket) + 1:
        raise BadRequest(f"{what} is longer than {max_bytes} bytes: {_show(value)}")
    root = f"{SCHEME}{bucket}/"
    if not value.startswith(root):
        raise BadRequest(f"{what} {_show(value)} is outside the warehouse {root!r}")
    key = value[len(root) :]
    if _FORBIDDEN.search(key):
        raise BadRequest(f"{what} {_show(value)} contains a character not allowed in a location")
    try:
        key = unicodedata.normalize("NFC", key)
    except UnicodeError as exc:  # lone surrogates
        raise BadRequest(f"{what} {_show(value)} is not valid text") from exc
    for segment in key.rstrip("/").split("/"):
        decoded = _fully_unquoted(segment)
        if not segment or decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise BadRequest(f"{what} {_show(value)} has an empty, '.' or '..' segment")
    return key


def _fully_unquoted(segment: str) -> str:
    for _ in range(4):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(segment)
        if decoded == segment:
            break
        segment = decoded
    return segment


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "...'"
