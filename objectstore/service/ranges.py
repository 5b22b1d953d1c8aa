"""HTTP Range header (a single byte range, as S3 serves)."""

from __future__ import annotations

from objectstore.service.errors import InvalidRange


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for a satisfiable range, None to serve the whole object; InvalidRange if unsatisfiable.

    As S3: a syntactically invalid or multi-range header is ignored (the whole object is served).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 and size > 0:
                raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
            if size == 0:
                raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
            return max(0, size - suffix), size - 1
        start = int(first)
        end = int(last) if last != "" else size - 1
    except ValueError:
        return None
    if start < 0 or (last != "" and end < start):
        return None
    if start >= size:
        raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
    return start, min(end, size - 1)
