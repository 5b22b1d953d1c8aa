"""Object listings over the index: prefix, delimiter (common prefixes), key-ordered pagination."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from objectstore.service.errors import NoSuchBucket
from objectstore.store.repo import ObjectRepository, prefix_end

_LOOKAHEAD = 2  # rows fetched after jumping over a common prefix: the next key often starts another one


@dataclass(frozen=True, slots=True)
class ListedObject:
    """What a listing shows of an object (a narrow row: listings never load metadata they do not print)."""

    key: str  # as last uploaded
    size: int
    etag: str
    last_modified: float
    storage_class: str


@dataclass(slots=True)
class Listing:
    objects: list[ListedObject] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    last: str = ""  # identity of the last key or common prefix returned: the next page starts after it

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.common_prefixes)


def _resume_point(prefix: str, delimiter: str, after: str) -> tuple[str, bool]:
    """Where a page starts: after ``after``, or past every key under it when it is a common prefix."""
    if after and delimiter and after.startswith(prefix) and after.endswith(delimiter):
        rest = after[len(prefix) :]
        if rest.find(delimiter) + len(delimiter) == len(rest):
            end = prefix_end(after)
            if end is not None:
                return end, True
    return after, False


def list_objects(
    repo: ObjectRepository, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
) -> Listing:
    """Up to ``max_keys`` entries (objects and common prefixes) with keys > ``after`` (blocking).

    ``prefix`` and ``after`` are NFC identities; ``Listing.last`` is one too (the continuation point). A common
    prefix counts once and the scan jumps past all its keys with one index seek, then looks only a few rows
    ahead, so a page of N common prefixes costs N small seeks rather than N full batches.
    """
    with repo.db.read() as conn:  # one snapshot (and one connection) for the whole page
        if repo.get_bucket(bucket, conn) is None:
            raise NoSuchBucket(BucketName=bucket)
        return _page(repo, conn, bucket, prefix, delimiter, after, max_keys)


def _page(
    repo: ObjectRepository,
    conn: Connection,
    bucket: str,
    prefix: str,
    delimiter: str,
    after: str,
    max_keys: int,
) -> Listing:
    out = Listing()
    if max_keys == 0:
        return out  # as S3: nothing, and not truncated
    cursor, inclusive = _resume_point(prefix, delimiter, after)
    limit = max_keys + 1  # one more than fits tells whether the listing is truncated
    if delimiter:
        # Any row may open a common prefix that ends the batch: start small and double while rows are objects.
        limit = min(limit, _LOOKAHEAD)
    while True:
        rows = repo.list_keys(bucket, prefix, cursor, limit, inclusive, conn)
        jumped = False
        for row in rows:
            if out.count == max_keys:
                out.is_truncated = True
                return out
            common = _add(out, row, prefix, delimiter)
            if common is not None:
                end = prefix_end(common)
                if end is None:
                    return out
                # Past a common prefix, the rest of the page in one statement where the backend can walk it.
                walked = repo.walk_keys(bucket, prefix, delimiter, end, max_keys - out.count + 1, conn)
                if walked is not None:
                    for entry in walked:
                        if out.count == max_keys:
                            out.is_truncated = True
                            break
                        _add(out, entry, prefix, delimiter)
                    return out
                cursor, inclusive, jumped = end, True, True
                break
        if not jumped:
            if len(rows) < limit:
                return out
            cursor, inclusive = rows[-1].key, False
        limit = min(max_keys - out.count + 1, _LOOKAHEAD if jumped else limit * 2)


def _add(out: Listing, row: Any, prefix: str, delimiter: str) -> str | None:
    """Adds a listing row as an object, or as the common prefix it opens (returned, as an identity)."""
    cut = row.key.find(delimiter, len(prefix)) if delimiter else -1
    if cut < 0:
        out.objects.append(
            ListedObject(row.key_raw, row.size, row.etag, row.last_modified, row.storage_class)
        )
        out.last = row.key
        return None
    common: str = row.key[: cut + len(delimiter)]
    raw_cut = row.key_raw.find(delimiter, len(prefix))
    out.common_prefixes.append(row.key_raw[: raw_cut + len(delimiter)] if raw_cut >= 0 else common)
    out.last = common
    return common
