# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``calendar.recurrence`` fields <-> the core's canonical RRULE.

Odoo keeps a recurrence as fields (``rrule_type``, ``interval``, ``end_type``,
``count``, ``until``, the weekday booleans, ``month_by``/``day``/``byday``/
``weekday``, one of ``MON``..``SUN``); its ``rrule`` field is a serialisation
of those with a ``DTSTART``, so it is never read here. Odoo makes at most 720
events of a recurrence, and that field's inverse writes the cap back into the
fields: a series without end, or with more occurrences, is stored as
``count`` 720. The core's canonical rule is what Outlook can store
(:func:`outlook_sync.recurrence.normalize_rrule`).

Odoo cannot express every Outlook pattern: a yearly rule is always "every
year on the start's month and day", a monthly rule by weekday has one day,
weekly rules start their week on the language's first day, a monthly or
yearly rule on day 29-31 skips the months without it (Outlook takes their last
day) and a series keeps at most 720 events. Such a rule is mapped to the
closest Odoo form and reported as not exact, so the event says so (it is never
dropped); while the recurrence still holds that form, the rule both sides
agreed on stays the series' rule (``agreed``), so Odoo's approximation never
replaces Outlook's pattern.
"""

from datetime import date, datetime

from dateutil import rrule as dateutil_rrule
from outlook_sync.recurrence import RRULE_DAYS as _RRULE_DAYS
from outlook_sync.recurrence import normalize_rrule

#: Odoo makes at most this many events of a recurrence (calendar's ``MAX_RECURRENT_EVENT``).
ODOO_MAX_EVENTS = 720
_DAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: ``calendar.recurrence.weekday`` values, in the order of ``_RRULE_DAYS``.
_ODOO_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_RULE_FIELDS = ("rrule_type", "interval", "end_type", "count", "until", "month_by", "day", "byday", "weekday",
                *_DAY_FIELDS)
_FREQ_BY_TYPE = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
_TYPE_BY_FREQ = {freq: rrule_type for rrule_type, freq in _FREQ_BY_TYPE.items()}


def _parts(rrule):
    parts = {}
    for chunk in (rrule or "").replace("RRULE:", "").split(";"):
        name, _sep, value = chunk.partition("=")
        if name:
            parts[name.strip().upper()] = value.strip()
    return parts


def week_start(env):
    """The RRULE day Odoo starts its weeks on when it expands a weekly rule (its language's)."""
    return _RRULE_DAYS[env["calendar.recurrence"]._get_lang_week_start().weekday]


def odoo_to_rrule(recurrence, start_local, time_zone, until=None, agreed=None):
    """The canonical RRULE of an Odoo recurrence (``None`` if it has no usable rule).

    ``start_local`` is the series start, naive, in ``time_zone``; ``until`` the last day of a
    series that ends on a date, when not the recurrence's own. ``agreed`` is the rule both
    sides last agreed on (the series binding's base), if any: while the recurrence holds what
    Odoo makes of it and the series still starts on one of its dates, it is the series' rule
    (Odoo has no form for some Outlook rules, and keeps a long or endless one as 720 events)."""
    values = {name: recurrence[name] for name in _RULE_FIELDS}
    first_day = week_start(recurrence.env)
    rule = _values_to_rrule(values, start_local, time_zone, first_day, until)
    if rule and agreed and rule != agreed and _starts_on(agreed, start_local) \
            and held_rrule(agreed, start_local, time_zone, first_day) == rule:
        return agreed
    return rule


def held_rrule(rrule, start_local, time_zone, week_start="MO"):
    """The canonical rule of what Odoo makes of ``rrule`` (:func:`rrule_to_odoo`): the dates its
    events fall on. The same rule when Odoo holds it exactly, else Odoo's closest one; a series
    longer than Odoo's 720 events has no end (Odoo's form of an endless series)."""
    values, _exact = rrule_to_odoo(rrule, start_local, week_start)
    return _values_to_rrule(values, start_local, time_zone, week_start)


def _values_to_rrule(values, start_local, time_zone, week_start, until=None):
    freq = _FREQ_BY_TYPE.get(values.get("rrule_type"))
    if not freq:
        return None
    parts = [f"FREQ={freq}", f"INTERVAL={max(values.get('interval') or 1, 1)}"]
    weekday = _rrule_day(values.get("weekday"))
    if freq == "WEEKLY":
        days = [code for code, name in zip(_RRULE_DAYS, _DAY_FIELDS) if values.get(name)]
        parts.append("BYDAY=" + ",".join(days or [_RRULE_DAYS[start_local.weekday()]]))
        parts.append(f"WKST={week_start}")
    elif freq == "MONTHLY" and values.get("month_by") == "day" and weekday:
        parts.append(f"BYDAY={weekday};BYSETPOS={int(values.get('byday') or 1)}")
    elif freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={values.get('day') or start_local.day}")
    elif freq == "YEARLY":
        parts.append(f"BYMONTH={start_local.month};BYMONTHDAY={start_local.day}")
    until = until or values.get("until")
    if values.get("end_type") == "count" and values.get("count"):
        if values["count"] < ODOO_MAX_EVENTS:
            parts.append(f"COUNT={values['count']}")
        # else Odoo's form of a series without end (and of every longer one): no end
    elif values.get("end_type") == "end_date" and until:
        parts.append(f"UNTIL={until:%Y%m%d}T235959")
    rule, _warnings = normalize_rrule(";".join(parts), start_local, time_zone)
    return rule


def _rrule_day(weekday):
    """The RRULE day of an Odoo ``weekday`` value (``FRI`` -> ``FR``), or ``None``."""
    code = (weekday or "")[:2].upper()
    return code if code in _RRULE_DAYS else None


def _starts_on(rule, start_local):
    """Whether ``start_local`` is the first date of ``rule`` expanded from it."""
    try:
        first = next(iter(dateutil_rrule.rrulestr(rule, dtstart=start_local.replace(tzinfo=None))), None)
    except (ValueError, TypeError):
        return False
    return first == start_local.replace(tzinfo=None)


def rrule_to_odoo(rrule, start_local, week_start="MO"):
    """``calendar.event`` recurrence values for a canonical RRULE, and whether Odoo holds it exactly.

    ``start_local`` is the series start, naive, in the recurrence's zone; ``week_start`` the
    RRULE day Odoo starts its weeks on (its language's)."""
    parts = _parts(rrule)
    rrule_type = _TYPE_BY_FREQ.get(parts.get("FREQ"))
    exact = True
    if rrule_type is None:
        return {}, False
    values = {"rrule_type": rrule_type, "interval": int(parts.get("INTERVAL") or 1)}
    values.update({name: False for name in _DAY_FIELDS})
    days = [day for day in parts.get("BYDAY", "").split(",") if day]
    if rrule_type == "weekly":
        for day in days or [_RRULE_DAYS[start_local.weekday()]]:
            if day in _RRULE_DAYS:
                values[_DAY_FIELDS[_RRULE_DAYS.index(day)]] = True
        # the first day of the week only matters to a rule of several days every few weeks
        exact = parts.get("WKST", "MO") == week_start or len(days) <= 1 or values["interval"] == 1
    elif rrule_type == "monthly" and days:
        position = int(parts.get("BYSETPOS") or 1)
        day = days[0] if days[0] in _RRULE_DAYS else _RRULE_DAYS[start_local.weekday()]
        exact = len(days) == 1
        if not exact and _RRULE_DAYS[start_local.weekday()] in days:
            # "the first working day": Odoo holds one weekday, the start's (in its place in the month),
            # so the series' first event stays one of its occurrences (Odoo detaches it otherwise)
            day = _RRULE_DAYS[start_local.weekday()]
            position = -1 if position == -1 or start_local.day > 28 else (start_local.day - 1) // 7 + 1
        values.update(month_by="day", weekday=_ODOO_WEEKDAYS[_RRULE_DAYS.index(day)], byday=str(position))
    elif rrule_type == "monthly":
        values.update(month_by="date", day=int(parts.get("BYMONTHDAY") or start_local.day))
        # Odoo skips the months without that day; Outlook takes their last day
        exact = values["day"] <= 28
    elif rrule_type == "yearly":
        # Odoo repeats a yearly series on its start's month and day only (February 29th: leap years only).
        exact = not days and int(parts.get("BYMONTH") or start_local.month) == start_local.month \
            and int(parts.get("BYMONTHDAY") or start_local.day) == start_local.day \
            and (start_local.month, start_local.day) != (2, 29)
    if parts.get("COUNT"):
        values.update(end_type="count", count=int(parts["COUNT"]))
        exact = exact and values["count"] <= ODOO_MAX_EVENTS  # Odoo keeps the first 720 only
    elif parts.get("UNTIL"):
        values.update(end_type="end_date", until=_until_date(parts["UNTIL"]))
    else:
        values.update(end_type="forever")
    return values, exact


def _until_date(value):
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return date.max
