"""R2's permission table and temporary-credential scopes, as pure logic."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.service.authorize import authorize, authorize_key, authorize_listing, permits
from auth.service.errors import AccessDenied
from auth.service.principal import Action, Permission, Principal, Scope

ADMIN_RW = Principal("t", Permission.ADMIN_RW)
ADMIN_RO = Principal("t", Permission.ADMIN_RO)
OBJECT_RW = Principal("t", Permission.OBJECT_RW, buckets=("a",))
OBJECT_RO = Principal("t", Permission.OBJECT_RO, buckets=("a",))
OBJECT_RW_ALL = Principal("t", Permission.OBJECT_RW)
TEMP = Principal(
    "tmp",
    Permission.OBJECT_RW,
    buckets=("a",),
    scope=Scope("a", ("logs/",), ("exact.txt",)),
    parent_token_id="t",
)

# (principal, action) -> allowed on bucket "a"; the R2 table row by row.
TABLE = [
    (ADMIN_RW, {a: True for a in Action}),
    (
        ADMIN_RO,
        {
            Action.LIST_BUCKETS: True,
            Action.CREATE_BUCKET: False,
            Action.DELETE_BUCKET: False,
            Action.READ_BUCKET_CONFIG: True,
            Action.WRITE_BUCKET_CONFIG: False,
            Action.READ_OBJECT: True,
            Action.WRITE_OBJECT: False,
            Action.LIST_OBJECTS: True,
            Action.READ_CATALOG: True,
            Action.WRITE_CATALOG: False,
        },
    ),
    (
        OBJECT_RW,
        {a: a in (Action.READ_OBJECT, Action.WRITE_OBJECT, Action.LIST_OBJECTS) for a in Action},
    ),
    (OBJECT_RO, {a: a in (Action.READ_OBJECT, Action.LIST_OBJECTS) for a in Action}),
]


@pytest.mark.parametrize(("principal", "row"), TABLE, ids=["admin-rw", "admin-ro", "object-rw", "object-ro"])
def test_permission_table(principal: Principal, row: dict[Action, bool]) -> None:
    for action, allowed in row.items():
        assert permits(principal, action, "a") is allowed, action


def test_object_tokens_reach_only_their_buckets() -> None:
    authorize(OBJECT_RW, Action.WRITE_OBJECT, "a")
    with pytest.raises(AccessDenied):
        authorize(OBJECT_RW, Action.READ_OBJECT, "b")
    authorize(OBJECT_RW_ALL, Action.READ_OBJECT, "b")  # no bucket list: every bucket
    with pytest.raises(AccessDenied):
        authorize(OBJECT_RW_ALL, Action.LIST_BUCKETS, None)


def test_anonymous_is_denied_everything() -> None:
    for action in Action:
        with pytest.raises(AccessDenied):
            authorize(None, action, "a")


def test_temporary_scope_keys() -> None:
    authorize_key(TEMP, Action.WRITE_OBJECT, "a", "logs/2025/x")
    authorize_key(TEMP, Action.READ_OBJECT, "a", "exact.txt")
    for key in ("log", "logs", "other/logs/x", "exact.txt2", "Logs/x"):
        with pytest.raises(AccessDenied):
            authorize_key(TEMP, Action.READ_OBJECT, "a", key)
    with pytest.raises(AccessDenied):
        authorize_key(TEMP, Action.READ_OBJECT, "b", "logs/x")


def test_temporary_scope_listing() -> None:
    authorize_listing(TEMP, "a", "logs/")
    authorize_listing(TEMP, "a", "logs/2025/")
    for prefix in ("", "log", "logs", "exact.txt", "other/"):
        with pytest.raises(AccessDenied):
            authorize_listing(TEMP, "a", prefix)


def test_whole_bucket_scope_allows_any_key_and_listing() -> None:
    whole = Principal("tmp", Permission.OBJECT_RO, buckets=("a",), scope=Scope("a"), parent_token_id="t")
    authorize_key(whole, Action.READ_OBJECT, "a", "anything")
    authorize_listing(whole, "a", "")
    with pytest.raises(AccessDenied):
        authorize_key(whole, Action.WRITE_OBJECT, "a", "anything")


def test_scope_compares_keys_as_the_store_identifies_them() -> None:
    nfd = unicodedata.normalize("NFD", "caf\u00e9/")
    scope = Scope("a", (nfd,))
    assert scope.allows_key("caf\u00e9/x")
    assert scope.allows_key(nfd + "x")
    assert scope.allows_list_prefix("caf\u00e9/")


@given(st.text(max_size=12), st.text(min_size=1, max_size=12), st.text(max_size=12))
def test_a_key_outside_every_prefix_is_never_allowed(prefix: str, other: str, rest: str) -> None:
    scope = Scope("a", (prefix,))
    key = other + rest
    nfc = unicodedata.normalize
    assert scope.allows_key(key) == nfc("NFC", key).startswith(nfc("NFC", prefix))
    # A listing allowed by the scope only ever returns keys the scope allows.
    if scope.allows_list_prefix(other):
        assert scope.allows_key(other + rest)
