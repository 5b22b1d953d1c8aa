"""Object listings over the index: prefix, delimiter (common prefixes), key-ordered pagination."""

from __future__ import annotations

from dataclasses import dataclass, field

from objectstore.service.errors import NoSuchBucket
from objectstore.service.model import ObjectMeta
from objectstore.store.repo import ObjectRepository, prefix_end

_BATCH = 1000


@dataclass(slots=True)
class Listing:
    objects: list[ObjectMeta] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    last: str = ""  # identity of the last key or common prefix returned: the next page starts after it

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.common_prefixes)


def list_objects(
    repo: ObjectRepository, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
) -> Listing:
    """Up to ``max_keys`` entries (objects and common prefixes) with keys > ``after`` (blocking).

    ``prefix`` and ``after`` are NFC identities; ``Listing.last`` is one too (the continuation point). A common
    prefix counts once and the scan jumps past all its keys with one index seek.
    """
    if repo.get_bucket(bucket) is None:
        raise NoSuchBucket(BucketName=bucket)
    out = Listing()
    cursor, inclusive = after, False
    if after and delimiter and after.startswith(prefix):
        # Resume after a common prefix: skip every key under it.
        rest = after[len(prefix) :]
        cut = rest.find(delimiter)
        if cut >= 0 and after.endswith(delimiter) and cut + len(delimiter) == len(rest):
            end = prefix_end(after)
            if end is not None:
                cursor, inclusive = end, True
    if max_keys == 0:
        rows = repo.list_objects(bucket, prefix, cursor, 1, inclusive)
        out.is_truncated = bool(rows)
        return out
    while True:
        rows = repo.list_objects(bucket, prefix, cursor, _BATCH, inclusive)
        if not rows:
            return out
        jumped = False
        for row in rows:
            if out.count == max_keys:
                out.is_truncated = True
                return out
            if delimiter:
                cut = row.key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = row.key[: cut + len(delimiter)]
                    raw_cut = row.key_raw.find(delimiter, len(prefix))
                    out.common_prefixes.append(
                        row.key_raw[: raw_cut + len(delimiter)] if raw_cut >= 0 else common
                    )
                    out.last = common
                    end = prefix_end(common)
                    if end is None:
                        return out
                    cursor, inclusive, jumped = end, True, True
                    break
            out.objects.append(ObjectMeta.from_row(row))
            out.last = row.key
        if not jumped:
            if len(rows) < _BATCH:
                return out
            cursor, inclusive = rows[-1].key, False
