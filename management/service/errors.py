"""Errors of the management service. Each carries the Cloudflare API error code clients see; the HTTP status is
chosen by ``management.api.errors``."""

from __future__ import annotations


class ManagementError(Exception):
    code = 10001
    default_message = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotAuthenticated(ManagementError):
    """No, an unknown, a revoked or an expired bearer token."""

    code = 10000
    default_message = "Authentication error"


class Forbidden(ManagementError):
    """A valid token whose permission does not cover the route (R2's permission groups)."""

    code = 10000
    default_message = "Authentication error"


class NoSuchAccount(ManagementError):
    code = 7003
    default_message = "Could not route to the account, perhaps your object identifier is invalid?"


class InvalidRequest(ManagementError):
    """A body, query parameter or header the route cannot accept."""

    code = 10040
    default_message = "The JSON you provided was not well formed."


class NoCorsConfiguration(ManagementError):
    code = 10059
    default_message = "The CORS configuration does not exist."


class NoSuchWarehouse(ManagementError):
    code = 40401
    default_message = "Warehouse not found"


class CatalogConflict(ManagementError):
    """R2's answer to a change sent with ``cf-r2-data-catalog-check: true`` to a bucket whose catalog is on."""

    code = 10081
    default_message = (
        "Data Catalog is enabled for this bucket. This operation could leave your bucket's Data Catalog in an "
        "invalid state."
    )


class NotImplementedYet(ManagementError):
    """A Cloudflare route for a feature lakebox does not have yet."""

    code = 10042

    def __init__(self, feature: str) -> None:
        super().__init__(f"{feature}: not implemented in lakebox yet")


class NoSuchMigration(ManagementError):
    code = 10090
    default_message = "The migration does not exist."


class MigrationEnded(ManagementError):
    """An abort of a migration that already completed, failed or was aborted."""

    code = 10091
    default_message = "The migration has already ended."
