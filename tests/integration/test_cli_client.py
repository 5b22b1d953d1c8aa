"""The CLI as a client: ``lakebox login`` and the config file, ``--version`` without the server's modules, and
one-line errors that say what to do next."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from tests.support import cli
from tests.support.cli import err
from tests.support.server import LakeboxServer, free_port

SERVER_MODULES = ("litestar", "sqlalchemy", "sqlmodel", "pyiceberg", "pyarrow", "boto3", "botocore", "uvicorn",
                  "httpx", "rich", "lakebox.server", "lakebox.app", "auth", "objectstore", "catalog", "management")  # fmt: skip


def test_login_then_commands_use_the_config_file(server: LakeboxServer, tmp_path: Path) -> None:
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    logged = cli.run("login", "--console-url", server.console_url, "--token", server.token, "--json", env=xdg)
    assert logged.returncode == 0, err(logged)
    result = json.loads(logged.stdout)
    path = tmp_path / "xdg" / "lakebox" / "config.toml"
    assert result == {
        "config_file": str(path), "console_url": server.console_url, "account_id": server.root_credentials()["account_id"],
        "s3_endpoint": server.s3_endpoint, "token_id": server.root_credentials()["token_id"],
    }  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # No flag, no LAKEBOX_* variable, no data dir in the working directory: the config file is the source.
    created = cli.run("bucket", "create", "from-config", "--json", env=xdg, cwd=tmp_path)
    assert created.returncode == 0, err(created)
    put = cli.run("object", "put", "from-config/k", "--pipe", "--json", env=xdg, cwd=tmp_path, stdin=b"v")
    assert put.returncode == 0, err(put)
    assert server.s3().get_object(Bucket="from-config", Key="k")["Body"].read() == b"v"
    # The environment wins over the file.
    elsewhere = f"http://127.0.0.1:{free_port()}"
    refused = cli.run("bucket", "list", env={**xdg, "LAKEBOX_CONSOLE_URL": elsewhere}, cwd=tmp_path)
    assert (
        err(refused)
        == f"lakebox: no token for {elsewhere} — set --token or LAKEBOX_TOKEN, or run lakebox login"
    )


def test_the_data_dir_of_the_working_directory(server: LakeboxServer) -> None:
    assert server.data_dir.name == "data"  # the default --data-dir is ./data
    listed = cli.run("bucket", "list", "--json", cwd=server.data_dir.parent)
    assert listed.returncode == 0, err(listed)
    assert "buckets" in json.loads(listed.stdout)


def test_login_with_a_bad_token_writes_nothing(server: LakeboxServer, tmp_path: Path) -> None:
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    refused = cli.run("login", "--console-url", server.console_url, "--token", "wrong", env=xdg)
    assert (refused.returncode, err(refused)) == (
        1,
        "lakebox: AuthenticationError: Authentication error [code 10000] — check --token/LAKEBOX_TOKEN, "
        "or run lakebox login",
    )
    assert not (tmp_path / "xdg").exists()


def test_unreachable_server_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["bucket", "list"], ["object", "get", "b/k", "--pipe"], ["token", "list"]):
        result = cli.run(*args, "--console-url", url, "--token", "t")
        assert (result.returncode, err(result)) == (
            1,
            f'lakebox: cannot reach {url} (ConnectError) — is "lakebox serve" running? '
            "(set --console-url or LAKEBOX_CONSOLE_URL)",
        )


def test_a_console_url_that_is_not_lakebox(server: LakeboxServer) -> None:
    result = cli.run("bucket", "list", "--console-url", server.s3_endpoint, "--token", server.token)
    assert result.returncode == 1
    assert err(result).endswith("without a Cloudflare API envelope — is the console URL a lakebox server's?")


def test_version_imports_no_server_module() -> None:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "lakebox", "--version"], capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    assert run.stdout.startswith("lakebox, version ")
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m.split(".")[0] in SERVER_MODULES or m in SERVER_MODULES}


def test_every_command_has_help() -> None:
    for args in (["--help"], ["bucket", "lifecycle", "add", "--help"], ["object", "put", "--help"]):
        assert cli.run(*args).returncode == 0
