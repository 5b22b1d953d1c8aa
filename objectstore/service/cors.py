"""Evaluating a bucket's CORS rules (stored by PutBucketCors) against browser requests, as S3 and R2 do.

The first rule that allows the request's Origin, its method (for a preflight, Access-Control-Request-Method) and,
for a preflight, every header named in Access-Control-Request-Headers, decides the answer. Origins and allowed
headers may hold one ``*`` wildcard; header names compare case-insensitively, origins exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from objectstore.service.bucket_config import Node, children, text


@dataclass(frozen=True, slots=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]  # lower-case patterns
    expose: tuple[str, ...]
    max_age: int | None

    def allows_origin(self, origin: str) -> bool:
        return any(_matches(pattern, origin) for pattern in self.origins)

    def allows(self, origin: str, method: str, headers: Sequence[str] = ()) -> bool:
        return (
            method in self.methods
            and self.allows_origin(origin)
            and all(any(_matches(p, h.lower()) for p in self.headers) for h in headers)
        )

    @property
    def any_origin(self) -> bool:
        return "*" in self.origins


def _matches(pattern: str, value: str) -> bool:
    if "*" not in pattern:
        return pattern == value
    head, _, tail = pattern.partition("*")
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def _max_age(text: str) -> int:
    """Validated as an xsd:int, leading zeros and all (past 4,300 digits ``int`` refuses a string); anything
    else raises, as a configuration that cannot be read."""
    text = text.strip()
    return int(text.lstrip("0") or "0") if text.isascii() and text.isdigit() else int(text)


@lru_cache(maxsize=256)
def parse_rules(stored: str) -> tuple[CorsRule, ...]:
    """The rules of a bucket's stored configuration (cached by its JSON text, so a change is seen at once)."""
    nodes: list[Node] = json.loads(stored)
    rules = []
    for node in nodes:
        max_age = text(node, "MaxAgeSeconds")
        rules.append(
            CorsRule(
                origins=tuple(str(n[1]) for n in children(node, "AllowedOrigin")),
                methods=tuple(str(n[1]) for n in children(node, "AllowedMethod")),
                headers=tuple(str(n[1]).strip().lower() for n in children(node, "AllowedHeader")),
                expose=tuple(str(n[1]).strip() for n in children(node, "ExposeHeader")),
                max_age=_max_age(max_age) if max_age is not None else None,
            )
        )
    return tuple(rules)


def first_match(
    rules: tuple[CorsRule, ...],
    origin: str,
    method: str,
    headers: Sequence[str] = (),
) -> CorsRule | None:
    return next((rule for rule in rules if rule.allows(origin, method, headers)), None)
