"""Bucket configuration R2 keeps through the S3 API: CORS rules and object lifecycle rules.

A configuration is stored as the element tree the client sent (validated), so a GET returns it in the client's
own shape (legacy rule-level ``Prefix`` or ``Filter``); rules without an ``ID`` get one.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import Any

from objectstore.service.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
    NoSuchBucket,
    NoSuchCORSConfiguration,
    NoSuchLifecycleConfiguration,
)
from objectstore.service.fields import check_field_value
from objectstore.store.repo import ObjectRepository

# A node: [tag, text] for a leaf, [tag, [children...]] for an element with children.
Node = list[Any]

CORS_METHODS = {"GET", "PUT", "POST", "DELETE", "HEAD"}
_CORS_FIELDS = {"ID", "AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"}
_ORIGIN = re.compile(r"\*|(https?://)?[A-Za-z0-9*.\-_]+(:(\d+|\*))?")
MAX_RULES = 1000
LIFECYCLE_DELETED = "null"  # the lifecycle column after DeleteBucketLifecycle (NULL: never configured)
_FILTER_FIELDS = {"Prefix"}
LIFECYCLE_STORAGE_CLASSES = {"STANDARD_IA"}

# What R2 answers for a bucket without a lifecycle configuration: its default rule.
DEFAULT_LIFECYCLE: list[Node] = [
    [
        "Rule",
        [
            ["ID", "Default Multipart Abort Rule"],
            ["Filter", [["Prefix", ""]]],
            ["Status", "Enabled"],
            ["AbortIncompleteMultipartUpload", [["DaysAfterInitiation", "7"]]],
        ],
    ]
]


def children(node: Node, tag: str) -> list[Node]:
    return [c for c in node[1] if c[0] == tag] if isinstance(node[1], list) else []


def text(node: Node, tag: str) -> str | None:
    found = children(node, tag)
    return found[0][1] if found and isinstance(found[0][1], str) else None


def rule_prefix(node: Node) -> str:
    """A lifecycle rule's key prefix, wherever S3 lets it stand (``Filter``, ``Filter/And``, or the rule)."""
    for filt in children(node, "Filter"):
        found = text(filt, "Prefix")
        if found is not None:
            return found
        for conj in children(filt, "And"):
            return text(conj, "Prefix") or ""
    return text(node, "Prefix") or ""


def _count(text: str) -> int | None:
    """A non-negative xsd:int in ASCII digits (``isdigit`` also takes digits ``int`` refuses, such as "²")."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= 10 and int(digits) <= 2**31 - 1 else None


def _check_cors(rules: list[Node]) -> None:
    if not rules or len(rules) > 100:
        raise MalformedXML()
    for rule in rules:
        if rule[0] != "CORSRule" or not isinstance(rule[1], list):
            raise MalformedXML()
        for field in rule[1]:
            if field[0] not in _CORS_FIELDS or not isinstance(field[1], str):
                raise MalformedXML()  # R2 rejects unknown keys
            check_field_value(field[0], field[1])  # every value may end up in a response header
        methods = [m[1] for m in children(rule, "AllowedMethod")]
        origins = [o[1] for o in children(rule, "AllowedOrigin")]
        if not methods or not origins:
            raise MalformedXML()
        for method in methods:
            if method not in CORS_METHODS:
                raise InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
        for origin in origins:
            if not _ORIGIN.fullmatch(origin) or origin.count("*") > 1:
                raise InvalidArgument(f"Invalid origin: {origin}", ArgumentName="AllowedOrigin")
        if any(not h[1].strip() for h in children(rule, "AllowedHeader")):
            raise InvalidArgument("AllowedHeader must not be empty", ArgumentName="AllowedHeader")
        max_age = text(rule, "MaxAgeSeconds")
        if max_age is not None and _count(max_age) is None:
            raise MalformedXML()


def _check_date(value: str) -> None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            "Invalid date: the date must be in ISO 8601 format", ArgumentName="Date"
        ) from None
    if (when.hour, when.minute, when.second, when.microsecond) != (0, 0, 0, 0):
        raise InvalidArgument("'Date' must be at midnight GMT", ArgumentName="Date")


def _check_days(value: str | None, name: str) -> None:
    count = _count(value) if value is not None else None
    if count is None or count < 1:
        raise InvalidArgument(f"'{name}' must be a positive integer", ArgumentName=name)


def _check_lifecycle(rules: list[Node]) -> list[Node]:
    if not rules or len(rules) > MAX_RULES:
        raise MalformedXML()
    ids: set[str] = set()
    out = []
    for rule in rules:
        if rule[0] != "Rule" or not isinstance(rule[1], list):
            raise MalformedXML()
        rule_id = text(rule, "ID")
        if rule_id is None:
            rule[1].insert(0, ["ID", secrets.token_urlsafe(12)])
            rule_id = text(rule, "ID") or ""
        if len(rule_id) > 255:
            raise InvalidArgument("ID length should not exceed allowed limit of 255", ArgumentName="ID")
        if rule_id in ids:
            raise InvalidArgument(
                "Rule ID must be unique. Found same ID for more than one rule", ArgumentName="ID"
            )
        ids.add(rule_id)
        if text(rule, "Status") not in ("Enabled", "Disabled"):
            raise MalformedXML()
        for filt in children(rule, "Filter"):
            conditions = children(filt, "And")[0] if children(filt, "And") else filt
            if isinstance(conditions[1], list) and any(c[0] not in _FILTER_FIELDS for c in conditions[1]):
                raise InvalidArgument("R2 filters lifecycle rules by prefix only", ArgumentName="Filter")
        actions = 0
        for expiration in children(rule, "Expiration"):
            actions += 1
            date, days = text(expiration, "Date"), text(expiration, "Days")
            if date is not None:
                _check_date(date)
            elif days is not None:
                _check_days(days, "Days")
            elif text(expiration, "ExpiredObjectDeleteMarker") is None:
                raise MalformedXML()
        for transition in children(rule, "Transition"):
            actions += 1
            date, days = text(transition, "Date"), text(transition, "Days")
            if date is not None:
                _check_date(date)
            else:
                _check_days(days, "Days")
            if text(transition, "StorageClass") not in LIFECYCLE_STORAGE_CLASSES:
                raise InvalidArgument("Invalid storage class for a transition", ArgumentName="StorageClass")
        for abort in children(rule, "AbortIncompleteMultipartUpload"):
            actions += 1
            _check_days(text(abort, "DaysAfterInitiation"), "DaysAfterInitiation")
        if actions == 0:
            raise InvalidRequest("At least one action needs to be specified in a rule")
        out.append(rule)
    return out


class BucketConfigService:
    def __init__(self, repo: ObjectRepository) -> None:
        self.repo = repo

    def _row(self, bucket: str) -> Any:
        row = self.repo.get_bucket(bucket)
        if row is None:
            raise NoSuchBucket(BucketName=bucket)
        return row

    def put_cors(self, bucket: str, rules: list[Node]) -> None:
        _check_cors(rules)
        if not self.repo.update_bucket(bucket, cors=json.dumps(rules)):
            raise NoSuchBucket(BucketName=bucket)

    def get_cors(self, bucket: str) -> list[Node]:
        row = self._row(bucket)
        if not row.cors:
            raise NoSuchCORSConfiguration(BucketName=bucket)
        rules: list[Node] = json.loads(row.cors)
        return rules

    def delete_cors(self, bucket: str) -> None:
        if not self.repo.update_bucket(bucket, cors=None):
            raise NoSuchBucket(BucketName=bucket)

    def put_lifecycle(self, bucket: str, rules: list[Node]) -> None:
        checked = _check_lifecycle(rules)
        if not self.repo.update_bucket(bucket, lifecycle=json.dumps(checked)):
            raise NoSuchBucket(BucketName=bucket)

    def get_lifecycle(self, bucket: str) -> list[Node]:
        """The stored configuration (R2's default rule for a bucket never given one); after
        DeleteBucketLifecycle, NoSuchLifecycleConfiguration."""
        row = self._row(bucket)
        if row.lifecycle == LIFECYCLE_DELETED:
            raise NoSuchLifecycleConfiguration(BucketName=bucket)
        return self._lifecycle_of(row)

    def lifecycle_in_effect(self, bucket: str) -> list[Node]:
        """The rules that apply: after DeleteBucketLifecycle, R2's default rule again."""
        return self._lifecycle_of(self._row(bucket))

    @staticmethod
    def _lifecycle_of(row: Any) -> list[Node]:
        if not row.lifecycle or row.lifecycle == LIFECYCLE_DELETED:
            return DEFAULT_LIFECYCLE
        rules: list[Node] = json.loads(row.lifecycle)
        return rules

    def clear_lifecycle(self, bucket: str) -> None:
        """No rules at all, not even R2's default multipart abort rule (the Cloudflare API's empty rule list)."""
        if not self.repo.update_bucket(bucket, lifecycle="[]"):
            raise NoSuchBucket(BucketName=bucket)

    def delete_lifecycle(self, bucket: str) -> None:
        if not self.repo.update_bucket(bucket, lifecycle=LIFECYCLE_DELETED):
            raise NoSuchBucket(BucketName=bucket)

    def check_bucket(self, bucket: str) -> None:
        self._row(bucket)
