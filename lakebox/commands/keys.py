"""``lakebox key``: the master keys of encryption at rest (run on a server's machine: it reads the key file and the
database directly).

Rotation: ``key rotate`` appends a new key to the key file; restart every node, and from then on new objects are
sealed under it while older ones keep reading under theirs. ``key list`` shows how much each key still seals.
``key retire ID`` removes a rotated-out key once nothing references it: rewrite what it sealed first (copying an
object onto itself with ``x-amz-metadata-directive: REPLACE`` seals the copy's metadata under the current key, and
deleting or overwriting an object drops its blobs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from lakebox.settings import Settings
    from objectstore.service.keyring import Keyring

# The server's modules (SQLAlchemy, the keyring) are imported when a key command runs, so that the client
# commands keep starting fast.

_OPTIONS = [
    click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory [env LAKEBOX_DATA_DIR]"),
    click.option(
        "--master-key-file", type=click.Path(path_type=Path), help="Key file [env LAKEBOX_MASTER_KEY_FILE]"
    ),
    click.option("--database-url", help="Metadata database [env LAKEBOX_DATABASE_URL]"),
]


def _settings(flags: dict[str, object]) -> Settings:
    from lakebox.settings import load_settings

    return load_settings({k: v for k, v in flags.items() if v is not None})


def _keyring(settings: Settings) -> Keyring:
    from objectstore.service.keyring import Keyring, KeyringError

    try:
        return Keyring.load(settings.data_dir, settings.master_key_file, os.environ)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in _OPTIONS:
        command = option(command)
    return command


@click.group()
def key() -> None:
    """Master keys of encryption at rest: list, rotate, retire."""


@key.command("list")
@_options
def key_list(**flags: object) -> None:
    """The keyring's keys (current last), and how many stored rows each one seals."""
    from infra.db import Database
    from objectstore.store.master_keys import MasterKeyRepository

    settings = _settings(flags)
    keyring = _keyring(settings)
    db = Database(settings.db_url)
    try:
        repo = MasterKeyRepository(db)
        registered = repo.registered()
        for key_id in keyring.keys:
            state = "current" if key_id == keyring.current.key_id else "old"
            uses = repo.references(key_id) if key_id in registered else 0
            click.echo(f"{key_id}  {state:7}  {uses} rows")
        for key_id in registered.keys() - keyring.keys.keys():
            click.echo(f"{key_id}  MISSING  {repo.references(key_id)} rows (not in {keyring.source})")
    finally:
        db.dispose()


@key.command("rotate")
@_options
def key_rotate(**flags: object) -> None:
    """Add a new current key to the key file (restart the server to use it); older keys stay for reading."""
    from objectstore.service.keyring import ENV_KEYS, format_keys, key_file_path, new_key, write_key_file

    settings = _settings(flags)
    fresh = new_key()
    if ENV_KEYS in os.environ:
        click.echo(f"{ENV_KEYS} holds the keys: append this one to it (comma-separated) and restart:")
        click.echo(format_keys([fresh]).splitlines()[-1].split()[0])
        return
    path = key_file_path(settings.data_dir, settings.master_key_file)
    keyring = _keyring(settings)
    write_key_file(path, [*keyring.keys.values(), fresh], replace=True)
    click.echo(
        f"new current master key {fresh.key_id} in {path}; restart lakebox to seal new objects under it"
    )


@key.command("retire")
@click.argument("key_id")
@_options
def key_retire(key_id: str, **flags: object) -> None:
    """Remove a rotated-out key that no stored object, part or upload references any more."""
    from infra.db import Database
    from objectstore.service.keyring import ENV_KEYS, key_file_path, write_key_file
    from objectstore.store.master_keys import MasterKeyRepository

    settings = _settings(flags)
    keyring = _keyring(settings)
    if key_id == keyring.current.key_id:
        raise click.ClickException(f"{key_id} is the current key: rotate first")
    db = Database(settings.db_url)
    try:
        repo = MasterKeyRepository(db)
        uses = repo.references(key_id)
        if uses:
            raise click.ClickException(f"{key_id} still seals {uses} rows: rewrite or delete them first")
        repo.forget(key_id)
    finally:
        db.dispose()
    if ENV_KEYS in os.environ:
        click.echo(f"{key_id} is no longer needed: remove it from {ENV_KEYS}")
        return
    path = key_file_path(settings.data_dir, settings.master_key_file)
    write_key_file(path, [k for k in keyring.keys.values() if k.key_id != key_id], replace=True)
    click.echo(f"retired master key {key_id} from {path}")
