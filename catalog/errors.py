"""Catalog domain errors, protocol-neutral.

The catalog edge (``catalog.api.errors``) maps each class once to the Iceberg ``ErrorModel`` type and HTTP
status."""

from __future__ import annotations


class CatalogError(Exception):
    default_message = "Catalog error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class BadRequest(CatalogError):
    default_message = "Malformed request"


class InvalidArgument(BadRequest):
    """A 400 that Iceberg's Java catalog reports as ``IllegalArgumentException`` (a failed precondition; Java
    clients rethrow it as such)."""

    default_message = "Invalid argument"


class InvalidMetadata(BadRequest):
    """A 400 that Iceberg's Java catalog reports as ``ValidationException`` (metadata that breaks a rule)."""

    default_message = "Invalid metadata"


class UnprocessableEntity(CatalogError):
    default_message = "The request is well formed but cannot be processed"


class NotAuthorized(CatalogError):
    default_message = "Authentication is required: send a valid token as 'Authorization: Bearer <token>'"


class Forbidden(CatalogError):
    default_message = "The token does not have the permission required for this operation"


class NoSuchWarehouse(CatalogError):
    default_message = "The warehouse does not exist or its catalog is not enabled"


class NoSuchNamespace(CatalogError):
    default_message = "The namespace does not exist"


class NoSuchTable(CatalogError):
    default_message = "The table does not exist"


class NoSuchView(CatalogError):
    default_message = "The view does not exist"


class AlreadyExists(CatalogError):
    default_message = "The identifier already exists"


class NamespaceNotEmpty(CatalogError):
    default_message = "The namespace is not empty"


class CommitFailed(CatalogError):
    default_message = "Commit failed: the requirements were not met by the current metadata"


class UnsupportedOperation(CatalogError):
    default_message = "The operation is not supported"


class ServiceUnavailable(CatalogError):
    default_message = "The catalog is temporarily unavailable; retry later"
