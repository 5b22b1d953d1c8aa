"""The connection limits as settings: defaults, each source, and values that are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lakebox.cli import main
from lakebox.settings import load_settings


def test_defaults() -> None:
    settings = load_settings({}, {})
    assert settings.max_request_line_bytes == 16384
    assert settings.max_header_bytes == 32768  # above R2's 8,192 bytes of metadata, with room for the rest
    assert (settings.header_timeout, settings.body_timeout, settings.keep_alive_timeout) == (20, 60, 30)
    assert (settings.max_connections, settings.backlog) == (1000, 2048)


def test_flag_over_environment_over_file(tmp_path: Path) -> None:
    (tmp_path / "lakebox.toml").write_text("max_header_bytes = 20000\nheader_timeout = 7\n")
    env = {"LAKEBOX_DATA_DIR": str(tmp_path), "LAKEBOX_HEADER_TIMEOUT": "9", "LAKEBOX_BODY_TIMEOUT": "11"}
    settings = load_settings({"body_timeout": 13}, env)
    assert (settings.max_header_bytes, settings.header_timeout, settings.body_timeout) == (20000, 9, 13)


def test_a_value_that_is_not_a_number_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="LAKEBOX_MAX_CONNECTIONS: expected a whole number, got 'many'"):
        load_settings({}, {"LAKEBOX_MAX_CONNECTIONS": "many"})


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--max-header-bytes", "0"], {}, "Invalid value for '--max-header-bytes'"),
        ([], {"LAKEBOX_HEADER_TIMEOUT": "0"}, "--header-timeout must be at least 1"),
        ([], {"LAKEBOX_BACKLOG": "x"}, "LAKEBOX_BACKLOG: expected a whole number, got 'x'"),
    ],
)
def test_serve_refuses_a_limit_below_one(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path), *args], env=env)
    assert result.exit_code == 2
    assert message in result.output
