"""The three-way merge that keeps what pyiceberg's model does not know (catalog/service/exact.py)."""

from __future__ import annotations

from typing import Any

from catalog.service.exact import merge_unmodelled


def snapshots(ids: list[int], extra: bool) -> list[dict[str, Any]]:
    return [{"snapshot-id": i, "summary": {"operation": "append"}} | ({"x": i} if extra else {}) for i in ids]


def test_untouched_values_stay_as_written() -> None:
    original = {"a": {"k": 1, "unknown": True}, "b": [1, 2], "top-unknown": "x", "current-snapshot-id": -1}
    before = {"a": {"k": 1}, "b": [1, 2]}
    assert merge_unmodelled(original, before, before) == original


def test_changed_values_are_taken_and_unknown_keys_beside_them_kept() -> None:
    original = {"a": {"k": 1, "unknown": True}, "gone": 1, "top-unknown": "x"}
    before = {"a": {"k": 1}, "gone": 1}
    after = {"a": {"k": 2}, "new": 3}
    assert merge_unmodelled(original, before, after) == {
        "a": {"k": 2, "unknown": True},
        "new": 3,
        "top-unknown": "x",
    }


def test_list_elements_keep_their_unknown_keys_through_removals_and_additions() -> None:
    original = snapshots(list(range(10)), extra=True)
    before = snapshots(list(range(10)), extra=False)
    after = [s for s in before if s["snapshot-id"] not in (2, 7)] + snapshots([42], extra=False)
    merged = merge_unmodelled(original, before, after)
    assert [s["snapshot-id"] for s in merged] == [0, 1, 3, 4, 5, 6, 8, 9, 42]
    assert [s.get("x") for s in merged] == [0, 1, 3, 4, 5, 6, 8, 9, None]


def test_an_element_changed_in_place_is_paired_by_its_id() -> None:
    original = [{"snapshot-id": 1, "type": "branch", "unknown": 5}]
    before = [{"snapshot-id": 1, "type": "branch"}]
    after = [{"snapshot-id": 1, "type": "tag"}]
    assert merge_unmodelled(original, before, after) == [{"snapshot-id": 1, "type": "tag", "unknown": 5}]


def test_elements_without_an_id_are_paired_only_when_equal() -> None:
    original = [{"name": "a", "unknown": 1}, {"name": "b", "unknown": 2}]
    before = [{"name": "a"}, {"name": "b"}]
    after = [{"name": "b"}, {"name": "c"}]
    assert merge_unmodelled(original, before, after) == [{"name": "b", "unknown": 2}, {"name": "c"}]


def test_lists_pyiceberg_reshaped_when_parsing_are_taken_as_pyiceberg_wrote_them() -> None:
    assert merge_unmodelled([1, 2, 3], [1, 2], [1, 5]) == [1, 5]
