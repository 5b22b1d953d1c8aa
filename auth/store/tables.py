"""Tables of the auth store. Secret material is kept encrypted (``*_enc``) or as a one-way hash (``*_hash``)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ApiToken(SQLModel, table=True):
    __tablename__ = "auth_token"

    id: str = Field(primary_key=True, max_length=64)  # the S3 access key id
    name: str = Field(default="", max_length=256)
    permission: str = Field(max_length=16)
    buckets: str = Field(default="")  # JSON list; empty list = every bucket
    # SHA-256 of the secret access key (itself SHA-256 of the token value): finds a token from a bearer value.
    secret_hash: str = Field(index=True, unique=True, max_length=64)
    secret_enc: bytes  # the secret access key, encrypted with the data dir's key (SigV4 needs it)
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None


class TempCredential(SQLModel, table=True):
    __tablename__ = "auth_temp_credential"

    id: str = Field(primary_key=True, max_length=64)  # the temporary access key id
    parent_id: str = Field(index=True, max_length=64)
    permission: str = Field(max_length=24)
    bucket: str = Field(max_length=64)
    prefixes: str = Field(default="[]")  # JSON list
    objects: str = Field(default="[]")  # JSON list
    secret_enc: bytes  # the secret access key, encrypted with the data dir's key
    session_token_hash: str = Field(max_length=64)  # SHA-256 of the session token
    created_at: float
    expires_at: float = Field(index=True)
