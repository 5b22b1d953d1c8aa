"""The lifecycle rules' arithmetic: when an object is due (midnight UTC after last_modified + days, or the rule's
date), expiration beating a transition within 24 hours, the scan horizon, and the abort ages per prefix."""

from __future__ import annotations

import json

from objectstore.service.bucket_config import DEFAULT_LIFECYCLE, LIFECYCLE_DELETED
from objectstore.service.lifecycle import (
    DAY,
    IA,
    Rule,
    WalkPlan,
    abort_after,
    decide,
    expiration,
    parse_rules,
    rules_in_effect,
    walk_plan,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
MIDNIGHT_AFTER_T0 = 1_700_006_400.0  # 2023-11-15T00:00:00Z


def test_days_are_counted_to_the_next_midnight_utc_and_the_earliest_rule_wins() -> None:
    rules = (
        Rule("a", "logs/", expire_days=30),
        Rule("b", "logs/x", expire_days=2),
        Rule("c", "other/", expire_days=1),
    )
    assert expiration(rules, "logs/y", T0) == (MIDNIGHT_AFTER_T0 + 30 * DAY, "a")
    assert expiration(rules, "logs/x1", T0) == (MIDNIGHT_AFTER_T0 + 2 * DAY, "b")
    assert expiration(rules, "nothing", T0) is None
    on_midnight = MIDNIGHT_AFTER_T0
    assert expiration(rules, "other/1", on_midnight) == (on_midnight + DAY, "c")


def test_expiration_beats_a_transition_within_24_hours() -> None:
    both = (Rule("r", "", expire_days=30, transition_days=30),)
    day_apart = (Rule("r", "", expire_days=31, transition_days=30),)
    weeks_apart = (Rule("r", "", expire_days=60, transition_days=30),)
    at_30 = MIDNIGHT_AFTER_T0 + 30 * DAY
    assert decide(both, "k", T0, "STANDARD", at_30) == "expire"
    assert decide(day_apart, "k", T0, "STANDARD", at_30) is None  # expires a day later instead
    assert decide(day_apart, "k", T0, "STANDARD", at_30 + DAY) == "expire"
    assert decide(weeks_apart, "k", T0, "STANDARD", at_30) == "transition"
    assert decide(weeks_apart, "k", T0, IA, at_30) is None  # already there; never back
    assert decide(weeks_apart, "k", T0, "STANDARD", at_30 - 1) is None


def test_dates_act_from_the_date_on_for_every_object() -> None:
    date = MIDNIGHT_AFTER_T0 + 5 * DAY
    rules = (Rule("d", "tmp/", expire_date=date),)
    assert decide(rules, "tmp/a", T0, "STANDARD", date - 1) is None
    assert decide(rules, "tmp/a", T0, "STANDARD", date) == "expire"
    assert (
        decide(rules, "tmp/b", date + 10 * DAY, "STANDARD", date + 11 * DAY) == "expire"
    )  # written after it
    assert walk_plan(rules, date - 1) == WalkPlan(None, ())
    assert walk_plan(rules, date + 7) == WalkPlan(None, (("tmp/", "tmp0"),))  # its prefix, whatever the age


def test_the_horizon_is_the_latest_last_modified_any_action_can_reach() -> None:
    rules = (
        Rule("a", "", expire_days=30),
        Rule("b", "", transition_days=10),
        Rule("c", "", abort_seconds=DAY),
    )
    now = T0 + 100 * DAY
    assert walk_plan(rules, now).horizon == now - 10 * DAY
    assert walk_plan((Rule("c", "", abort_seconds=DAY),), now).horizon is None


def test_abort_ages_by_prefix_and_the_default_rule() -> None:
    rules = (Rule("a", "tmp/", abort_seconds=3 * DAY), Rule("b", "", abort_seconds=9 * DAY))
    assert abort_after(rules, "tmp/x") == 3 * DAY
    assert abort_after(rules, "x") == 9 * DAY
    assert abort_after((), "x") is None
    assert rules_in_effect(None, 60.0) == (Rule("Default Multipart Abort Rule", "", abort_seconds=60.0),)
    assert rules_in_effect(LIFECYCLE_DELETED, 60.0) == rules_in_effect(None, 60.0)
    assert rules_in_effect("[]") == ()


def test_parsing_keeps_enabled_rules_in_every_filter_shape() -> None:
    stored = [
        ["Rule", [["ID", "f"], ["Filter", [["Prefix", "a/"]]], ["Status", "Enabled"], ["Expiration", [["Days", "3"]]]]],
        ["Rule", [["ID", "l"], ["Prefix", "b/"], ["Status", "Enabled"], ["Expiration", [["Date", "2030-01-01T00:00:00Z"]]]]],
        ["Rule", [["ID", "n"], ["Filter", [["And", [["Prefix", "c/"]]]]], ["Status", "Enabled"],
                  ["Transition", [["Days", "30"], ["StorageClass", "STANDARD_IA"]]]]],
        ["Rule", [["ID", "off"], ["Filter", [["Prefix", ""]]], ["Status", "Disabled"], ["Expiration", [["Days", "1"]]]]],
        ["Rule", [["ID", "m"], ["Filter", []], ["Status", "Enabled"],
                  ["AbortIncompleteMultipartUpload", [["DaysAfterInitiation", "2"]]]]],
    ]  # fmt: skip
    assert parse_rules(stored) == [
        Rule("f", "a/", expire_days=3),
        Rule("l", "b/", expire_date=1893456000.0),
        Rule("n", "c/", transition_days=30),
        Rule("m", "", abort_seconds=2 * DAY),
    ]
    assert rules_in_effect(json.dumps(stored)) == tuple(parse_rules(stored))
    assert parse_rules(DEFAULT_LIFECYCLE, 5.0) == [
        Rule("Default Multipart Abort Rule", "", abort_seconds=5.0)
    ]
