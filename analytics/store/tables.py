"""Tables of the analytics store: operation counts per minute, storage samples, and the sampler's claim slot."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from infra.db import OrderedText


class OperationCountRow(SQLModel, table=True):
    """Requests of one minute, bucket, action, status and response code, summed over every worker and node."""

    __tablename__ = "r2_operation_count"

    minute: int = Field(primary_key=True)  # epoch seconds of the minute's start (UTC)
    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))  # "" for account-level operations
    action: str = Field(primary_key=True, max_length=64)
    status: str = Field(primary_key=True, max_length=16)  # success, userError, internalError
    code: int = Field(primary_key=True)
    requests: int = Field(sa_column=Column(BigInteger, nullable=False))


class RetrievalRow(SQLModel, table=True):
    """Requests of one minute that read Infrequent Access data, and the bytes they read (R2's data retrieval),
    by the dimensions of ``r2_operation_count`` and the storage class read."""

    __tablename__ = "r2_retrieval"

    minute: int = Field(primary_key=True)
    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    action: str = Field(primary_key=True, max_length=64)
    status: str = Field(primary_key=True, max_length=16)
    code: int = Field(primary_key=True)
    storage_class: str = Field(primary_key=True, max_length=32)
    requests: int = Field(sa_column=Column(BigInteger, nullable=False))
    bytes: int = Field(sa_column=Column(BigInteger, nullable=False))


class StorageSampleRow(SQLModel, table=True):
    """One bucket's storage at one sampling time."""

    __tablename__ = "r2_storage_sample"

    at: float = Field(primary_key=True)  # epoch seconds
    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    object_count: int = Field(sa_column=Column(BigInteger, nullable=False))
    upload_count: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    metadata_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The part of object_count and payload_size in Infrequent Access (NULL in samples of an older lakebox).
    ia_object_count: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ia_payload_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ia_metadata_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class JobSlotRow(SQLModel, table=True):
    """A periodic job's next due time: the worker whose compare-and-set moves it forward runs the job."""

    __tablename__ = "analytics_job_slot"

    name: str = Field(primary_key=True, max_length=32)
    due_at: float
