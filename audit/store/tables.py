"""The audit log's table: one row per configuration change attempted through any API."""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: float  # epoch seconds
    actor: str = Field(
        max_length=64
    )  # the token id (a temporary credential's access key id); "" if anonymous
    api: str = Field(max_length=16)  # cloudflare (/client/v4), s3; admin: the retired /api/v1
    action: str = Field(max_length=512)  # "PUT /accounts/.../cors", or the S3 operation name
    target: str = Field(max_length=1024)  # the bucket, token, ... the change is about
    outcome: str = Field(max_length=8)  # success or failure
    status: int  # the HTTP status answered
    error_code: str = Field(default="", max_length=64)  # Cloudflare's or S3's error code on failure
