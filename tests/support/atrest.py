"""Encryption at rest for tests that wire the object service by hand: a fresh master key per call."""

from __future__ import annotations

from objectstore.service.atrest import AtRest
from objectstore.service.keyring import Keyring, new_key


def fresh_atrest(enabled: bool = True) -> AtRest:
    return AtRest(Keyring([new_key()], "test"), enabled)
