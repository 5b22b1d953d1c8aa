"""Identifiers, page tokens and locations (catalog.service.naming): golden cases and Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from catalog.errors import BadRequest
from catalog.service.naming import (
    check_location,
    decode_page_token,
    encode_page_token,
    key_of,
    namespace_name,
    new_location,
    new_metadata_location,
    parse_namespace_param,
)

level = st.text(
    st.characters(exclude_characters="\x00\x1f", exclude_categories=("Cs",)), min_size=1, max_size=10
)


@given(
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=200)
)  # names: never empty, no NUL
def test_page_tokens_round_trip(last: str) -> None:
    token = encode_page_token(last)
    assert token.isascii()
    assert "=" not in token
    assert decode_page_token(token) == last


@given(st.lists(level, min_size=1, max_size=5))
def test_namespace_names_round_trip(levels: list[str]) -> None:
    assert parse_namespace_param(namespace_name(levels)) == tuple(levels)


@pytest.mark.parametrize("bad", ["", "a\x1f", "\x1fa", "a\x1f\x1fb", "a\x00", "n" * 256])
def test_bad_namespace_params(bad: str) -> None:
    with pytest.raises(BadRequest):
        parse_namespace_param(bad)


@pytest.mark.parametrize("levels", [[], [""], ["a\x1fb"]])
def test_bad_namespace_levels(levels: list[str]) -> None:
    with pytest.raises(BadRequest):
        namespace_name(levels)


@pytest.mark.parametrize("token", ["%%%", "a", "////", "gA", encode_page_token("a\x00")])
def test_bad_page_tokens(token: str) -> None:
    with pytest.raises(BadRequest):
        decode_page_token(token)


@given(st.lists(level, min_size=1, max_size=3), st.text(min_size=1, max_size=100))
@example([".."], "t")
@example(["."], ".")
def test_new_locations_lie_inside_the_warehouse_and_are_unique(ns: list[str], name: str) -> None:
    a, b = new_location("lake", ns, name), new_location("lake", ns, name)
    assert a != b
    assert check_location(a, "lake") == a
    assert key_of(a, "lake").startswith("__lakebox/")
    assert "//" not in a.removeprefix("s3://")


@pytest.mark.parametrize(
    "location",
    ["s3://other/x", "s3://lake", "s3://lake/", "s3a://lake/x", "s3://lakehouse/x", "s3://lake/a/../b"],
)
def test_locations_outside_the_warehouse(location: str) -> None:
    with pytest.raises(BadRequest):
        check_location(location, "lake")


def test_metadata_file_names_count_versions() -> None:
    first = new_metadata_location("s3://lake/t", None)
    assert first.startswith("s3://lake/t/metadata/00000-")
    assert first.endswith(".metadata.json")
    second = new_metadata_location("s3://lake/t/", first)
    assert second.startswith("s3://lake/t/metadata/00001-")
    assert new_metadata_location("s3://lake/t", "s3://lake/t/metadata/v3.metadata.json").startswith(
        "s3://lake/t/metadata/00000-"
    )
