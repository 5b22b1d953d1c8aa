"""Pure logic of the management service: R2's JSON rules <-> the stored S3 configuration, and token policies ->
one lakebox permission."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.service.principal import Permission
from management.service.bucket_config import (
    cors_from_nodes,
    cors_to_nodes,
    lifecycle_from_nodes,
    lifecycle_to_nodes,
)
from management.service.errors import InvalidRequest, NotImplementedYet
from management.service.tokens import R2Tokens

ACCOUNT = "a" * 32
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    origins=st.lists(_word.map(lambda w: f"https://{w}.example"), min_size=1, max_size=3),
    methods=st.lists(
        st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]), min_size=1, max_size=5, unique=True
    ),
    headers=st.lists(_word, max_size=3),
    expose=st.lists(_word, max_size=3),
    max_age=st.one_of(st.none(), st.integers(min_value=0, max_value=86400)),
    rule_id=st.one_of(st.none(), _word),
)
def test_cors_round_trip(
    origins: list[str],
    methods: list[str],
    headers: list[str],
    expose: list[str],
    max_age: int | None,
    rule_id: str | None,
) -> None:
    rule: dict[str, Any] = {"allowed": {"origins": origins, "methods": methods, "headers": headers}}
    if expose:
        rule["exposeHeaders"] = expose
    if max_age is not None:
        rule["maxAgeSeconds"] = max_age
    if rule_id is not None:
        rule["id"] = rule_id
    assert cors_from_nodes(cors_to_nodes([rule])) == [rule]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"allowed": {"origins": "*"}}, "'allowed.origins' must be a list of strings"),
        ({"allowed": {"verbs": ["GET"]}}, "Unknown field in 'allowed': 'verbs'"),
        ({"allowed": {}, "maxAgeSeconds": -1}, "'maxAgeSeconds' must be a non-negative integer"),
        ({"allowed": {}, "maxAgeSeconds": True}, "'maxAgeSeconds' must be a non-negative integer"),
        ({"AllowedOrigins": ["*"]}, "Unknown field in 'rules[]': 'AllowedOrigins'"),
        ("rule", "'rules[]' must be an object"),
    ],
)
def test_cors_bad_rules(rule: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        cors_to_nodes([rule])
    assert info.value.message == message


_condition = st.one_of(
    st.integers(min_value=1, max_value=3650).map(lambda d: {"type": "Age", "maxAge": d * 86400}),
    st.dates().map(lambda d: {"type": "Date", "date": f"{d.isoformat()}T00:00:00Z"}),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_id=_word,
    enabled=st.booleans(),
    prefix=st.one_of(st.just(""), _word.map(lambda w: w + "/")),
    delete=st.one_of(st.none(), _condition),
    transition=st.one_of(st.none(), _condition),
    abort_days=st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
)
def test_lifecycle_round_trip(
    rule_id: str,
    enabled: bool,
    prefix: str,
    delete: dict[str, Any] | None,
    transition: dict[str, Any] | None,
    abort_days: int | None,
) -> None:
    rule: dict[str, Any] = {"id": rule_id, "enabled": enabled, "conditions": {"prefix": prefix}}
    if delete is not None:
        rule["deleteObjectsTransition"] = {"condition": delete}
    if transition is not None:
        rule["storageClassTransitions"] = [{"condition": transition, "storageClass": "InfrequentAccess"}]
    if abort_days is not None:
        rule["abortMultipartUploadsTransition"] = {"condition": {"type": "Age", "maxAge": abort_days * 86400}}
    assert lifecycle_from_nodes(lifecycle_to_nodes([rule])) == [rule]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"enabled": True}, "Every rule needs an 'id'"),
        ({"id": "x", "enabled": "yes"}, "'enabled' must be true or false"),
        (
            {
                "id": "x",
                "enabled": True,
                "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 90}},
            },
            "'condition.maxAge' must be a positive number of seconds in whole days",
        ),
        (
            {
                "id": "x",
                "enabled": True,
                "abortMultipartUploadsTransition": {
                    "condition": {"type": "Date", "date": "2030-01-01T00:00:00Z"}
                },
            },
            "'condition.type' must be Age",
        ),
        (
            {
                "id": "x",
                "enabled": True,
                "storageClassTransitions": [
                    {"condition": {"type": "Age", "maxAge": 86400}, "storageClass": "Glacier"}
                ],
            },
            "'storageClass' of a transition must be InfrequentAccess",
        ),
    ],
)
def test_lifecycle_bad_rules(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        lifecycle_to_nodes([rule])
    assert info.value.message == message


def _policy(resources: dict[str, Any], *groups: str) -> dict[str, Any]:
    return {"effect": "allow", "resources": resources, "permission_groups": [{"name": g} for g in groups]}


ACCOUNT_RES = {f"com.cloudflare.api.account.{ACCOUNT}": "*"}
ALL_BUCKETS = {f"com.cloudflare.api.account.{ACCOUNT}": {"com.cloudflare.edge.r2.bucket.*": "*"}}
BUCKET_RES = {f"com.cloudflare.edge.r2.bucket.{ACCOUNT}_default_one": "*"}


@pytest.mark.parametrize(
    ("policies", "permission", "buckets"),
    [
        ([_policy(ACCOUNT_RES, "Workers R2 Storage Write")], Permission.ADMIN_RW, ()),
        ([_policy(ACCOUNT_RES, "Workers R2 Storage Read")], Permission.ADMIN_RO, ()),
        ([_policy(ALL_BUCKETS, "Workers R2 Storage Bucket Item Write")], Permission.OBJECT_RW, ()),
        ([_policy(BUCKET_RES, "Workers R2 Storage Bucket Item Read")], Permission.OBJECT_RO, ("one",)),
        (
            [_policy(BUCKET_RES, "Workers R2 Storage Bucket Item Write", "Workers R2 Data Catalog Write")],
            Permission.OBJECT_RW,
            ("one",),
        ),
        (
            [
                _policy(ACCOUNT_RES, "Workers R2 Storage Write"),
                _policy(BUCKET_RES, "Workers R2 Storage Bucket Item Read"),
            ],
            Permission.ADMIN_RW,
            (),
        ),
    ],
)
def test_policies_to_permission(
    policies: list[Any], permission: Permission, buckets: tuple[str, ...]
) -> None:
    assert R2Tokens(None, ACCOUNT)._permission(policies) == (permission, buckets)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policies", "error", "message"),
    [
        ([], InvalidRequest, "'policies' must be a non-empty list"),
        (
            [_policy(BUCKET_RES, "Workers R2 Storage Write")],
            InvalidRequest,
            "'Workers R2 Storage Write' applies to the account, not to single buckets",
        ),
        (
            [_policy(ACCOUNT_RES, "Workers R2 Data Catalog Write")],
            InvalidRequest,
            "A token needs one of R2's storage permission groups",
        ),
        (
            [_policy(ACCOUNT_RES, "Zone Read")],
            InvalidRequest,
            "Unknown or non-R2 permission group: 'Zone Read'",
        ),
        (
            [_policy({"com.cloudflare.api.user.x": "*"}, "Workers R2 Storage Read")],
            InvalidRequest,
            "Not an R2 resource: 'com.cloudflare.api.user.x'",
        ),
        (
            [
                _policy(
                    {f"com.cloudflare.edge.r2.bucket.{ACCOUNT}_eu_one": "*"},
                    "Workers R2 Storage Bucket Item Read",
                )
            ],
            NotImplementedYet,
            "The 'eu' jurisdiction: not implemented in lakebox yet",
        ),
        (
            [{**_policy(ACCOUNT_RES, "Workers R2 Storage Read"), "effect": "deny"}],
            NotImplementedYet,
            "Deny policies: not implemented in lakebox yet",
        ),
    ],
)
def test_policy_errors(policies: list[Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        R2Tokens(None, ACCOUNT)._permission(policies)  # type: ignore[arg-type]
    assert str(info.value) == message
