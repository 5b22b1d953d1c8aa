"""Identifiers, page tokens and table locations."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence

from catalog.errors import BadRequest, InvalidArgument
from catalog.service.locations import CATALOG_AREA, file_key, table_location

SEP = "\x1f"
LAKEBOX_ROOT = CATALOG_AREA
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_PAGE_SIZE = 1000
MAX_NAME_BYTES = 255  # a table or view name, and a namespace level (documented in catalog/README.md)
MAX_NAMESPACE_BYTES = 255  # a namespace's levels together, joined with 0x1F


def namespace_name(levels: Sequence[str]) -> str:
    """The stored name of a namespace: its levels joined with 0x1F."""
    if not levels:
        raise BadRequest("Namespace must have at least one level")
    for level in levels:
        if not isinstance(level, str) or not level or SEP in level:
            raise BadRequest(f"Invalid namespace level: {_short(level)}")
        _check_length(level, "namespace level", MAX_NAME_BYTES)
    name = SEP.join(levels)
    _check_length(name, "namespace", MAX_NAMESPACE_BYTES)
    return name


def parse_namespace_param(raw: str) -> tuple[str, ...]:
    """Decodes the ``{namespace}`` path segment (already percent-decoded): levels joined by 0x1F."""
    levels = raw.split(SEP)
    if any(not level for level in levels):
        raise BadRequest(f"Invalid namespace: {_short(raw)}")
    namespace_name(levels)
    return tuple(levels)


def check_name(name: object, what: str = "table") -> str:
    if not isinstance(name, str) or not name or SEP in name:
        raise BadRequest(f"Invalid {what} name: {_short(name)}")
    _check_length(name, f"{what} name", MAX_NAME_BYTES)
    return name


def _check_length(value: str, what: str, limit: int) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate (JSON allows "\ud800")
        raise BadRequest(f"Invalid {what}: not valid UTF-8 text: {_short(value)}") from exc
    if size > limit:
        raise BadRequest(f"Invalid {what}: longer than {limit} bytes ({size}): {_short(value)}")
    if "\x00" in value:  # no database can store it in a text column (PostgreSQL refuses it)
        raise BadRequest(f"Invalid {what}: contains a NUL character: {_short(value)}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:100] + "...'"


def dotted(levels: Sequence[str]) -> str:
    return ".".join(levels)


def encode_page_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode().rstrip("=")


def decode_page_token(token: str | None) -> str | None:
    if token is None or token == "":
        return None
    try:
        last = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Invalid pageToken: {_short(token)}") from exc
    if "\x00" in last or len(last) > 4 * MAX_NAMESPACE_BYTES:
        raise BadRequest(f"Invalid pageToken: {_short(token)}")
    return last


def check_page_size(size: int | None) -> int | None:
    if size is None:
        return None
    if size < 1:
        raise InvalidArgument(f"Invalid page size: {size} (must be a positive integer)")
    return min(size, MAX_PAGE_SIZE)


def warehouse_root(bucket: str) -> str:
    return f"s3://{bucket}"


def new_location(bucket: str, namespace: Sequence[str], name: str) -> str:
    """A fresh location for a table or view: unique (a random UUID), so never reused after a drop."""
    ns = ".".join(_UNSAFE.sub("_", level) for level in namespace)
    if ns in (".", ".."):  # a namespace named "." or "..": a folder name no location may hold
        ns = ns.replace(".", "_")
    return f"s3://{bucket}/{LAKEBOX_ROOT}/{ns}/{_UNSAFE.sub('_', name)}-{uuid.uuid4().hex}"


def check_location(location: str, bucket: str) -> str:
    """A table's or view's location, checked by the location policy (``catalog.service.locations``)."""
    return table_location(location, bucket)


def check_metadata_file_location(path: object, bucket: str) -> str:
    """A metadata file to register: a key inside the warehouse (its table's location is checked once read)."""
    return file_key(path, bucket, "metadata-location")


def key_of(location: str, bucket: str) -> str:
    """The object key (prefix) a location inside ``bucket`` names."""
    root = warehouse_root(bucket) + "/"
    if not location.startswith(root):
        raise BadRequest(f"Location {_short(location)} is outside the warehouse {root!r}")
    return location[len(root) :]


def new_metadata_location(location: str, previous: str | None) -> str:
    version = 0
    if previous:
        match = re.match(r"(\d+)-", previous.rsplit("/", 1)[-1])
        version = int(match.group(1)) + 1 if match else 0
    return f"{location.rstrip('/')}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"
