"""What every management command shares: the connection options, ``--json``, and printing a result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lakebox.client.api import Api
from lakebox.client.config import resolve


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--console-url, --token, --data-dir (each with its LAKEBOX_* variable) and --json."""
    options = [
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON"),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            envvar="LAKEBOX_DATA_DIR",
            help="A local server's data dir, for its root credentials [env LAKEBOX_DATA_DIR; ./data]",
        ),
        click.option("--token", envvar="LAKEBOX_TOKEN", help="API token [env LAKEBOX_TOKEN; config file]"),
        click.option(
            "--console-url",
            envvar="LAKEBOX_CONSOLE_URL",
            help="Console URL, e.g. http://127.0.0.1:9001 [env LAKEBOX_CONSOLE_URL; config file]",
        ),
    ]
    for option in options:
        command = option(command)
    return command


def bucket_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The connection options and wrangler's ``-J/--jurisdiction``."""
    command = click.option(
        "--jurisdiction", "-J", help="The bucket's jurisdiction: default, eu or fedramp [default]"
    )(command)
    return connection_options(command)


def api(opts: dict[str, Any], s3_endpoint: str | None = None) -> Api:
    from lakebox.client.config import Target

    target = resolve(opts["console_url"], opts["token"], opts["data_dir"])
    if s3_endpoint:
        target = Target(target.console_url, target.token, target.account_id, s3_endpoint)
    return Api(target, opts.get("jurisdiction"))


def emit(result: Any, as_json: bool, lines: Callable[[Any], list[str]]) -> None:
    click.echo(json.dumps(result, indent=2) if as_json else "\n".join(lines(result)))
