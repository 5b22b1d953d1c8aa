"""First start: the data directory, the schema, crash recovery and the root credentials (run once, before any
worker serves)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

# Every table module, so that create_schema() creates them all (the catalog's service is imported lazily).
import auth.store.tables  # noqa: F401
import catalog.store.maintenance
import catalog.store.models  # noqa: F401
import infra.jobs  # noqa: F401
import management.store.migrations
import management.store.tables  # noqa: F401
import objectstore.store.tables
import objectstore.store.uploads  # noqa: F401
from auth.service.principal import Permission
from auth.service.secretbox import SecretBox
from auth.service.tokens import TokenService, secret_access_key_for
from infra.db import Database
from lakebox.services import blob_store
from lakebox.settings import Settings
from management.store.account import ensure_account_id
from objectstore.service.atrest import AtRest, open_keyring
from objectstore.service.objects import ObjectService
from objectstore.store.master_keys import MasterKeyRepository
from objectstore.store.repo import ObjectRepository

log = logging.getLogger("lakebox")
ROOT_CREDENTIALS = "root-credentials.json"


def prepare(settings: Settings) -> dict[str, Any] | None:
    """Creates what a node needs before serving; returns newly generated root credentials (to print), if any."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.db_url)
    try:
        db.create_schema()
        # Before anything is served: a keyring that cannot read the stored data stops the start here.
        keyring = open_keyring(
            MasterKeyRepository(db), settings.data_dir, settings.master_key_file, os.environ, register=True
        )
        objects = ObjectService(
            ObjectRepository(db),
            blob_store(settings),
            AtRest(keyring, settings.encryption),
        )
        published, deleted = objects.recover()
        if published or deleted:
            log.info("recovered in-flight uploads: %d completed, %d discarded", published, deleted)
        objects.reap_garbage()
        account_id = ensure_account_id(db)
        tokens = TokenService(db, SecretBox.from_data_dir(settings.data_dir))
        return _root_credentials(settings, tokens, account_id)
    finally:
        db.dispose()


def installation_account_id(settings: Settings) -> str:
    """The account id (created by ``prepare``) that the Cloudflare API at ``/client/v4`` serves."""
    db = Database(settings.db_url)
    try:
        return ensure_account_id(db)
    finally:
        db.dispose()


def _root_credentials(settings: Settings, tokens: TokenService, account_id: str) -> dict[str, Any] | None:
    path = settings.data_dir / ROOT_CREDENTIALS
    env_token = os.environ.get("LAKEBOX_ROOT_TOKEN")
    env_id = os.environ.get("LAKEBOX_ROOT_ACCESS_KEY_ID")
    if path.exists():
        _record_account_id(path, account_id)
        return None
    if tokens.count() > 0 and not env_token:
        return None
    if env_token:
        try:
            tokens.s3_identity(env_id or "")
            issued_id, value = env_id or "", env_token
        except Exception:
            issued = tokens.create(Permission.ADMIN_RW, name="root", token_value=env_token, token_id=env_id)
            issued_id, value = issued.id, issued.token
    else:
        issued = tokens.create(Permission.ADMIN_RW, name="root")
        issued_id, value = issued.id, issued.token
    creds = {
        "account_id": account_id,  # the Cloudflare API's account id (CLOUDFLARE_ACCOUNT_ID for wrangler)
        "token_id": issued_id,
        "access_key_id": issued_id,
        "secret_access_key": secret_access_key_for(value),
        "token": value,
        "s3_endpoint": settings.s3_endpoint,
        "catalog_uri": settings.catalog_uri,
        "console_url": settings.console_url,
        "region": "auto",
    }
    write_private_json(path, creds)
    # Printed once when generated; credentials the operator passed in the environment are not echoed to the log.
    return None if env_token else creds


def _record_account_id(path: Path, account_id: str) -> None:
    """Credentials written before the management API existed get the installation's account id."""
    try:
        creds = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(creds, dict) and creds.get("account_id") != account_id:
        write_private_json(path, {**creds, "account_id": account_id})


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
