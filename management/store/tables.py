"""Tables of the management store."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Installation(SQLModel, table=True):
    """One row: the installation's fixed Cloudflare account id (generated at first start)."""

    __tablename__ = "mgmt_installation"

    slot: str = Field(primary_key=True, max_length=16)  # always "account"
    account_id: str = Field(max_length=32)
    created_at: float
