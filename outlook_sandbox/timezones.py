"""Time zones as Graph speaks them.

A Graph ``dateTimeTimeZone`` is ``{"dateTime": "2017-04-15T11:00:00.0000000",
"timeZone": "Pacific Standard Time"}``: a wall-clock time without offset plus a
zone name. Graph accepts Windows zone ids ("Romance Standard Time") and IANA
names ("Europe/Brussels") on input, answers in UTC unless the client sends
``Prefer: outlook.timezone``, and reports the zone an event was created in as a
Windows id in ``originalStartTimeZone`` (reference §7).

The Windows <-> IANA mapping is Unicode CLDR's ``windowsZones.xml`` as shipped
by tzlocal (``win_tz``/``tz_win``); the rules themselves come from zoneinfo.
This module is the sandbox's own and must stay independent of ``outlook_sync``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from .errors import GraphError

UTC = timezone.utc

# Windows ids are matched case-insensitively (UNCONFIRMED for Graph; Windows
# itself treats registry key names case-insensitively).
_WINDOWS_BY_LOWER = {name.lower(): name for name in win_tz}
# Names Exchange uses for UTC that are neither CLDR Windows ids nor IANA names.
_UTC_ALIASES = {"utc", "tzone://microsoft/utc", "z"}


def unsupported(name: str) -> GraphError:
    return GraphError(400, "TimeZoneNotSupportedException",
                      "A valid TimeZone value must be specified. The following TimeZone value "
                      f"is not supported: '{name}'.")


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    key = name.strip().lower()
    if key in _UTC_ALIASES:
        return ZoneInfo("Etc/UTC")
    windows = _WINDOWS_BY_LOWER.get(key)
    if windows is not None:
        return ZoneInfo(win_tz[windows])
    if "/" not in name and name not in ("GMT", "UTC"):
        # zoneinfo also knows legacy names such as "EST5EDT" or "Cuba"; Graph's
        # IANA list (datetimetimezone.md) holds Area/Location names only.
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for(name: object) -> ZoneInfo:
    """The zone for a Windows id or IANA name; 400 ``TimeZoneNotSupportedException`` otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise unsupported("" if name is None else str(name))
    zone = _zone(name)
    if zone is None:
        raise unsupported(name)
    return zone


def is_supported(name: object) -> bool:
    return isinstance(name, str) and bool(name.strip()) and _zone(name) is not None


def windows_name(name: str) -> str:
    """The Windows id Exchange would record for a zone given as Windows or IANA.

    UNCONFIRMED (reference §12): what ``originalStartTimeZone`` says for an
    event created with an IANA name. Exchange stores Windows time zone
    definitions, so the sandbox answers with the CLDR Windows id; an IANA zone
    CLDR does not map (rare) is echoed as given.
    """
    key = name.strip().lower()
    if key in _UTC_ALIASES:
        return "UTC"
    windows = _WINDOWS_BY_LOWER.get(key)
    if windows is not None:
        return windows
    return tz_win.get(name.strip()) or tz_win.get(zone_for(name).key) or name.strip()


def parse_local(value: object, zone_name: object) -> datetime:
    """A ``dateTimeTimeZone``'s wall-clock ``dateTime`` in ``zone_name`` -> aware UTC.

    An explicit offset in ``dateTime`` ("...Z", "+02:00") fixes the instant and
    wins over ``timeZone`` (UNCONFIRMED; Graph's docs only show offset-less values).
    Non-existent local times (spring-forward gap) resolve with fold=0, i.e. the
    pre-transition offset, which moves them forward as Windows does.
    """
    zone = zone_for(zone_name)
    if not isinstance(value, str) or not value.strip():
        raise GraphError(400, "BadRequest", "Cannot convert the literal '' to the expected type 'Edm.String'."
                         if value is None else f"Cannot convert the literal '{value}' to a dateTime.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise GraphError(400, "BadRequest", f"Cannot convert the literal '{value}' to a dateTime.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def to_local(instant: datetime, zone_name: str) -> datetime:
    """An aware instant as naive wall-clock time in ``zone_name``."""
    return instant.astimezone(zone_for(zone_name)).replace(tzinfo=None)


def format_wall_clock(local: datetime) -> str:
    """Graph's ``dateTime`` form: no offset, seven fractional digits."""
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"


def format_instant(instant: datetime) -> str:
    """Graph's DateTimeOffset form in UTC, e.g. ``2017-04-15T03:00:50.7579581Z``.

    Python keeps microseconds, so the seventh digit is always 0.
    """
    return format_wall_clock(instant.astimezone(UTC).replace(tzinfo=None)) + "Z"


def date_time_time_zone(instant: datetime, zone_name: str) -> dict:
    """``{"dateTime", "timeZone"}`` for an instant shown in ``zone_name`` (echoed as given)."""
    return {"dateTime": format_wall_clock(to_local(instant, zone_name)), "timeZone": zone_name}
