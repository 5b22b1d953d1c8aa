"""S3 XML: responses built from string templates with escaping (much faster than a tree), and request bodies
parsed with defusedxml under a size limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from email.utils import formatdate
from functools import lru_cache
from urllib.parse import quote
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from objectstore.service.errors import MalformedXML

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_XML_BODY = 2 * 1024 * 1024

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def escape(value: str) -> str:
    return value.translate(_ESCAPES)


# Characters XML 1.0 cannot carry at all, not even as references (and lone surrogates, which UTF-8 cannot).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_any(value: str) -> str:
    """``escape`` for text that may hold anything (a key or value echoed in an error): characters XML cannot
    carry become U+FFFD, so the document stays well-formed."""
    return _NOT_XML.sub("\ufffd", value).translate(_ESCAPES)


@lru_cache(maxsize=8192)
def _iso_seconds(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def iso8601(ts: float) -> str:
    """``2009-10-12T17:50:30.123Z``; listings print thousands, so the seconds part is cached."""
    return f"{_iso_seconds(int(ts))}.{int(ts * 1000) % 1000:03d}Z"


def http_date(ts: float) -> str:
    return _http_date(int(ts))


@lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def url_encode(value: str) -> str:
    """``encoding-type=url`` as S3 applies it: percent-encoding of UTF-8 with '/' kept (a space is %20)."""
    return quote(value, safe="/")


def document(root: str, inner: str) -> bytes:
    return f'{HEADER}<{root} xmlns="{NS}">{inner}</{root}>'.encode()


def elements(**values: str | int | bool | None) -> str:
    """``<Name>value</Name>`` for each value that is not None (bools as true/false)."""
    out = []
    for name, value in values.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else escape(str(value))
        out.append(f"<{name}>{text}</{name}>")
    return "".join(out)


def parse(body: bytes) -> Element:
    """Parses a request body; malformed or oversized XML (or DTDs/entities) is MalformedXML."""
    if len(body) > MAX_XML_BODY or not body.strip():
        raise MalformedXML()
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except Exception:
        raise MalformedXML() from None
    return root


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> Iterable[Element]:
    return (child for child in element if local(child.tag) == name)


def child_text(element: Element, name: str) -> str | None:
    for child in children(element, name):
        return child.text or ""
    return None
