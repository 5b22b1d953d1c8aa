"""The location policy (catalog.service.locations): golden cases and Hypothesis properties."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.errors import BadRequest
from catalog.service.locations import (
    check_inside,
    check_metadata_paths,
    key_prefix,
    known_paths,
    overlaps,
    table_location,
)

segment = st.text(min_size=1, max_size=8)
locations = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "s3://lake/" + "/".join(parts))


@given(locations)
def test_an_accepted_location_owns_a_key_range_inside_the_bucket(location: str) -> None:
    try:
        normalised = table_location(location, "lake")
    except BadRequest:
        return
    prefix = key_prefix(normalised, "lake")
    assert prefix.endswith("/")
    assert len(prefix) > 1
    for part in prefix.rstrip("/").split("/"):
        assert part
        assert unquote(unquote(part)) not in (".", "..")
    assert not "__lakebox/".startswith(prefix)  # never the catalog's own area or a folder of it
    assert check_inside(normalised + "/f", normalised, "lake", "File") == prefix + "f"
    with pytest.raises(BadRequest):
        check_inside(normalised + "x/f", normalised, "lake", "File")


@given(locations, locations)
def test_overlap_is_symmetric_and_matches_the_key_ranges(a: str, b: str) -> None:
    assert overlaps(a, b) == overlaps(b, a)
    pa, pb = a.rstrip("/") + "/", b.rstrip("/") + "/"
    assert overlaps(a, b) == (pa.startswith(pb) or pb.startswith(pa))


def test_spellings_of_one_key_compare_equal() -> None:
    assert table_location("s3://lake/cafe\u0301/", "lake") == table_location("s3://lake/caf\u00e9", "lake")


@pytest.mark.parametrize(
    "path",
    [
        "s3://lake/t/../u/f",
        "s3://lake/t/%2E%2E/u",
        "s3://lake/t/%25252e%25252e/u",
        "s3://lake/t/./f",
        "s3://lake/t//f",
        "s3://lake/t/f?x",
        "s3://lake/t/f#x",
        "s3://lake/t/f\x00",
        "S3://lake/t/f",
        "s3://LAKE/t/f",
        "/lake/t/f",
        "t/f",
    ],
)
def test_paths_that_escape_or_hide_their_key_are_refused(path: str) -> None:
    with pytest.raises(BadRequest):
        check_inside(path, "s3://lake/t", "lake", "File")


def test_metadata_paths_already_known_are_not_checked_again() -> None:
    old = {
        "location": "s3://lake/old",
        "snapshots": [{"manifest-list": "s3://lake/old/metadata/snap-1.avro"}],
        "metadata-log": [{"metadata-file": "s3://lake/old/metadata/v1.metadata.json"}],
    }
    moved = {**old, "location": "s3://lake/new"}
    assert check_metadata_paths(moved, "lake", known_paths(old)) == "s3://lake/new"
    with pytest.raises(BadRequest):
        check_metadata_paths(moved, "lake")
    added = {
        **moved,
        "snapshots": [*old["snapshots"], {"manifest-list": "s3://lake/old/metadata/snap-2.avro"}],
    }
    with pytest.raises(BadRequest):
        check_metadata_paths(added, "lake", known_paths(old))
    bad_property = {**moved, "properties": {"write.data.path": "s3://lake/old/data"}}
    with pytest.raises(BadRequest):  # path properties are always checked against the current location
        check_metadata_paths(bad_property, "lake", known_paths(old))
