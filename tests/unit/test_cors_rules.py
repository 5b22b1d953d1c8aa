"""Stored CORS rules parse back whatever their validation accepted (found by the S3 wire fuzz: a
``MaxAgeSeconds`` of thousands of leading zeros passed validation, then broke every later request's CORS)."""

from __future__ import annotations

import json

from objectstore.service.cors import parse_rules


def rule(max_age: str) -> list[object]:
    return [
        "CORSRule",
        [["AllowedOrigin", "*"], ["AllowedMethod", "GET"], ["MaxAgeSeconds", max_age]],
    ]


def test_a_max_age_with_thousands_of_leading_zeros_parses() -> None:
    (parsed,) = parse_rules(json.dumps([rule("0" * 5000)]))
    assert parsed.max_age == 0
    (parsed,) = parse_rules(json.dumps([rule("0" * 5000 + "3600")]))
    assert parsed.max_age == 3600
