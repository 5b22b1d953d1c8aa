"""The ``lakebox`` command line: ``serve`` (the server), and the client commands, which mirror wrangler's ``r2``
commands over the server's Cloudflare v4 API (``/client/v4``) and its S3 API.

This module imports click and the command modules only; the command modules import ``lakebox.client`` (never this
module, never the server), so ``lakebox --version`` starts in well under 300 ms.
"""

from __future__ import annotations

import click

from lakebox.commands import audit, buckets, bulk, jobs, keys, login, migrate, objects, serve, tokens


@click.group()
@click.version_option(package_name="lakebox", prog_name="lakebox")
def main() -> None:
    """lakebox: a self-hosted R2 and R2 Data Catalog."""


# One line per command module.
main.add_command(serve.serve)
main.add_command(login.login)
main.add_command(buckets.bucket)
main.add_command(objects.object_)
objects.object_.add_command(bulk.bulk)  # lakebox object bulk put
main.add_command(bulk.bulk)  # wrangler's r2 bulk put
main.add_command(tokens.token)
main.add_command(keys.key)
main.add_command(audit.audit)
main.add_command(jobs.jobs)
main.add_command(migrate.migrate)
