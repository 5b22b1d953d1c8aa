"""The installation's account id: 32 hex digits like a Cloudflare account id, created once and never changed."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from infra.db import Database
from management.store.tables import Installation

_table = Installation.__table__  # type: ignore[attr-defined]
_SLOT = "account"


def read_account_id(db: Database) -> str | None:
    with db.read(snapshot=False) as conn:
        value: str | None = conn.execute(select(_table.c.account_id).where(_table.c.slot == _SLOT)).scalar()
    return value


def ensure_account_id(db: Database) -> str:
    """The account id, generated on the first call of any node (a concurrent first start keeps one winner)."""
    existing = read_account_id(db)
    if existing is not None:
        return existing
    try:
        with db.write() as conn:
            conn.execute(
                insert(_table).values(slot=_SLOT, account_id=secrets.token_hex(16), created_at=time.time())
            )
    except IntegrityError:
        pass  # another node created it first
    created = read_account_id(db)
    assert created is not None
    return created
