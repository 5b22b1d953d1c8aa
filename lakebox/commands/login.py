"""``lakebox login``: remember a server and a token in the user config file (mode 0600)."""

from __future__ import annotations

import click

from lakebox.client.api import Api
from lakebox.client.config import Target, config_path, write_config
from lakebox.client.output import emit


@click.command()
@click.option("--console-url", required=True, envvar="LAKEBOX_CONSOLE_URL", help="e.g. http://127.0.0.1:9001")
@click.option("--token", required=True, envvar="LAKEBOX_TOKEN", help="An API token of that server")
@click.option("--s3-endpoint", help="The S3 API's URL [the server's own, asked at login]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
def login(console_url: str, token: str, s3_endpoint: str | None, as_json: bool) -> None:
    """Check a token against a server and save both to the user config file for later commands."""
    client = Api(Target(console_url.rstrip("/"), token, None, s3_endpoint))
    verified = client.call("GET", "/user/tokens/verify")
    values = {
        "console_url": client.target.console_url,
        "token": token,
        "account_id": client.account_id,
        "s3_endpoint": client.s3_endpoint,
    }
    path = config_path()
    write_config(path, values)
    result = {
        "config_file": str(path),
        "console_url": values["console_url"],
        "account_id": values["account_id"],
        "s3_endpoint": values["s3_endpoint"],
        "token_id": verified["id"],
    }
    emit(
        result,
        as_json,
        lambda r: [f"Logged in to {r['console_url']} as token {r['token_id']}; saved to {path}."],
    )
