"""No secret is ever logged or stored in the clear.

A server at debug log level goes through a full flow (tokens created over the admin API and the CLI, S3 with
tokens and temporary credentials in headers and presigned URLs, failed authentications, bearer calls, revocation);
then its log and every file of its data directory (the SQLite database with its WAL, blobs) are searched for every
token value, secret access key and session token. Only ``root-credentials.json`` (0600) holds the root's.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.admin import cf, client, create_token, revoke, temp_credentials
from tests.support.server import LakeboxServer, running


def _all_bytes(data_dir: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in data_dir.rglob("*")
        if path.is_file() and path.name != "root-credentials.json"
    }


def test_no_secret_in_logs_or_database(tmp_path: Path) -> None:
    secrets: dict[str, str] = {}
    with running(tmp_path / "data", extra_env={"LAKEBOX_LOG_LEVEL": "debug"}) as server:
        secrets |= {"root token": server.token, "root secret": server.secret_access_key}
        token_id = _flow(server, secrets)
        assert (server.data_dir / "root-credentials.json").stat().st_mode & 0o077 == 0
    log = (server.log_path or Path()).read_bytes()
    assert b"DEBUG lakebox.auth" in log, "the server did not log authentication at debug level"
    assert token_id.encode() in log  # what is logged about a token: its id
    stored = _all_bytes(server.data_dir)
    if server.database_url is None:
        assert any(p.name.startswith("lakebox.db") for p in stored)
    else:
        stored[Path("postgresql")] = _database_dump(server.database_url)
    for what, value in secrets.items():
        assert value.encode() not in log, f"{what} in the server log"
        for path, content in stored.items():
            assert value.encode() not in content, f"{what} in {path.name}"


def _database_dump(url: str) -> bytes:
    """Every row of every table, as bytes (binary columns raw)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    out = bytearray()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    out += bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                    out += b"\0"
    engine.dispose()
    return bytes(out)


def _flow(server: LakeboxServer, secrets: dict[str, str]) -> str:
    """Runs the flow, adding every secret it sees to ``secrets``; returns the id of the token it used."""
    root = server.s3()
    root.create_bucket(Bucket="hygiene")
    token = create_token(server, "object-rw", buckets=["hygiene"], name="app")
    secrets |= {"token": token["token"], "token secret": token["secret_access_key"]}
    token_id = token["id"]
    c = client(server, token)
    c.put_object(Bucket="hygiene", Key="logs/a", Body=b"data")
    c.get_object(Bucket="hygiene", Key="logs/a")["Body"].read()
    httpx.get(c.generate_presigned_url("get_object", Params={"Bucket": "hygiene", "Key": "logs/a"}))

    temp = temp_credentials(server, "hygiene", "object-read-write", prefixes=["logs/"], ttl_seconds=600)
    secrets |= {"temp secret": temp["secret_access_key"], "session token": temp["session_token"]}
    t = client(server, temp)
    t.list_objects_v2(Bucket="hygiene", Prefix="logs/")
    t.put_object(Bucket="hygiene", Key="logs/b", Body=b"more")
    httpx.get(t.generate_presigned_url("get_object", Params={"Bucket": "hygiene", "Key": "logs/b"}))
    with contextlib.suppress(ClientError):
        t.get_object(Bucket="hygiene", Key="outside")
    forged = dict(temp, session_token=temp["session_token"][::-1])
    with contextlib.suppress(ClientError):
        client(server, forged).get_object(Bucket="hygiene", Key="logs/a")
    with contextlib.suppress(ClientError):
        client(server, dict(token, secret_access_key="0" * 64)).list_objects_v2(Bucket="hygiene")

    cli = subprocess.run(
        [sys.executable, "-m", "lakebox", "token", "create", "--permission", "admin-ro", "--json"],
        env={**os.environ, "LAKEBOX_CONSOLE_URL": server.console_url, "LAKEBOX_TOKEN": server.token},
        capture_output=True,
        text=True,
        check=True,
    )
    from_cli = json.loads(cli.stdout)
    secrets |= {"cli token": from_cli["token"], "cli secret": from_cli["secret_access_key"]}
    assert cf(server, "GET", "/user/tokens", token=from_cli["token"]).status_code == 403
    assert cf(server, "GET", "/user/tokens", token=token["token"] + "x").status_code == 401
    with contextlib.suppress(httpx.HTTPError):  # the catalog takes the token value as its bearer token
        httpx.get(
            f"{server.catalog_uri}/v1/config",
            params={"warehouse": "hygiene"},
            headers={"authorization": f"Bearer {server.token}"},
            timeout=5,
        )
    revoke(server, token_id)
    with pytest.raises(ClientError):
        c.get_object(Bucket="hygiene", Key="logs/a")
    return str(token_id)
