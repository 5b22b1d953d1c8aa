"""One-line errors: ``lakebox: <what went wrong> — <what to do next>`` on standard error, exit status 1."""

from __future__ import annotations

from typing import IO, Any

import click


class CliError(click.ClickException):
    """Shown as ``lakebox: message`` (no ``Error:`` prefix, no traceback), exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"lakebox: {self.format_message()}", err=True, file=file)


class ApiError(CliError):
    """An error envelope of the Cloudflare v4 API, or an S3 error."""

    def __init__(self, message: str, status: int, code: int | str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
