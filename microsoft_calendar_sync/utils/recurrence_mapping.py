# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``calendar.recurrence`` fields <-> the core's canonical RRULE.

Odoo keeps a recurrence as fields (``rrule_type``, ``interval``, ``end_type``,
``count``, ``until``, the weekday booleans, ``month_by``/``day``/``byday``/
``weekday``); its ``rrule`` field is a serialisation of those with a
``DTSTART`` and, for series without an end, ``COUNT=720`` (Odoo's cap), so it
is never read here. The core's canonical rule is what Outlook can store
(:func:`outlook_sync.recurrence.normalize_rrule`).

Odoo cannot express every Outlook pattern: a yearly rule is always "every
year on the start's month and day", a monthly rule by weekday has one day,
and weekly rules start their week on the language's first day. Such a rule
is mapped to the closest Odoo form and reported as not exact, so the event
says so (it is never dropped).
"""

from datetime import date, datetime

from outlook_sync.recurrence import normalize_rrule

_DAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ_BY_TYPE = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
_TYPE_BY_FREQ = {freq: rrule_type for rrule_type, freq in _FREQ_BY_TYPE.items()}


def _parts(rrule):
    parts = {}
    for chunk in (rrule or "").replace("RRULE:", "").split(";"):
        name, _sep, value = chunk.partition("=")
        if name:
            parts[name.strip().upper()] = value.strip()
    return parts


def odoo_to_rrule(recurrence, start_local, time_zone):
    """The canonical RRULE of an Odoo recurrence (``None`` if it has no usable rule).

    ``start_local`` is the series start, naive, in ``time_zone``."""
    freq = _FREQ_BY_TYPE.get(recurrence.rrule_type)
    if not freq:
        return None
    parts = [f"FREQ={freq}", f"INTERVAL={max(recurrence.interval or 1, 1)}"]
    if freq == "WEEKLY":
        days = [code for code, name in zip(_RRULE_DAYS, _DAY_FIELDS) if recurrence[name]]
        parts.append("BYDAY=" + ",".join(days or [_RRULE_DAYS[start_local.weekday()]]))
        # Odoo expands weekly rules from the language's first day of the week
        parts.append(f"WKST={_RRULE_DAYS[recurrence._get_lang_week_start().weekday]}")
    elif freq == "MONTHLY" and recurrence.month_by == "day" and recurrence.weekday:
        parts.append(f"BYDAY={recurrence.weekday};BYSETPOS={int(recurrence.byday or 1)}")
    elif freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={recurrence.day or start_local.day}")
    elif freq == "YEARLY":
        parts.append(f"BYMONTH={start_local.month};BYMONTHDAY={start_local.day}")
    if recurrence.end_type == "count" and recurrence.count:
        parts.append(f"COUNT={recurrence.count}")
    elif recurrence.end_type == "end_date" and recurrence.until:
        parts.append(f"UNTIL={recurrence.until:%Y%m%d}T235959")
    rule, _warnings = normalize_rrule(";".join(parts), start_local, time_zone)
    return rule


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
        values.update(month_by="day", weekday=days[0], byday=str(int(parts.get("BYSETPOS") or 1)))
        exact = len(days) == 1
    elif rrule_type == "monthly":
        values.update(month_by="date", day=int(parts.get("BYMONTHDAY") or start_local.day))
    elif rrule_type == "yearly":
        # Odoo repeats a yearly series on its start's month and day only.
        exact = not days and int(parts.get("BYMONTH") or start_local.month) == start_local.month \
            and int(parts.get("BYMONTHDAY") or start_local.day) == start_local.day
    if parts.get("COUNT"):
        values.update(end_type="count", count=int(parts["COUNT"]))
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
