"""HTTP preconditions (RFC 9110 section 13.2.2 order) for reads and for R2's conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from objectstore.service.errors import NotModified, PreconditionFailed


@dataclass(frozen=True, slots=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: float | None = None
    if_unmodified_since: float | None = None

    @property
    def empty(self) -> bool:
        return (
            self.if_match is None
            and self.if_none_match is None
            and (self.if_modified_since is None and self.if_unmodified_since is None)
        )


def parse_http_date(value: str | None) -> float | None:
    """An HTTP date as a timestamp; an unparseable date is ignored, as S3 does."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _etags(header: str) -> list[str]:
    out = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        out.append(tag.strip('"'))
    return out


def _matches(header: str, etag: str | None) -> bool:
    tags = _etags(header)
    return etag is not None and ("*" in tags or etag in tags)


def check_read(cond: Conditions, etag: str, last_modified: float) -> None:
    """GET/HEAD: 412 for If-Match/If-Unmodified-Since, 304 for If-None-Match/If-Modified-Since."""
    modified = int(last_modified)  # HTTP dates have one-second resolution
    if cond.if_match is not None:
        if not _matches(cond.if_match, etag):
            raise PreconditionFailed(Condition="If-Match")
    elif cond.if_unmodified_since is not None and modified > cond.if_unmodified_since:
        raise PreconditionFailed(Condition="If-Unmodified-Since")
    not_modified = (
        _matches(cond.if_none_match, etag)
        if cond.if_none_match is not None
        else cond.if_modified_since is not None and modified <= cond.if_modified_since
    )
    if not_modified:
        # A 304 still names the representation it stands for (RFC 9110 section 15.4.5).
        raise NotModified(ETag=f'"{etag}"', LastModified=formatdate(modified, usegmt=True))


def check_write(cond: Conditions, etag: str | None, last_modified: float | None) -> None:
    """Conditional PUT/complete/copy destination: every failure is 412 PreconditionFailed, as R2 documents for
    conditional PutObject ("when the preceding state of the object ... does not match"), including If-Match on
    a key that does not exist (where AWS answers 404 NoSuchKey)."""
    if cond.if_match is not None and not _matches(cond.if_match, etag):
        raise PreconditionFailed(Condition="If-Match")
    if cond.if_none_match is not None and (
        etag is not None and ("*" in _etags(cond.if_none_match) or etag in _etags(cond.if_none_match))
    ):
        raise PreconditionFailed(Condition="If-None-Match")
    if last_modified is not None:
        modified = int(last_modified)
        if cond.if_unmodified_since is not None and modified > cond.if_unmodified_since:
            raise PreconditionFailed(Condition="If-Unmodified-Since")
        if cond.if_modified_since is not None and modified <= cond.if_modified_since:
            raise PreconditionFailed(Condition="If-Modified-Since")
    elif cond.if_unmodified_since is not None or cond.if_modified_since is not None:
        # Time conditions on a missing object cannot hold.
        raise PreconditionFailed(Condition="If-Unmodified-Since")


def check_copy_source(cond: Conditions, etag: str, last_modified: float) -> None:
    """``x-amz-copy-source-if-*``: the read precedence, but every failure is 412 (a copy has no 304)."""
    try:
        check_read(cond, etag, last_modified)
    except NotModified:
        raise PreconditionFailed(Condition="x-amz-copy-source-If-None-Match") from None
