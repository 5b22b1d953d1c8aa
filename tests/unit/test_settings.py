"""Settings: booleans from flags, environment and lakebox.toml; a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakebox.settings import load_settings


@pytest.mark.parametrize(("raw", "value"), [("false", False), ("0", False), ("Off", False), ("yes", True)])
def test_direct_io_from_the_environment(raw: str, value: bool) -> None:
    assert load_settings({}, {"LAKEBOX_DIRECT_IO": raw}).direct_io is value


def test_direct_io_is_on_by_default_and_the_flag_wins(tmp_path: Path) -> None:
    assert load_settings({}, {}).direct_io is True
    env = {"LAKEBOX_DIRECT_IO": "true", "LAKEBOX_DATA_DIR": str(tmp_path)}
    assert load_settings({"direct_io": False}, env).direct_io is False


def test_direct_io_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "lakebox.toml").write_text("direct_io = false\n")
    assert load_settings({"data_dir": tmp_path}, {}).direct_io is False


def test_a_value_that_is_not_a_boolean_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="LAKEBOX_DIRECT_IO: expected true or false, got 'maybe'"):
        load_settings({}, {"LAKEBOX_DIRECT_IO": "maybe"})
