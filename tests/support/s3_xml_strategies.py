"""Hypothesis strategies for the XML bodies S3 takes (DeleteObjects, CompleteMultipartUpload, PutBucketCors,
PutBucketLifecycleConfiguration, CreateBucket): documents in each body's shape with fuzzed values, free-form trees
in its vocabulary, arbitrary bytes, and byte-level mutations of all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

VOCABULARY = {
    "Delete": ["Object", "Key", "VersionId", "Quiet", "ETag", "LastModifiedTime", "Size"],
    "CompleteMultipartUpload": [
        "Part", "PartNumber", "ETag", "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1",
        "ChecksumSHA256",
    ],
    "CORSConfiguration": [
        "CORSRule", "ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds",
    ],
    "LifecycleConfiguration": [
        "Rule", "ID", "Filter", "Prefix", "And", "Tag", "Key", "Value", "ObjectSizeGreaterThan", "Status",
        "Expiration", "Days", "Date", "ExpiredObjectDeleteMarker", "Transition", "StorageClass",
        "AbortIncompleteMultipartUpload", "DaysAfterInitiation", "NoncurrentVersionExpiration",
    ],
    "CreateBucketConfiguration": ["LocationConstraint", "Location", "Bucket", "Type", "Name", "DataRedundancy"],
}  # fmt: skip
XML_VALUES = [
    "", "*", "GET", "PUT", "HEAD", "DELETE", "POST", "PATCH", "https://app.example", "http://*.example:*",
    "Enabled", "Disabled", "true", "false", "1", "0", "-3", "10000", "10001", "9" * 30, "7", "auto", "weur",
    "STANDARD_IA", "GLACIER", "2030-01-01T00:00:00Z", "2030-01-01T10:00:00Z", "not a date", "keep", "dir/",
    '"d41d8cd98f00b204e9800998ecf8427e"', "AAAAAA==", "x-amz-meta-a", "Content-Type", "a" * 300,
]  # fmt: skip


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "&<>":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[ch])
        elif ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF or ord(ch) in (0xFFFE, 0xFFFF):
            out.append(f"&#x{ord(ch):x};")  # a reference XML 1.0 refuses for most of these: MalformedXML
        else:
            out.append(ch)
    return "".join(out)


Node = tuple[str, Any]  # (tag, text) or (tag, [children])


@dataclass(frozen=True)
class Part:
    strategy: st.SearchStrategy[Node]
    least: int = 0  # how many times at least (a required element: 1)


def _leaf(tag: str, values: list[str], least: int = 0) -> Part:
    """An element with text: mostly a plausible value, sometimes any S3-ish value or any text at all."""
    plausible = st.sampled_from(values)
    value = st.one_of(plausible, plausible, plausible, st.sampled_from(XML_VALUES), st.text(max_size=20))
    return Part(st.tuples(st.just(tag), value), least)


def _element(tag: str, children: st.SearchStrategy[list[Node]], least: int = 0) -> Part:
    return Part(st.tuples(st.just(tag), children), least)


def _some(*parts: Part, most: int = 2) -> st.SearchStrategy[list[Node]]:
    """Each part ``least``..``most`` times, in order: the shape of the documents S3 takes."""
    lists = [st.lists(p.strategy, min_size=p.least, max_size=max(most, p.least)) for p in parts]
    return st.tuples(*lists).map(lambda groups: [node for group in groups for node in group])


_ORIGINS = ["*", "https://app.example", "http://*.example.com", "https://a.example:8080", "app.example"]
_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "get"]
_HEADER_NAMES = ["*", "content-type", "x-amz-*", "Authorization", "x-amz-meta-a", "ETag"]
_DAYS = ["1", "7", "0", "-1", "30", "9" * 12, "\u00b2", "\u0661", "9" * 5000, "0" * 5000 + "1", "1_0"]
_DATES = ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z", "2030-01-01", "2030-13-01T00:00:00Z"]
_CHECKSUMS = ["AAAAAA==", "AAAAAAAAAAA=", "not base64", ""]

STRUCTURED: dict[str, st.SearchStrategy[list[Node]]] = {
    "CORSConfiguration": _some(
        _element(
            "CORSRule",
            _some(
                _leaf("ID", ["rule-1"]),
                _leaf("AllowedOrigin", _ORIGINS, 1),
                _leaf("AllowedMethod", _METHODS, 1),
                _leaf("AllowedHeader", _HEADER_NAMES),
                _leaf("ExposeHeader", _HEADER_NAMES),
                _leaf("MaxAgeSeconds", _DAYS),
            ),
            1,
        ),
        most=3,
    ),
    "LifecycleConfiguration": _some(
        _element(
            "Rule",
            _some(
                _leaf("ID", ["r1", "r2"]),
                _element(
                    "Filter",
                    _some(
                        _leaf("Prefix", ["logs/", "", "dir/"]),
                        _element("Tag", _some(_leaf("Key", ["k"]), _leaf("Value", ["v"]), most=1)),
                        _leaf("ObjectSizeGreaterThan", _DAYS),
                        most=1,
                    ),
                ),
                _leaf("Prefix", ["old/", ""]),
                _leaf("Status", ["Enabled", "Disabled"], 1),
                _element(
                    "Expiration",
                    _some(
                        _leaf("Days", _DAYS),
                        _leaf("Date", _DATES),
                        _leaf("ExpiredObjectDeleteMarker", ["true"]),
                        most=1,
                    ),
                ),
                _element(
                    "Transition",
                    _some(
                        _leaf("Days", _DAYS),
                        _leaf("Date", _DATES),
                        _leaf("StorageClass", ["STANDARD_IA", "GLACIER"]),
                        most=1,
                    ),
                ),
                _element(
                    "AbortIncompleteMultipartUpload", _some(_leaf("DaysAfterInitiation", _DAYS), most=1)
                ),
                most=1,
            ),
            1,
        ),
        most=3,
    ),
    "Delete": _some(
        _leaf("Quiet", ["true", "false"]),
        _element(
            "Object",
            _some(
                _leaf("Key", ["keep", "k", "dir/a", "gone", "x" * 1100], 1),
                _leaf("VersionId", ["null"]),
                most=1,
            ),
            1,
        ),
        most=4,
    ),
    "CompleteMultipartUpload": _some(
        _element(
            "Part",
            _some(
                _leaf("PartNumber", ["1", "2", "0", "10001", "-1", " 1 "], 1),
                _leaf("ETag", ['"d41d8cd98f00b204e9800998ecf8427e"', "etag"], 1),
                _leaf("ChecksumCRC32", _CHECKSUMS),
                _leaf("ChecksumSHA256", _CHECKSUMS),
                most=1,
            ),
            1,
        ),
        most=3,
    ),
    "CreateBucketConfiguration": _some(
        _leaf("LocationConstraint", ["auto", "weur", "WNAM", "", "us-east-1", "mars"]),
        _element("Bucket", _some(_leaf("Type", ["Directory"]), most=1)),
        most=1,
    ),
}


def _free_trees(root: str) -> st.SearchStrategy[list[Node]]:
    tags = st.sampled_from(VOCABULARY[root]) | st.sampled_from([t for v in VOCABULARY.values() for t in v])
    tags |= st.text("AZaz_09.-", min_size=1, max_size=10).map("X".__add__)
    text = st.sampled_from(XML_VALUES) | st.text(max_size=20)
    tree = st.recursive(
        st.tuples(tags, text), lambda children: st.tuples(tags, st.lists(children, max_size=6)), max_leaves=25
    )
    return st.lists(tree, max_size=6)


FREE = {root: _free_trees(root) for root in VOCABULARY}
_roots = st.sampled_from(sorted(VOCABULARY))
_xml_shapes = st.sampled_from(["structured"] * 6 + ["free", "binary"])
_namespaces = st.sampled_from(["", ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', ' xmlns="urn:x"'])
_declarations = st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n'])
_mutations = st.sampled_from(["none"] * 7 + ["truncate", "insert", "flip", "entity"])
_junk = st.binary(min_size=1, max_size=8)
_binary = st.binary(max_size=300)
_free_tops = st.sampled_from(["Error", "X", "Delete", "Part"])


def _render(node: Node) -> str:
    tag, content = node
    inner = _escape(content) if isinstance(content, str) else "".join(_render(c) for c in content)
    return f"<{tag}>{inner}</{tag}>"


@st.composite
def xml_document(draw: st.DrawFn, root: str | None = None) -> bytes:
    """A document in the shape of one S3 body with fuzzed values, sometimes of an arbitrary shape in its
    vocabulary, then perhaps mutated at the byte level."""
    root = root or draw(_roots)
    shape = draw(_xml_shapes)
    if shape == "binary":
        return draw(_binary)
    top = root if shape == "structured" or draw(st.booleans()) else draw(_free_tops)
    nodes = draw(STRUCTURED[root] if shape == "structured" else FREE[root])
    children = "".join(_render(c) for c in nodes)
    document = f"{draw(_declarations)}<{top}{draw(_namespaces)}>{children}</{top}>".encode(
        "utf-8", "surrogatepass"
    )
    mutation = draw(_mutations)
    if mutation == "truncate" and document:
        document = document[: draw(st.integers(0, len(document) - 1))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(document)))
        document = document[:at] + draw(_junk) + document[at:]
    elif mutation == "flip" and document:
        at = draw(st.integers(0, len(document) - 1))
        document = document[:at] + bytes([draw(st.integers(0, 255))]) + document[at + 1 :]
    elif mutation == "entity":
        document = b'<!DOCTYPE d [<!ENTITY e "' + b"x" * 50 + b'">]>' + document.replace(b"</", b"&e;</", 1)
    return document
