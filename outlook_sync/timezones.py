"""Time zone names as Microsoft Graph speaks them, mapped to IANA names.

Graph names zones in two ways. ``originalStartTimeZone``/``originalEndTimeZone``
and ``recurrence.range.recurrenceTimeZone`` hold **Windows** zone ids
("Romance Standard Time"), while ``start.timeZone``/``end.timeZone`` hold
``"UTC"`` or whatever the ``Prefer: outlook.timezone`` header asked for, which
may be a Windows id or an IANA name. Desktop Outlook can also leave the legacy
placeholder ``tzone://Microsoft/Custom`` (a zone defined inline, whose rules
Graph does not expose) and EWS may yield ``tzone://Microsoft/Utc``.

The core keeps IANA names (what Odoo and :mod:`zoneinfo` use). The Windows <->
IANA tables come from ``tzlocal.windows_tz`` (generated from Unicode CLDR
``windowsZones.xml``), never from a hand-typed list.

Unknown names never raise: :func:`resolve_time_zone` returns the fallback zone
(UTC unless the caller passes the mailbox's zone) together with a warning that
the caller reports.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

#: Zone used when Graph gives a name we cannot map and the caller has no better one.
FALLBACK_TIME_ZONE = "UTC"
#: Placeholder Graph uses for a zone defined inline by desktop Outlook.
CUSTOM_TIME_ZONE = "tzone://Microsoft/Custom"
_LEGACY_UTC_NAMES = frozenset({"tzone://Microsoft/Utc"})
_WINDOWS_BY_LOWER_NAME = {name.lower(): name for name in win_tz}


@lru_cache(maxsize=None)
def get_zone(iana_name: str) -> ZoneInfo:
    """Return the :class:`ZoneInfo` for a valid IANA name (cached)."""
    return ZoneInfo(iana_name)


@lru_cache(maxsize=None)
def is_iana_name(name: str) -> bool:
    """True if ``name`` is an IANA zone this Python can load."""
    try:
        get_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return False
    return True


def resolve_time_zone(name: object, fallback: str = FALLBACK_TIME_ZONE) -> tuple[str, str | None]:
    """Map a Graph zone name (Windows or IANA) to an IANA name.

    Returns ``(iana_name, warning)``; ``warning`` is ``None`` when the name was
    understood, otherwise a sentence saying which fallback was used.

    >>> resolve_time_zone("Romance Standard Time")
    ('Europe/Paris', None)
    >>> resolve_time_zone("tzone://Microsoft/Custom")[0]
    'UTC'
    """
    if name is not None and not isinstance(name, str):
        name = repr(name)  # garbage from a payload: reported below as an unknown zone
    return _resolve(name, fallback)


@lru_cache(maxsize=4096)
def _resolve(name: str | None, fallback: str) -> tuple[str, str | None]:
    if not is_iana_name(fallback):
        fallback = FALLBACK_TIME_ZONE
    if not name:
        return fallback, f"no time zone given; using {fallback}"
    if name in _LEGACY_UTC_NAMES:
        return "UTC", None
    # IANA first: "UTC" is both a Windows id and an IANA name, and Prefer may echo IANA names.
    if is_iana_name(name):
        return name, None
    windows_id = _WINDOWS_BY_LOWER_NAME.get(name.lower())
    if windows_id is not None and is_iana_name(win_tz[windows_id]):
        return win_tz[windows_id], None
    if name == CUSTOM_TIME_ZONE:
        return fallback, f"custom Outlook time zone {name!r} has no known rules; using {fallback}"
    return fallback, f"unknown time zone {name!r}; using {fallback}"


def windows_name(iana_name: str) -> str:
    """The Windows zone id for an IANA name, for writing to Graph.

    Falls back to the IANA name itself (Graph accepts many IANA names) when CLDR
    has no Windows zone for it.
    """
    if iana_name in ("UTC", "Etc/UTC"):
        return "UTC"
    return tz_win.get(iana_name, iana_name)


def same_zone(first: str, second: str) -> bool:
    """True if two IANA names denote the same zone as far as Outlook can tell.

    Outlook stores Windows zones, so "Europe/Brussels" written to Graph comes
    back as "Romance Standard Time" -> "Europe/Paris". Treating zones that share
    a Windows id as equal stops that round-trip from looking like an edit.
    """
    return first == second or windows_name(first) == windows_name(second)
