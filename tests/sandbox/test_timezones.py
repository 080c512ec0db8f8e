"""Windows and IANA zone names as Graph accepts and reports them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from outlook_sandbox import timezones
from outlook_sandbox.errors import GraphError

UTC = timezone.utc


@pytest.mark.parametrize("name,key", [
    ("Romance Standard Time", "Europe/Paris"),
    ("romance standard time", "Europe/Paris"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("UTC", "Etc/UTC"),
    ("Europe/Brussels", "Europe/Brussels"),
    ("Etc/GMT+12", "Etc/GMT+12"),
])
def test_windows_and_iana_names_resolve(name, key):
    assert timezones.zone_for(name).key == key


@pytest.mark.parametrize("name", ["Mars/Olympus", "Nowhere Standard Time", "", None, "EST5EDT", "../etc/passwd"])
def test_unknown_zone_is_time_zone_not_supported(name):
    with pytest.raises(GraphError) as caught:
        timezones.zone_for(name)
    assert caught.value.status == 400 and caught.value.code == "TimeZoneNotSupportedException"


@pytest.mark.parametrize("name,windows", [
    ("Europe/Brussels", "Romance Standard Time"),
    ("America/New_York", "Eastern Standard Time"),
    ("Asia/Kolkata", "India Standard Time"),
    ("pacific standard time", "Pacific Standard Time"),
    ("UTC", "UTC"),
])
def test_windows_name(name, windows):
    assert timezones.windows_name(name) == windows


def test_parse_local_across_daylight_saving():
    summer = timezones.parse_local("2026-07-01T09:00:00", "Romance Standard Time")
    winter = timezones.parse_local("2026-12-01T09:00:00.0000000", "Europe/Brussels")
    assert summer == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert winter == datetime(2026, 12, 1, 8, tzinfo=UTC)
    # An explicit offset fixes the instant.
    assert timezones.parse_local("2026-12-01T09:00:00Z", "Europe/Brussels") == datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_bad_date_time_is_400():
    with pytest.raises(GraphError) as caught:
        timezones.parse_local("tomorrow", "UTC")
    assert caught.value.status == 400


def test_formatting_has_seven_fractional_digits():
    instant = datetime(2017, 4, 15, 3, 0, 50, 757958, tzinfo=UTC)
    assert timezones.format_instant(instant) == "2017-04-15T03:00:50.7579580Z"
    assert timezones.date_time_time_zone(instant, "Pacific Standard Time") == {
        "dateTime": "2017-04-14T20:00:50.7579580", "timeZone": "Pacific Standard Time"}


def test_every_cldr_windows_zone_resolves():
    from tzlocal.windows_tz import win_tz
    for name in win_tz:
        assert timezones.is_supported(name), name
