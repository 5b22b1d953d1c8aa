"""TokenService and TemporaryCredentials over a real SQLite database: lifecycle, limits, what is stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auth.service.errors import (
    AccessDenied,
    AuthInvalidArgument,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidToken,
    NoSuchToken,
)
from auth.service.principal import Permission, Principal, Scope
from auth.service.secretbox import SecretBox
from auth.service.temporary import MAX_TTL, TempPermission
from auth.service.tokens import TokenService, secret_access_key_for
from infra.db import Database


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[TokenService]:
    db = Database(f"sqlite:///{tmp_path / 'lakebox.db'}")
    db.create_schema()
    yield TokenService(db, SecretBox.from_data_dir(tmp_path))
    db.dispose()


def test_token_credentials_follow_r2(tokens: TokenService) -> None:
    issued = tokens.create(Permission.OBJECT_RW, name="ci", buckets=("a", "b"))
    assert issued.access_key_id == issued.id
    assert issued.secret_access_key == secret_access_key_for(issued.token)
    identity = tokens.s3_identity(issued.id)
    assert identity.secret_access_key == issued.secret_access_key
    assert identity.principal == Principal(issued.id, Permission.OBJECT_RW, buckets=("a", "b"))
    assert tokens.authenticate_bearer(issued.token).token_id == issued.id
    assert issued.token not in repr(issued)
    assert issued.secret_access_key not in repr(issued)


def test_list_get_revoke(tokens: TokenService) -> None:
    a = tokens.create(Permission.ADMIN_RO, name="a")
    b = tokens.create(Permission.OBJECT_RO, name="b", ttl_seconds=3600)
    assert [t.id for t in tokens.list()] == [a.id, b.id]
    assert tokens.get(b.id).status == "active"
    revoked = tokens.revoke(a.id)
    assert revoked.status == "revoked"
    assert tokens.revoke(a.id).revoked_at == revoked.revoked_at  # idempotent
    assert [t.id for t in tokens.list()] == [b.id]
    assert [t.id for t in tokens.list(include_revoked=True)] == [a.id, b.id]
    with pytest.raises(InvalidAccessKeyId):
        tokens.s3_identity(a.id)
    with pytest.raises(InvalidToken):
        tokens.authenticate_bearer(a.token)
    with pytest.raises(NoSuchToken):
        tokens.get("nope")
    with pytest.raises(NoSuchToken):
        tokens.revoke("nope")


def test_expiry(tokens: TokenService) -> None:
    issued = tokens.create(Permission.ADMIN_RW, ttl_seconds=1)
    time.sleep(1.05)
    with pytest.raises(ExpiredToken):
        tokens.s3_identity(issued.id)
    with pytest.raises(ExpiredToken):
        tokens.authenticate_bearer(issued.token)
    assert tokens.get(issued.id).status == "expired"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"permission": Permission.ADMIN_RW, "buckets": ("a",)},
        {"permission": Permission.OBJECT_RW, "buckets": ("a/b",)},
        {"permission": Permission.OBJECT_RW, "ttl_seconds": 0},
        {"permission": Permission.OBJECT_RW, "expires_at": datetime.now(UTC) - timedelta(seconds=1)},
        {"permission": Permission.OBJECT_RW, "name": "x" * 257},
    ],
)
def test_create_rejects(tokens: TokenService, kwargs: dict[str, object]) -> None:
    with pytest.raises(AuthInvalidArgument):
        tokens.create(**kwargs)  # type: ignore[arg-type]


def test_temporary_credential_lifecycle(tokens: TokenService) -> None:
    parent = tokens.create(Permission.OBJECT_RW, buckets=("a",))
    temp = tokens.temporary.issue(parent.id, "a", TempPermission.READ_ONLY, 900, prefixes=("logs/",))
    assert temp.expires_at - datetime.now(UTC) <= timedelta(seconds=900)
    identity = tokens.s3_identity(temp.access_key_id, temp.session_token)
    assert identity.secret_access_key == temp.secret_access_key
    p = identity.principal
    assert (p.permission, p.buckets, p.scope, p.parent_token_id) == (
        Permission.OBJECT_RO,
        ("a",),
        Scope("a", ("logs/",)),
        parent.id,
    )
    with pytest.raises(InvalidToken):
        tokens.s3_identity(temp.access_key_id, temp.session_token + "x")
    with pytest.raises(InvalidAccessKeyId):
        tokens.s3_identity(temp.access_key_id)  # a temporary key without its session token
    with pytest.raises(InvalidToken):
        tokens.s3_identity(parent.id, temp.session_token)  # a session token with a long-lived key
    with pytest.raises(InvalidAccessKeyId):
        tokens.s3_identity("0" * 32, temp.session_token)
    tokens.revoke(parent.id)
    with pytest.raises(InvalidAccessKeyId):
        tokens.s3_identity(temp.access_key_id, temp.session_token)


def test_temporary_credential_never_exceeds_its_parent(tokens: TokenService) -> None:
    ro = tokens.create(Permission.OBJECT_RO, buckets=("a",))
    with pytest.raises(AccessDenied):
        tokens.temporary.issue(ro.id, "a", TempPermission.READ_WRITE)
    with pytest.raises(AccessDenied):
        tokens.temporary.issue(ro.id, "b", TempPermission.READ_ONLY)
    admin_ro = tokens.create(Permission.ADMIN_RO)
    with pytest.raises(AccessDenied):
        tokens.temporary.issue(admin_ro.id, "b", TempPermission.READ_WRITE)
    tokens.temporary.issue(admin_ro.id, "b", TempPermission.READ_ONLY)
    short = tokens.create(Permission.ADMIN_RW, ttl_seconds=60)
    temp = tokens.temporary.issue(short.id, "a", TempPermission.READ_WRITE, 3600)
    assert short.expires_at is not None
    assert temp.expires_at <= short.expires_at
    revoked = tokens.create(Permission.ADMIN_RW)
    tokens.revoke(revoked.id)
    with pytest.raises(NoSuchToken):
        tokens.temporary.issue(revoked.id, "a", TempPermission.READ_ONLY)


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL + 1])
def test_temporary_ttl_bounds(tokens: TokenService, ttl: int) -> None:
    parent = tokens.create(Permission.ADMIN_RW)
    with pytest.raises(AuthInvalidArgument):
        tokens.temporary.issue(parent.id, "a", TempPermission.READ_ONLY, ttl)


def test_temporary_expiry(tokens: TokenService) -> None:
    parent = tokens.create(Permission.ADMIN_RW)
    temp = tokens.temporary.issue(parent.id, "a", TempPermission.READ_ONLY, 1)
    time.sleep(1.05)
    with pytest.raises(ExpiredToken):
        tokens.s3_identity(temp.access_key_id, temp.session_token)


def test_vend_for_the_catalog(tokens: TokenService) -> None:
    admin = tokens.create(Permission.ADMIN_RW)
    principal = tokens.authenticate_bearer(admin.token)
    rw = tokens.temporary.vend(principal, "wh", "ns/table", read_only=False)
    assert (rw.permission, rw.prefixes, rw.bucket) == (TempPermission.READ_WRITE, ("ns/table/",), "wh")
    ro_token = tokens.create(Permission.ADMIN_RO)
    ro = tokens.temporary.vend(tokens.authenticate_bearer(ro_token.token), "wh", "ns/t/", read_only=False)
    assert (ro.permission, ro.prefixes) == (TempPermission.READ_ONLY, ("ns/t/",))
    temp_principal = tokens.s3_identity(rw.access_key_id, rw.session_token).principal
    with pytest.raises(AccessDenied):
        tokens.temporary.vend(temp_principal, "wh", "x", read_only=True)


def test_no_secret_is_stored_in_the_clear(tokens: TokenService, tmp_path: Path) -> None:
    issued = tokens.create(Permission.OBJECT_RW, buckets=("a",))
    temp = tokens.temporary.issue(issued.id, "a", TempPermission.READ_WRITE, prefixes=("p/",))
    tokens.s3_identity(temp.access_key_id, temp.session_token)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("lakebox.db*"))
    assert issued.id.encode() in stored  # the file is the right one
    for secret in (issued.token, issued.secret_access_key, temp.secret_access_key, temp.session_token):
        assert secret.encode() not in stored


def test_the_last_admin_token_cannot_be_revoked(tokens: TokenService) -> None:
    first = tokens.create(Permission.ADMIN_RW)
    with pytest.raises(AccessDenied):
        tokens.revoke(first.id)
    expiring = tokens.create(Permission.ADMIN_RW, ttl_seconds=1)
    second = tokens.create(Permission.ADMIN_RW)
    tokens.revoke(first.id)
    time.sleep(1.05)  # an expired admin token does not count
    with pytest.raises(AccessDenied):
        tokens.revoke(second.id)
    tokens.revoke(expiring.id)  # an expired one may always be revoked
    assert tokens.get(second.id).status == "active"


@pytest.mark.parametrize("ttl", [0, -1, 10**12])
def test_token_ttl_bounds(tokens: TokenService, ttl: int) -> None:
    with pytest.raises(AuthInvalidArgument):
        tokens.create(Permission.OBJECT_RO, ttl_seconds=ttl)
