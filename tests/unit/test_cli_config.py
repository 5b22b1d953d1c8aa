"""Where the CLI finds its server and token: flags/environment, then the user config file, then a data dir's
root credentials; a token only ever goes with the console URL it came with."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lakebox.client.config import Target, config_path, read_config, resolve, write_config
from lakebox.client.errors import CliError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _data_dir(home: Path, url: str, token: str) -> Path:
    data = home / "data"
    data.mkdir()
    creds = {"console_url": url, "token": token, "account_id": "acct", "s3_endpoint": "http://s3"}
    (data / "root-credentials.json").write_text(json.dumps(creds))
    return data


def test_config_path_honours_xdg(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path() == home / "xdg" / "lakebox" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(home / "h"))
    assert config_path() == home / "h" / ".config" / "lakebox" / "config.toml"


def test_written_config_is_private_and_reads_back(home: Path) -> None:
    values = {"console_url": "http://a:9001", "token": 'to"ken\\', "account_id": "x", "s3_endpoint": ""}
    write_config(config_path(), values)
    assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
    assert read_config(config_path()) == {
        "console_url": "http://a:9001",
        "token": 'to"ken\\',
        "account_id": "x",
    }


def test_flags_win_over_config_over_data_dir(home: Path) -> None:
    data = _data_dir(home, "http://local:9001", "root-token")
    assert resolve(None, None, data) == Target("http://local:9001", "root-token", "acct", "http://s3")
    write_config(config_path(), {"console_url": "http://remote:9001/", "token": "user-token"})
    assert resolve(None, None, data) == Target("http://remote:9001", "user-token")
    assert resolve("http://flag:1", "flag-token", data) == Target("http://flag:1", "flag-token")


def test_a_token_stays_with_its_url(home: Path) -> None:
    data = _data_dir(home, "http://local:9001", "root-token")
    write_config(config_path(), {"console_url": "http://remote:9001", "token": "user-token"})
    # The URL from the flag matches the data dir's, not the config file's: the data dir's token is used.
    assert resolve("http://local:9001", None, data).token == "root-token"
    with pytest.raises(CliError, match=r"^no token for http://elsewhere:1 — set --token or LAKEBOX_TOKEN"):
        resolve("http://elsewhere:1", None, data)


def test_nothing_configured(home: Path) -> None:
    with pytest.raises(CliError) as info:
        resolve(None, None, home / "empty")
    assert info.value.message == (
        "no lakebox server configured — set --console-url or LAKEBOX_CONSOLE_URL, run lakebox login, "
        "or give --data-dir/LAKEBOX_DATA_DIR of a local server"
    )


def test_unreadable_config_says_what_to_do(home: Path) -> None:
    config_path().parent.mkdir(parents=True)
    config_path().write_text("console_url = ")
    with pytest.raises(CliError, match=r"fix it or run lakebox login again\)$"):
        resolve(None, None, None)
