# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``calendar.event`` <-> the core's :class:`outlook_sync.model.Event`.

The sync engine compares Odoo and Outlook in the core's canonical form, so this
module is the only place that knows how Odoo stores an event. Both directions
are pure reads except the inbound find-or-create of partners, alarms and tags
(never duplicated). Mapping table (Odoo -> core -> Odoo):

============================ ============================ =============================================
Odoo                         core ``Event``               notes / lossy cases
============================ ============================ =============================================
name                         subject
description (Html)           body_html                    empty Html (``<p><br></p>``) = ""
start/stop (naive UTC)       start/end (aware UTC)        timed events
allday, start_date/stop_date all_day, start/end (dates)   inclusive end on both sides; Odoo's internal
                                                          08:00/18:00 start/stop follow the dates
event_tz / organizer's tz    time_zone (IANA)             Odoo stores a zone only on recurrences;
                                                          a single event's zone is its organizer's,
                                                          or Outlook's (``base``); not written
                                                          inbound for single events
location                     location
videocall_location           online_meeting_url           Discuss URLs are sent as they are; an
                                                          Outlook Teams joinUrl replaces it once
                                                          (converges, no ping-pong)
privacy (+ user default)     sensitivity                  public/normal, private/private,
                                                          confidential/confidential; Outlook
                                                          ``personal`` -> private (kept personal
                                                          while Odoo stays private, see ``base``);
                                                          inbound value equal to the organizer's
                                                          default privacy is stored as "default"
show_as free/busy            show_as                      Outlook tentative/oof/workingElsewhere/
                                                          unknown -> busy; kept as Outlook had it
                                                          while Odoo stays busy (``base``)
alarm_ids                    reminder_minutes             the earliest notification/email alarm;
                                                          inbound: find-or-create a notification
                                                          alarm, later alarms kept (``record``)
categ_ids                    categories                   by name, case-insensitive find-or-create;
                                                          Outlook's letter case kept (``base``)
user_id (partner e-mail)     organizer                    external organizer -> no Odoo user;
                                                          display names: Odoo's partner names, or
                                                          Outlook's (``base``); existing partners
                                                          are never renamed
attendee_ids (minus the      attendees                    Odoo has no optional/resource flag:
organizer)                                                "required", or Outlook's type (``base``);
                                                          attendees without e-mail are not sent;
                                                          needsAction <-> none/notResponded
event URL, res_model/res_id  odoo_url, odoo_record_url,   "Open in Odoo" links in the Outlook body
                             odoo_record_name             (read only on the Odoo side)
db uuid + id                 odoo_ref                     see :func:`odoo_ref`
============================ ============================ =============================================
"""

from dataclasses import replace
from datetime import datetime, timezone

from outlook_sync.model import Attendee, Event, Person, Recurrence, Response, Sensitivity, ShowAs
from outlook_sync.recurrence import local_start
from outlook_sync.timezones import resolve_time_zone

from odoo import fields as odoo_fields
from odoo.fields import Command
from odoo.tools.mail import is_html_empty

from . import recurrence_mapping

#: calendar.event fields whose change matters to Outlook (drives the outbox).
SYNCED_FIELDS = frozenset({
    "name", "description", "start", "stop", "allday", "start_date", "stop_date", "event_tz",
    "location", "videocall_location", "privacy", "show_as", "alarm_ids", "categ_ids",
    "user_id", "partner_ids", "attendee_ids", "res_model_id", "res_id",
})

#: Context for writes coming from Outlook: Outlook already mailed the
#: attendees, Odoo must not mail them again, nor add its "Organized by"
#: contact block to the description (it would travel back to Outlook).
QUIET_CONTEXT = {"no_mail_to_attendees": True, "skip_attendee_notification": True,
                 "skip_contact_description": True}

REF_MODEL = "calendar.event"
SERIES_REF_MODEL = "calendar.recurrence"
REMINDER_ALARM_TYPES = ("notification", "email")

_SENSITIVITY_BY_PRIVACY = {
    "public": Sensitivity.NORMAL,
    "private": Sensitivity.PRIVATE,
    "confidential": Sensitivity.CONFIDENTIAL,
}
_PRIVACY_BY_SENSITIVITY = {
    Sensitivity.NORMAL: "public",
    Sensitivity.PERSONAL: "private",
    Sensitivity.PRIVATE: "private",
    Sensitivity.CONFIDENTIAL: "confidential",
}
_RESPONSE_BY_STATE = {
    "accepted": Response.ACCEPTED,
    "declined": Response.DECLINED,
    "tentative": Response.TENTATIVE,
    "needsAction": Response.NONE,
}
_STATE_BY_RESPONSE = {
    Response.ACCEPTED: "accepted",
    Response.ORGANIZER: "accepted",
    Response.DECLINED: "declined",
    Response.TENTATIVE: "tentative",
    Response.NONE: "needsAction",
    Response.NOT_RESPONDED: "needsAction",
}

# Core field -> the calendar.event values it produces inbound.
_ODOO_KEYS_BY_CORE_FIELD = {
    "subject": ("name",),
    "body_html": ("description",),
    "start": ("start", "stop", "allday"),
    "end": ("start", "stop", "allday"),
    "all_day": ("start", "stop", "allday"),
    "time_zone": ("event_tz",),
    "location": ("location",),
    "online_meeting_url": ("videocall_location",),
    "attendees": ("partner_ids", "attendee_ids"),
    "organizer": ("user_id", "partner_ids", "attendee_ids", "privacy"),
    "show_as": ("show_as",),
    "sensitivity": ("privacy",),
    "reminder_minutes": ("alarm_ids",),
    "categories": ("categ_ids",),
}


# --------------------------------------------------------------------------- identity

def _database_uuid(env):
    return env["ir.config_parameter"].sudo().get_param("database.uuid")


def odoo_ref(event):
    """The stable reference stamped on the Outlook event: ``"<db uuid>:calendar.event:<id>"``."""
    event.ensure_one()
    return f"{_database_uuid(event.env)}:{REF_MODEL}:{event.id}"


def parse_odoo_ref(env, ref):
    """The ``calendar.event`` a reference names, or an empty recordset when the
    reference is malformed, comes from another database or names a deleted
    event (archived events are found)."""
    empty = env[REF_MODEL]
    parts = ref.rsplit(":", 2) if isinstance(ref, str) else []
    if len(parts) != 3 or parts[1] != REF_MODEL or parts[0] != _database_uuid(env):
        return empty
    try:
        record_id = int(parts[2])
    except ValueError:
        return empty
    if record_id <= 0:
        return empty
    return empty.with_context(active_test=False).browse(record_id).exists().with_context(env.context)


def series_ref(recurrence):
    """The reference of a whole series: ``"<db uuid>:calendar.recurrence:<id>"`` (kept by its
    binding when Odoo rebuilds the recurrence under another id)."""
    recurrence.ensure_one()
    return f"{_database_uuid(recurrence.env)}:{SERIES_REF_MODEL}:{recurrence.id}"


def event_url(event):
    """The back-link to the event's form in Odoo 19's URL scheme."""
    return f"{event.get_base_url()}/odoo/calendar/{event.id}"


def related_record(event):
    """The record the event belongs to (``res_model``/``res_id``), or ``None``."""
    if not event.res_model or not event.res_id or event.res_model not in event.env:
        return None
    record = event.env[event.res_model].sudo().browse(event.res_id).exists()
    return record or None


# --------------------------------------------------------------------------- Odoo -> core

def _time_zone(event):
    zone = event.event_tz or event.user_id.tz or "UTC"
    resolved, _warning = resolve_time_zone(zone, "UTC")
    return resolved


def _reminder_alarms(alarms):
    return alarms.filtered(lambda alarm: alarm.alarm_type in REMINDER_ALARM_TYPES)


def _reminder_minutes(event):
    alarms = _reminder_alarms(event.alarm_ids)
    return max(alarms.mapped("duration_minutes")) if alarms else None


def _body(event):
    description = event.description or ""
    return "" if is_html_empty(description) else str(description)


def odoo_event_to_core(event, *, base=None):
    """The core form of one ``calendar.event``.

    ``base`` (the binding's base snapshot, optional) keeps Outlook's richer
    value where Odoo can only store a coarser one and has not changed it:
    Outlook ``oof``/``tentative``/``workingElsewhere``/``unknown`` while Odoo
    still says busy, ``personal`` while Odoo still says private, an optional
    or resource attendee's type, attendees' and the organizer's display names
    (Odoo keeps its partners' names), a category's letter case, and the zone of a
    single event (Odoo keeps a zone only for recurrences). Without it an Odoo
    edit of another field would flatten them. Pass it whenever the event has
    a binding.
    """
    event.ensure_one()
    organizer_partner = event.user_id.partner_id
    if event.allday:
        start, end = event.start_date, event.stop_date
    else:
        start = event.start.replace(tzinfo=timezone.utc)
        end = event.stop.replace(tzinfo=timezone.utc)
    show_as = ShowAs.FREE if event.show_as == "free" else ShowAs.BUSY
    if base is not None and show_as == ShowAs.BUSY and base.show_as != ShowAs.FREE:
        show_as = base.show_as
    sensitivity = _SENSITIVITY_BY_PRIVACY.get(event.sudo().effective_privacy or "public", Sensitivity.NORMAL)
    if base is not None and sensitivity == Sensitivity.PRIVATE and base.sensitivity == Sensitivity.PERSONAL:
        sensitivity = Sensitivity.PERSONAL
    # An organizer who is no Odoo user (outside, or not a user here) is an attendee in Odoo (a contact,
    # accepted), as Odoo shows such organizers; Outlook's organizer is the agreed one (``base``).
    outside_organizer = base.organizer.email if base is not None and base.organizer and not event.user_id else ""
    attendees = {}  # by address: two partners sharing one address are one Outlook attendee
    for attendee in event.attendee_ids:
        if attendee.partner_id.email and attendee.partner_id != organizer_partner \
                and (attendee.partner_id.email_normalized or "") != outside_organizer:
            person = Attendee(email=attendee.partner_id.email, name=attendee.partner_id.name or "",
                              response=_RESPONSE_BY_STATE.get(attendee.state, Response.NONE))
            attendees.setdefault(person.email, person)
    if base is not None:
        # an attendee Outlook knows at an alias of a connected user's mailbox stays at that address
        # (Odoo holds the user's own contact, whose address is another)
        for known in base.attendees:
            if known.email in attendees:
                continue
            own = connected_user(event.env, known.email).partner_id.email_normalized or ""
            if own and own != known.email and own in attendees:
                attendees[known.email] = replace(attendees.pop(own), email=known.email)
    attendees = tuple(attendees.values())
    organizer = (
        Person(email=organizer_partner.email, name=organizer_partner.name or "")
        if organizer_partner.email else base.organizer if outside_organizer else None
    )
    categories = tuple(event.categ_ids.mapped("name"))
    time_zone = _time_zone(event)
    if base is not None:
        # Display names are Outlook's (Odoo keeps its own partner names) and
        # Odoo has no optional/resource flag: both stay as Outlook had them.
        known = {attendee.email: attendee for attendee in base.attendees}
        attendees = tuple(
            replace(attendee, type=known[attendee.email].type, name=known[attendee.email].name)
            if attendee.email in known else attendee
            for attendee in attendees) + _attendees_without_contact(event, base, attendees)
        if organizer is not None and base.organizer is not None and base.organizer.email == organizer.email:
            organizer = base.organizer
        spelling = {name.casefold(): name for name in base.categories}
        categories = tuple(spelling.get(name.casefold(), name) for name in categories)
        if not event.recurrency:
            time_zone = base.time_zone
    record = related_record(event)
    return Event(
        subject=event.name or "",
        body_html=_body(event),
        start=start,
        end=end,
        time_zone=time_zone,
        all_day=bool(event.allday),
        location=event.location or "",
        online_meeting_url=event.videocall_location or "",
        attendees=attendees,
        organizer=organizer,
        show_as=show_as,
        sensitivity=sensitivity,
        reminder_minutes=_reminder_minutes(event),
        categories=categories,
        odoo_url=event_url(event),
        odoo_ref=odoo_ref(event),
        **_record_link(record),
    )


def _attendees_without_contact(event, base, attendees):
    """The agreed attendees Odoo holds no contact for (the "no new contacts" setting): they stay in
    Outlook, as Odoo never removed them. An attendee whose contact exists but who is not on the event
    any more was removed in Odoo."""
    listed = {attendee.email for attendee in attendees}
    organizer = (event.user_id.partner_id.email or "").strip().lower()
    others = [attendee for attendee in base.attendees if attendee.email not in listed and attendee.email != organizer]
    if not others:
        return ()
    known = set(event.env["res.partner"].sudo().with_context(active_test=False).search(
        [("email_normalized", "in", [attendee.email for attendee in others])]).mapped("email_normalized"))
    return tuple(attendee for attendee in others if attendee.email not in known)


def series_events(recurrence):
    """The active events of a recurrence, by start."""
    return recurrence.calendar_event_ids.filtered("active").sorted("start")


def odoo_series_to_core(recurrence, *, base=None):
    """The core form of a whole Odoo recurrence (``None`` if it has no event or no usable rule).

    The fields are those of its first event that follows the series (changed
    occurrences are rows of their own); the zone and pattern the recurrence's.
    The series start stays the agreed one (``base``) while its local time of
    day, duration and pattern do not change: deleting the first occurrence
    does not move a series (Outlook keeps it, cancelled)."""
    events = series_events(recurrence)
    first = (events.filtered("follow_recurrence") or events)[:1]
    if not first:
        return None
    time_zone, _warning = resolve_time_zone(recurrence.event_tz or first.user_id.tz or "UTC", "UTC")
    core = odoo_event_to_core(first, base=base)
    start_local = local_start(core.start, time_zone)
    until = recurrence.until
    if recurrence.end_type == "end_date" and until:
        # Odoo's "this and following" ends the old series the day before the week (or month) of
        # the split, and keeps the events of that week before the split: the series holds them too.
        last = max(local_start(event.start_date if event.allday else event.start.replace(tzinfo=timezone.utc),
                               time_zone).date() for event in events)
        until = max(until, last)
    agreed = base.recurrence.rrule if base is not None and base.recurrence is not None else None
    rule = recurrence_mapping.odoo_to_rrule(recurrence, start_local, time_zone, until=until, agreed=agreed)
    if rule is None:
        return None
    core = core.replace(time_zone=time_zone, recurrence=Recurrence(rule, time_zone),
                        odoo_ref=series_ref(recurrence) if not base or not base.odoo_ref else base.odoo_ref)
    return same_series_start(core, base)


def same_series_start(core, base):
    """``core`` with the agreed series start of ``base`` when only the first live date differs."""
    if base is None or base.recurrence is None or core.recurrence is None or core.all_day != base.all_day \
            or core.recurrence.rrule != base.recurrence.rrule or core.end - core.start != base.end - base.start:
        return core
    if not core.all_day:
        zone = core.recurrence.time_zone
        if local_start(core.start, zone).time() != local_start(base.start, zone).time():
            return core
    return core.replace(start=base.start, end=base.end)


def _record_link(record):
    if record is None:
        return {"odoo_record_url": "", "odoo_record_name": ""}
    return {
        "odoo_record_url": f"{record.get_base_url()}/odoo/{record._name}/{record.id}",
        "odoo_record_name": record.display_name or "",
    }


# --------------------------------------------------------------------------- core -> Odoo

#: Setting: attendees Odoo has no contact for get none (default: a contact is created, as Odoo does).
NO_NEW_CONTACTS_PARAM = "microsoft_calendar_sync.no_new_contacts"


def creates_contacts(env):
    """Whether unknown attendees of Outlook events become Odoo contacts (the setting)."""
    return env["ir.config_parameter"].sudo().get_param(NO_NEW_CONTACTS_PARAM) != "True"


def connected_user(env, address):
    """The user whose connected mailbox is ``address`` or has it as an alias, or an empty recordset.

    The addresses are read once per transaction (the account's write forgets them, sync_meetings.py)."""
    cached = env.cr.cache.get("mcs_connected_addresses")
    if cached is None:
        cached = {}
        for account in env["microsoft.calendar.account"].sudo().search([("mailbox", "!=", False)]):
            for alias in [account.mailbox, *(account.mailbox_aliases or "").split(",")]:
                if alias.strip():
                    cached.setdefault(alias.strip().lower(), account.user_id.id)
        env.cr.cache["mcs_connected_addresses"] = cached
    return env["res.users"].sudo().browse(cached.get((address or "").strip().lower(), []))


def find_or_create_partners(env, people, create=True):
    """``{lower-case e-mail: res.partner}`` for ``people`` (objects with
    ``email``/``name``): existing partners are matched case-insensitively
    (a partner of a user first, then the oldest); missing ones are created
    with just a name and an e-mail (unless ``create`` is false: they are left
    out). One search, one create."""
    Partner = env["res.partner"].sudo().with_context(active_test=False)
    wanted = {person.email: person for person in people if person.email}
    # a connected user's mailbox or one of its aliases is that user, never a contact of its own
    found = {email: user.partner_id for email in wanted if (user := connected_user(env, email))}
    if set(wanted) - set(found):
        candidates = Partner.search([("email_normalized", "in", list(set(wanted) - set(found)))], order="id")
        for partner in candidates.sorted(lambda p: (not p.user_ids, not p.active, p.id)):
            found.setdefault(partner.email_normalized, partner)
    missing = [email for email in wanted if email not in found]
    if missing and create:
        created = Partner.create([{"name": wanted[email].name or email, "email": email} for email in missing])
        found.update(zip(missing, created, strict=True))
    return {email: partner.with_env(env) for email, partner in found.items()}


def find_or_create_alarm(env, minutes):
    """A notification ``calendar.alarm`` ``minutes`` before the start: an
    existing one with those minutes (notification preferred over e-mail), else
    a new notification alarm in the largest whole unit."""
    Alarm = env["calendar.alarm"].sudo()
    # Filtered in Python: calendar.alarm's duration_minutes search divides
    # minutes into hours/days and matches rounded values (1500 min -> 1 day).
    existing = Alarm.search([("alarm_type", "in", list(REMINDER_ALARM_TYPES))], order="id").filtered(
        lambda alarm: alarm.duration_minutes == minutes)
    if existing:
        return existing.sorted(lambda a: (a.alarm_type != "notification", a.id))[0].with_env(env)
    if minutes and minutes % 1440 == 0:
        duration, interval, label = minutes // 1440, "days", "Days"
    elif minutes and minutes % 60 == 0:
        duration, interval, label = minutes // 60, "hours", "Hours"
    else:
        duration, interval, label = minutes, "minutes", "Minutes"
    return Alarm.create({
        "name": f"Notification - {duration} {label}",
        "alarm_type": "notification", "duration": duration, "interval": interval,
    }).with_env(env)


def find_or_create_tags(env, names):
    """``calendar.event.type`` records for ``names``, matched case-insensitively, created if missing."""
    Tag = env["calendar.event.type"].sudo()
    tags = Tag
    for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        tag = Tag.search([("name", "=ilike", escaped)], order="id", limit=1)
        tags |= tag or Tag.create({"name": name})
    return tags.with_env(env)


def _organizer_user(env, organizer, user):
    if organizer is None:
        return user
    if (user.email or "").strip().lower() == organizer.email:
        return user
    connected = connected_user(env, organizer.email)
    if connected:
        return connected.with_env(env)  # a connected mailbox, or one of its aliases
    users = env["res.users"].sudo().search([("partner_id.email_normalized", "=", organizer.email)], order="id")
    internal = users.filtered(lambda u: not u.share)
    return (internal or users)[:1].with_env(env)


def _privacy(sensitivity, organizer_user):
    privacy = _PRIVACY_BY_SENSITIVITY[sensitivity]
    default = organizer_user.sudo().calendar_default_privacy if organizer_user else "public"
    return False if privacy == (default or "public") else privacy


def _alarm_commands(env, minutes, record):
    keep = env["calendar.alarm"]
    if record is not None:
        current = _reminder_alarms(record.alarm_ids)
        earliest = max(current.mapped("duration_minutes")) if current else None
        keep = record.alarm_ids.filtered(
            lambda a: a.alarm_type not in REMINDER_ALARM_TYPES
            or (minutes is not None and a.duration_minutes < minutes and a.duration_minutes != earliest))
    alarms = keep | (find_or_create_alarm(env, minutes) if minutes is not None else env["calendar.alarm"])
    return [Command.set(alarms.ids)]


def core_to_odoo_values(env, core_event, *, user, fields=None, record=None, user_organizes=False):
    """``calendar.event`` values for ``core_event`` (create or write).

    ``user`` is the connected user whose mailbox the event comes from; it is
    the organizer when Outlook names none, and its default privacy decides
    whether a sensitivity is stored as "default". ``fields`` limits the result
    to the values those core fields produce (the fields Outlook changed).
    ``record`` is the event being updated, if any: the reminder then replaces
    only the earliest alarm (later Odoo alarms are kept) and attendees keep
    their records. ``user_organizes``: the event is the user's own in Outlook
    (Graph's ``isOrganizer``), whatever address it names as organizer (an
    alias of the user's mailbox). Write the result with :func:`write_odoo_values` (create
    needs nothing more) under :data:`QUIET_CONTEXT`.
    """
    wanted = None
    if fields is not None:
        wanted = set()
        for name in fields:
            wanted.update(_ODOO_KEYS_BY_CORE_FIELD.get(name, ()))

    def include(key):
        return wanted is None or key in wanted

    vals = {}
    organizer_user = user if user_organizes else _organizer_user(env, core_event.organizer, user)
    if include("name"):
        vals["name"] = core_event.subject
    if include("description"):
        vals["description"] = core_event.body_html or False
    if include("start"):
        vals["allday"] = core_event.all_day
        if core_event.all_day:
            vals["start"] = datetime.combine(core_event.start, datetime.min.time()).replace(hour=8)
            vals["stop"] = datetime.combine(core_event.end, datetime.min.time()).replace(hour=18)
            vals["start_date"] = core_event.start
            vals["stop_date"] = core_event.end
        else:
            vals["start"] = odoo_fields.Datetime.to_datetime(core_event.start.replace(tzinfo=None))
            vals["stop"] = odoo_fields.Datetime.to_datetime(core_event.end.replace(tzinfo=None))
    if include("event_tz") and core_event.recurrence is not None:
        vals["event_tz"] = core_event.recurrence.time_zone
    if core_event.recurrence is not None and (fields is None or {"recurrence", "start"} & set(fields)):
        rule_values, _exact = recurrence_mapping.rrule_to_odoo(
            core_event.recurrence.rrule, local_start(core_event.start, core_event.recurrence.time_zone),
            recurrence_mapping.week_start(env))
        vals.update(recurrency=True, event_tz=core_event.recurrence.time_zone, **rule_values)
    if include("location"):
        vals["location"] = core_event.location or False
    if include("videocall_location"):
        vals["videocall_location"] = core_event.online_meeting_url or False
    if include("show_as"):
        vals["show_as"] = "free" if core_event.show_as == ShowAs.FREE else "busy"
    if include("privacy"):
        vals["privacy"] = _privacy(core_event.sensitivity, organizer_user)
    if include("alarm_ids"):
        vals["alarm_ids"] = _alarm_commands(env, core_event.reminder_minutes, record)
    if include("categ_ids"):
        vals["categ_ids"] = [Command.set(find_or_create_tags(env, core_event.categories).ids)]
    if include("user_id"):
        vals["user_id"] = organizer_user.id or False
    if include("partner_ids"):
        outside = core_event.organizer if core_event.organizer and not organizer_user else None
        partners = find_or_create_partners(env, core_event.attendees + ((outside,) if outside else ()),
                                           create=creates_contacts(env))
        states = {}
        if organizer_user:
            states[organizer_user.partner_id.id] = "accepted"
        elif outside and outside.email in partners:
            states[partners[outside.email].id] = "accepted"  # the organizer Odoo has no user for
        for attendee in core_event.attendees:
            if attendee.email in partners:  # else no contact, by the setting: Outlook keeps them (see base)
                states[partners[attendee.email].id] = _STATE_BY_RESPONSE[attendee.response]
        vals["partner_ids"] = [Command.set(list(states))]
        vals["attendee_ids"] = [
            Command.create({"partner_id": partner_id, "state": state}) for partner_id, state in states.items()
        ]
        if record is not None:
            existing = {attendee.partner_id.id: attendee for attendee in record.attendee_ids}
            vals["attendee_ids"] = [Command.delete(a.id) for pid, a in existing.items() if pid not in states] + [
                Command.update(existing[pid].id, {"state": state}) if pid in existing
                else Command.create({"partner_id": pid, "state": state})
                for pid, state in states.items()
            ]
    return vals


def write_odoo_values(records, vals):
    """Write :func:`core_to_odoo_values` output to existing events.

    ``calendar.event.write`` rebuilds ``attendee_ids`` from ``partner_ids``
    (new attendees start as "needs action"), so the answers Outlook sent are
    applied right after, on the attendee records.
    """
    vals = dict(vals)
    attendee_commands = vals.pop("attendee_ids", None)
    records.write(vals)
    if not attendee_commands:
        return
    states = {}
    for command in attendee_commands:
        if command[0] == Command.CREATE:
            states[command[2]["partner_id"]] = command[2]["state"]
        elif command[0] == Command.UPDATE:
            attendee = records.env["calendar.attendee"].browse(command[1])
            states[attendee.partner_id.id] = command[2]["state"]
    for record in records:
        for attendee in record.attendee_ids:
            state = states.get(attendee.partner_id.id)
            if state and attendee.state != state:
                attendee.state = state
