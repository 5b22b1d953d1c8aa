"""The spec's table-encryption updates (``add-encryption-key``, ``remove-encryption-key``), which pyiceberg 0.12
does not model: the ``encryption-keys`` of the table metadata are carried beside pyiceberg's model and merged
back into the document written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field
from pyiceberg.table import update as u
from pyiceberg.typedef import IcebergBaseModel

from catalog.errors import BadRequest

KEYS = "encryption-keys"


class EncryptedKey(IcebergBaseModel):
    key_id: str = Field(alias="key-id")
    encrypted_key_metadata: str = Field(alias="encrypted-key-metadata")
    encrypted_by_id: str | None = Field(alias="encrypted-by-id", default=None)
    properties: dict[str, str] | None = None


class AddEncryptionKeyUpdate(IcebergBaseModel):
    action: Literal["add-encryption-key"] = Field(default="add-encryption-key")
    encryption_key: EncryptedKey = Field(alias="encryption-key")


class RemoveEncryptionKeyUpdate(IcebergBaseModel):
    action: Literal["remove-encryption-key"] = Field(default="remove-encryption-key")
    key_id: str = Field(alias="key-id")


CatalogTableUpdate = Annotated[
    u.AssignUUIDUpdate
    | u.UpgradeFormatVersionUpdate
    | u.AddSchemaUpdate
    | u.SetCurrentSchemaUpdate
    | u.AddPartitionSpecUpdate
    | u.SetDefaultSpecUpdate
    | u.AddSortOrderUpdate
    | u.SetDefaultSortOrderUpdate
    | u.AddSnapshotUpdate
    | u.SetSnapshotRefUpdate
    | u.RemoveSnapshotsUpdate
    | u.RemoveSnapshotRefUpdate
    | u.SetLocationUpdate
    | u.SetPropertiesUpdate
    | u.RemovePropertiesUpdate
    | u.SetStatisticsUpdate
    | u.RemoveStatisticsUpdate
    | u.RemovePartitionSpecsUpdate
    | u.RemoveSchemasUpdate
    | u.SetPartitionStatisticsUpdate
    | u.RemovePartitionStatisticsUpdate
    | AddEncryptionKeyUpdate
    | RemoveEncryptionKeyUpdate,
    Field(discriminator="action"),
]
"""Every update action of the spec: pyiceberg's ``TableUpdate`` members plus the two above."""


def is_key_update(update: object) -> bool:
    return isinstance(update, AddEncryptionKeyUpdate | RemoveEncryptionKeyUpdate)


def keys_of(metadata_json: str | None) -> list[dict[str, Any]]:
    if not metadata_json or KEYS not in metadata_json:
        return []
    keys: list[dict[str, Any]] = json.loads(metadata_json).get(KEYS) or []
    return keys


def apply_key_updates(keys: list[dict[str, Any]], updates: Sequence[object]) -> list[dict[str, Any]]:
    out = list(keys)
    for update in updates:
        if isinstance(update, AddEncryptionKeyUpdate):
            key = update.encryption_key.model_dump(by_alias=True, exclude_none=True)
            out = [k for k in out if k.get("key-id") != key["key-id"]] + [key]
        elif isinstance(update, RemoveEncryptionKeyUpdate):
            if not any(k.get("key-id") == update.key_id for k in out):
                raise BadRequest(f"Cannot remove unknown encryption key: {update.key_id}")
            out = [k for k in out if k.get("key-id") != update.key_id]
    return out


def with_keys(doc: dict[str, Any], keys: list[dict[str, Any]]) -> None:
    """Sets the table's encryption keys in its metadata document (none left: no ``encryption-keys``)."""
    if keys:
        doc[KEYS] = keys
    else:
        doc.pop(KEYS, None)
