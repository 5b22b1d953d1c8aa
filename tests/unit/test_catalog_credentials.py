"""Reuse of vended credentials (catalog.service.credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from catalog.service.credentials import CredentialCache

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: datetime


def issuer(log: list[str], ttl: timedelta = timedelta(hours=1)) -> object:
    def issue() -> Creds:
        log.append("issued")
        return Creds(f"k{len(log)}", "s", "t", T0 + ttl)

    return issue


def test_reused_while_more_than_half_the_lifetime_remains() -> None:
    cache, log = CredentialCache(), []
    key = (1, "tok", "lake", "t/", False)
    first = cache.get_or_issue(key, issuer(log), now=T0)  # type: ignore[arg-type]
    assert cache.get_or_issue(key, issuer(log), now=T0 + timedelta(minutes=29)) is first  # type: ignore[arg-type]
    again = cache.get_or_issue(key, issuer(log), now=T0 + timedelta(minutes=31))  # type: ignore[arg-type]
    assert again is not first
    assert log == ["issued", "issued"]


def test_keys_separate_tokens_prefixes_and_access() -> None:
    cache, log = CredentialCache(), []
    for key in [(1, "a", "lake", "t/", False), (1, "b", "lake", "t/", False), (1, "a", "lake", "u/", False),
                (1, "a", "lake", "t/", True), (2, "a", "lake", "t/", False)]:  # fmt: skip
        cache.get_or_issue(key, issuer(log), now=T0)  # type: ignore[arg-type]
    assert len(log) == 5


def test_bounded_and_disabled() -> None:
    cache, log = CredentialCache(size=2), []
    for i in range(3):
        cache.get_or_issue((1, str(i), "b", "p/", False), issuer(log), now=T0)  # type: ignore[arg-type]
    cache.get_or_issue((1, "0", "b", "p/", False), issuer(log), now=T0)  # type: ignore[arg-type]  # evicted
    assert len(log) == 4
    off, log2 = CredentialCache(size=0), []
    off.get_or_issue((1, "x", "b", "p/", False), issuer(log2), now=T0)  # type: ignore[arg-type]
    off.get_or_issue((1, "x", "b", "p/", False), issuer(log2), now=T0)  # type: ignore[arg-type]
    assert len(log2) == 2
