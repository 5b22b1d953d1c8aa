"""The data-location settings: named storage locations and the hints and jurisdictions mapped to them, each
refused at start with a line that says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakebox.settings import load_settings


def test_roots_of_locations_and_their_tiers(tmp_path: Path) -> None:
    loaded = load_settings(
        {"data_dir": str(tmp_path)},
        {
            "LAKEBOX_STORAGE_LOCATIONS": "eu-disk=/srv/eu, west=/mnt/west",
            "LAKEBOX_LOCATION_HINTS": "WEUR=eu-disk,wnam=west",
            "LAKEBOX_JURISDICTIONS": "eu=eu-disk",
            "LAKEBOX_IA_DIR": "/cold",
        },
    )
    assert loaded.storage_roots() == {
        "ia": Path("/cold"),
        "eu-disk": Path("/srv/eu"),
        "eu-disk.ia": Path("/srv/eu/ia"),
        "west": Path("/mnt/west"),
        "west.ia": Path("/mnt/west/ia"),
    }
    assert loaded.hint_locations() == {"weur": "eu-disk", "wnam": "west"}
    assert loaded.jurisdiction_locations() == {"eu": "eu-disk"}
    default = load_settings({"data_dir": str(tmp_path)}, {})
    assert default.storage_roots() == {"ia": tmp_path / "ia"}


def test_a_table_in_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "lakebox.toml").write_text('[storage_locations]\nfast = "/mnt/fast"\n')
    assert load_settings({"data_dir": str(tmp_path)}, {}).locations() == {"fast": Path("/mnt/fast")}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"storage_locations": "eu"}, "LAKEBOX_STORAGE_LOCATIONS: expected name=value pairs, got 'eu'"),
        ({"storage_locations": "ia=/x"}, "LAKEBOX_STORAGE_LOCATIONS: 'ia' is not a location name"),
        ({"storage_locations": "a.b=/x"}, "LAKEBOX_STORAGE_LOCATIONS: 'a.b' is not a location name"),
        ({"location_hints": "mars=x"}, "LAKEBOX_LOCATION_HINTS: unknown 'mars'"),
        (
            {"location_hints": "weur=nowhere"},
            "LAKEBOX_LOCATION_HINTS: weur names 'nowhere', not a storage location",
        ),
        ({"jurisdictions": "us=x"}, "LAKEBOX_JURISDICTIONS: unknown 'us'"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, env: dict[str, str], message: str) -> None:
    loaded = load_settings({"data_dir": str(tmp_path)}, {f"LAKEBOX_{k.upper()}": v for k, v in env.items()})
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        loaded.check_locations()
