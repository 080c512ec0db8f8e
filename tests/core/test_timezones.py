"""Windows <-> IANA zone names from CLDR (tzlocal), with reported fallbacks."""

from __future__ import annotations

import pytest
from tzlocal.windows_tz import win_tz

from outlook_sync.timezones import (
    CUSTOM_TIME_ZONE,
    is_iana_name,
    resolve_time_zone,
    same_zone,
    windows_name,
)


def test_every_cldr_windows_zone_resolves_without_warning():
    for name, iana in win_tz.items():
        resolved, warning = resolve_time_zone(name)
        assert warning is None and is_iana_name(resolved), name
        assert windows_name(resolved) == name or same_zone(resolved, iana)


@pytest.mark.parametrize("name, expected", [
    ("Romance Standard Time", "Europe/Paris"),
    ("Eastern Standard Time", "America/New_York"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
    ("UTC-11", "Etc/GMT+11"),
    ("romance standard time", "Europe/Paris"),
    ("UTC", "UTC"),
    ("tzone://Microsoft/Utc", "UTC"),
    ("Europe/Brussels", "Europe/Brussels"),
    ("Pacific/Pago_Pago", "Pacific/Pago_Pago"),
])
def test_names_graph_uses_are_understood(name, expected):
    assert resolve_time_zone(name) == (expected, None)


@pytest.mark.parametrize("name", [CUSTOM_TIME_ZONE, "Mars Standard Time", "", None, "../etc/passwd"])
def test_unknown_names_fall_back_and_are_reported(name):
    assert resolve_time_zone(name)[0] == "UTC"
    zone, warning = resolve_time_zone(name, "Europe/Brussels")
    assert zone == "Europe/Brussels" and warning and "Europe/Brussels" in warning


def test_invalid_fallback_becomes_utc():
    assert resolve_time_zone("Mars Standard Time", "Not/AZone")[0] == "UTC"


def test_windows_names_for_writing():
    assert windows_name("Europe/Brussels") == "Romance Standard Time"
    assert windows_name("Pacific/Pago_Pago") == "UTC-11"
    assert windows_name("UTC") == windows_name("Etc/UTC") == "UTC"
    assert windows_name("Antarctica/Troll") in ("Antarctica/Troll", "W. Europe Standard Time", "Greenwich Standard Time", "UTC")


def test_zones_sharing_a_windows_zone_are_the_same_for_sync():
    assert same_zone("Europe/Brussels", "Europe/Paris")
    assert same_zone("Pacific/Pago_Pago", "Etc/GMT+11")
    assert not same_zone("Europe/Brussels", "Europe/London")


def test_a_zone_name_too_long_for_a_file_name_is_unknown_not_a_crash():
    zone, warning = resolve_time_zone("Zone/" + "x" * 300, "Europe/Brussels")
    assert zone == "Europe/Brussels" and "unknown time zone" in warning
