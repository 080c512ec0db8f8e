"""Graph JSON <-> Event: round-trips, time zones, all-day dates, malformed payloads."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from outlook_sync.mapping import (
    MEETING_URL_PROPERTY_ID,
    ODOO_REF_PROPERTY_ID,
    MappingError,
    event_from_graph,
    event_to_graph,
    graph_meta,
    is_removed,
)
from outlook_sync.model import (
    EVENT_FIELDS,
    Attendee,
    AttendeeType,
    Event,
    Person,
    Recurrence,
    Response,
    Sensitivity,
    ShowAs,
)

from .graph_fakes import as_graph_response

UTC = timezone.utc


def timed(start: datetime, hours: float = 1, time_zone: str = "Europe/Brussels", **fields) -> Event:
    start = start.astimezone(UTC)  # elapsed time, not wall-clock time
    return Event(subject="Réunion d'équipe", start=start, end=start + timedelta(hours=hours), time_zone=time_zone, **fields)


def round_trip(event: Event, prefer_time_zone: str = "UTC") -> Event:
    result, warnings = event_from_graph(as_graph_response(event_to_graph(event), prefer_time_zone))
    assert warnings == []
    return result


RICH = Event(
    subject="Planning 東京 — Ünïcödé ✓",
    body_html="<p>Ordre du jour&nbsp;: <b>budget</b> &amp; <i>équipe</i></p><ul><li>Zürich</li></ul>",
    start=datetime(2024, 6, 3, 7, 30, tzinfo=UTC),
    end=datetime(2024, 6, 3, 9, 0, tzinfo=UTC),
    time_zone="Europe/Paris",
    location="Salle Öresund, 3ᵉ étage",
    online_meeting_url="https://meet.example.com/abc?x=1&y=ü",
    attendees=(
        Attendee("Zoë@Example.com", "Zoë Ångström", AttendeeType.REQUIRED, Response.ACCEPTED),
        Attendee("room.öresund@example.com", "Öresund", AttendeeType.RESOURCE, Response.NONE),
        Attendee("bob@example.com", "Bob", AttendeeType.OPTIONAL, Response.TENTATIVE),
    ),
    organizer=Person("Alice@Example.com", "Alice Ørsted"),
    show_as=ShowAs.WORKING_ELSEWHERE,
    sensitivity=Sensitivity.PRIVATE,
    reminder_minutes=30,
    categories=("Rouge", "Blue category", "日本"),
    recurrence=Recurrence("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10;WKST=MO", "Europe/Paris"),
    odoo_url="https://odoo.example.com/odoo/calendar/42",
    odoo_ref="calendar.event,42",
)


def test_rich_event_round_trips_through_graph_request_and_response():
    assert round_trip(RICH) == RICH
    assert round_trip(RICH, prefer_time_zone="Pacific Standard Time") == RICH
    assert round_trip(RICH, prefer_time_zone="Asia/Tokyo") == RICH


def test_request_body_shape():
    body = event_to_graph(RICH, transaction_id="tx-1")
    assert body["start"] == {"dateTime": "2024-06-03T09:30:00.0000000", "timeZone": "Romance Standard Time"}
    assert body["end"] == {"dateTime": "2024-06-03T11:00:00.0000000", "timeZone": "Romance Standard Time"}
    assert body["isAllDay"] is False
    assert body["transactionId"] == "tx-1"
    assert body["sensitivity"] == "private" and body["showAs"] == "workingElsewhere"
    assert body["isReminderOn"] is True and body["reminderMinutesBeforeStart"] == 30
    assert body["location"] == {"displayName": "Salle Öresund, 3ᵉ étage"}
    assert {"id": ODOO_REF_PROPERTY_ID, "value": "calendar.event,42"} in body["singleValueExtendedProperties"]
    assert body["body"]["contentType"] == "html"
    assert "https://odoo.example.com/odoo/calendar/42" in body["body"]["content"]
    assert body["recurrence"] == {
        "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"], "firstDayOfWeek": "monday"},
        "range": {"startDate": "2024-06-03", "recurrenceTimeZone": "Romance Standard Time",
                  "type": "numbered", "numberOfOccurrences": 10},
    }
    json.dumps(body)  # serialisable as is


def test_property_id_is_a_named_string_property_with_a_guid():
    kind, guid, name_word, name = ODOO_REF_PROPERTY_ID.split(" ")
    assert (kind, name_word, name) == ("String", "Name", "OdooEventRef")
    assert guid.startswith("{") and guid.endswith("}") and len(guid) == 38


@pytest.mark.parametrize("field", EVENT_FIELDS)
def test_patch_body_holds_only_the_changed_field(field):
    # Times carry the recurrence along: its range.startDate must follow the start.
    body = event_to_graph(RICH, [field])
    expected = {
        "subject": {"subject"}, "body_html": {"body"}, "odoo_url": {"body"},
        "start": {"start", "end", "isAllDay", "recurrence"}, "end": {"start", "end", "isAllDay", "recurrence"},
        "all_day": {"start", "end", "isAllDay", "recurrence"}, "time_zone": {"start", "end", "isAllDay", "recurrence"},
        "location": {"location"}, "online_meeting_url": {"singleValueExtendedProperties"},
        "attendees": {"attendees"}, "organizer": {"organizer"}, "show_as": {"showAs"},
        "sensitivity": {"sensitivity"}, "reminder_minutes": {"isReminderOn", "reminderMinutesBeforeStart"},
        "categories": {"categories"}, "recurrence": {"recurrence"}, "odoo_ref": {"singleValueExtendedProperties"},
        "odoo_record_url": {"body"}, "odoo_record_name": {"body"},
    }[field]
    assert set(body) == expected


def test_patch_clearing_values():
    event = RICH.replace(recurrence=None, reminder_minutes=None, odoo_ref="", online_meeting_url="")
    body = event_to_graph(event, ["recurrence", "reminder_minutes", "odoo_ref", "online_meeting_url"])
    assert body["recurrence"] is None
    assert body["isReminderOn"] is False and "reminderMinutesBeforeStart" not in body
    assert body["singleValueExtendedProperties"] == [
        {"id": ODOO_REF_PROPERTY_ID, "value": ""}, {"id": MEETING_URL_PROPERTY_ID, "value": ""}]


def test_unknown_field_in_patch_is_a_programming_error():
    with pytest.raises(ValueError):
        event_to_graph(RICH, ["colour"])


# --------------------------------------------------------------------------- time zones and DST

@pytest.mark.parametrize("local", [
    # Europe/Brussels, spring forward on 2024-03-31 (02:00 -> 03:00) and fall back on 2024-10-27 (03:00 -> 02:00)
    ("Europe/Brussels", datetime(2024, 3, 30, 23, 30)), ("Europe/Brussels", datetime(2024, 3, 31, 1, 30)),
    ("Europe/Brussels", datetime(2024, 3, 31, 3, 0)), ("Europe/Brussels", datetime(2024, 10, 27, 1, 30)),
    ("Europe/Brussels", datetime(2024, 10, 27, 3, 0)), ("Europe/Brussels", datetime(2024, 10, 26, 23, 0)),
    # America/New_York, 2024-03-10 and 2024-11-03
    ("America/New_York", datetime(2024, 3, 10, 1, 30)), ("America/New_York", datetime(2024, 3, 10, 3, 0)),
    ("America/New_York", datetime(2024, 11, 3, 0, 30)), ("America/New_York", datetime(2024, 11, 3, 2, 0)),
])
def test_timed_events_across_dst_keep_their_instants(local):
    time_zone, wall = local
    start = wall.replace(tzinfo=ZoneInfo(time_zone))
    event = timed(start, hours=3, time_zone=time_zone)  # 3 h spans the transition
    result = round_trip(event)
    assert result.start == start.astimezone(UTC) and result.end == event.end
    assert result.end - result.start == timedelta(hours=3)
    assert round_trip(event, prefer_time_zone="Eastern Standard Time") == result


def test_ambiguous_local_hour_is_written_as_the_first_occurrence():
    # Graph takes local wall time + zone, so 02:30 on the fall-back night is ambiguous
    # on the wire. The second 02:30 (01:30 UTC) comes back as the first (00:30 UTC).
    second = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert event_to_graph(timed(second), ["start"])["start"]["dateTime"] == "2024-10-27T02:30:00.0000000"
    assert round_trip(timed(second)).start == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_event_zone_comes_from_original_start_time_zone():
    payload = {
        "start": {"dateTime": "2024-07-01T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-07-01T15:00:00.0000000", "timeZone": "UTC"},
        "originalStartTimeZone": "Eastern Standard Time",
    }
    event, warnings = event_from_graph(payload)
    assert warnings == [] and event.time_zone == "America/New_York"
    assert event.start == datetime(2024, 7, 1, 14, tzinfo=UTC)


@pytest.mark.parametrize("zone_name", ["tzone://Microsoft/Custom", "Mars Standard Time", None])
def test_unknown_event_zone_falls_back_to_the_mailbox_zone_and_warns(zone_name):
    payload = {
        "start": {"dateTime": "2024-07-01T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-07-01T15:00:00.0000000", "timeZone": "UTC"},
        "originalStartTimeZone": zone_name,
    }
    event, warnings = event_from_graph(payload, default_time_zone="Europe/Brussels")
    if zone_name is None:  # then start.timeZone ("UTC") is the best clue
        assert event.time_zone == "UTC" and warnings == []
    else:
        assert event.time_zone == "Europe/Brussels" and len(warnings) == 1 and "Europe/Brussels" in warnings[0]
    assert event.start == datetime(2024, 7, 1, 14, tzinfo=UTC)


def test_iana_zone_names_and_fractional_digits_are_accepted():
    payload = {
        "start": {"dateTime": "2024-07-01T10:00:00.1234567", "timeZone": "Asia/Kolkata"},
        "end": {"dateTime": "2024-07-01T11:00:00", "timeZone": "India Standard Time"},
    }
    event, warnings = event_from_graph(payload)
    assert warnings == []
    assert event.start == datetime(2024, 7, 1, 4, 30, 0, 123456, tzinfo=UTC)
    assert event.end == datetime(2024, 7, 1, 5, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- all-day events

ALL_DAY_ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "Europe/Brussels",
                 "Asia/Tokyo", "UTC", "Australia/Lord_Howe", "America/St_Johns"]


@pytest.mark.parametrize("time_zone", ALL_DAY_ZONES)
@pytest.mark.parametrize("prefer", ["UTC", "Pacific Standard Time", "Line Islands Standard Time", "UTC-11"])
@pytest.mark.parametrize("days", [(date(2024, 3, 10), date(2024, 3, 10)), (date(2024, 10, 26), date(2024, 10, 28)),
                                  (date(2024, 12, 31), date(2025, 1, 1))])
def test_all_day_events_land_on_the_same_local_days_whatever_zone_graph_answers_in(time_zone, prefer, days):
    event = Event(subject="Congé", start=days[0], end=days[1], all_day=True, time_zone=time_zone)
    result = round_trip(event, prefer_time_zone=prefer)
    assert (result.start, result.end, result.all_day) == (event.start, event.end, True)


def test_all_day_request_uses_midnights_and_an_exclusive_end():
    event = Event(start=date(2024, 3, 10), end=date(2024, 3, 11), all_day=True, time_zone="Pacific/Kiritimati")
    body = event_to_graph(event)
    assert body["start"] == {"dateTime": "2024-03-10T00:00:00.0000000", "timeZone": "Line Islands Standard Time"}
    assert body["end"] == {"dateTime": "2024-03-12T00:00:00.0000000", "timeZone": "Line Islands Standard Time"}
    assert body["isAllDay"] is True


def test_all_day_event_read_in_utc_uses_original_start_time_zone():
    # Kiritimati is UTC+14: local midnight of 10 March is 10:00 UTC on 9 March.
    payload = {
        "isAllDay": True, "originalStartTimeZone": "Line Islands Standard Time",
        "start": {"dateTime": "2024-03-09T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-03-10T10:00:00.0000000", "timeZone": "UTC"},
    }
    event, warnings = event_from_graph(payload)
    assert warnings == [] and (event.start, event.end) == (date(2024, 3, 10), date(2024, 3, 10))


def test_all_day_event_not_at_midnight_keeps_the_days_it_covers_and_warns():
    payload = {
        "isAllDay": True,
        "start": {"dateTime": "2024-03-10T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2024-03-10T09:00:00", "timeZone": "UTC"},
    }
    event, warnings = event_from_graph(payload)
    assert (event.start, event.end) == (date(2024, 3, 10), date(2024, 3, 10))
    assert any("midnight" in warning for warning in warnings)


# --------------------------------------------------------------------------- other fields

def test_response_defaults_and_enumerations():
    payload = as_graph_response(event_to_graph(RICH))
    payload.update(sensitivity="confidential", showAs="oof", isReminderOn=False, reminderMinutesBeforeStart=15)
    payload["attendees"][0]["status"] = {"response": "declined", "time": "2024-01-01T00:00:00Z"}
    event, warnings = event_from_graph(payload)
    assert warnings == []
    assert event.sensitivity is Sensitivity.CONFIDENTIAL and event.show_as is ShowAs.OOF
    assert event.reminder_minutes is None
    assert event.attendees[0].response is Response.DECLINED


def test_online_meeting_join_url_wins_over_legacy_url_and_our_property():
    payload = as_graph_response(event_to_graph(RICH))
    assert event_from_graph(payload)[0].online_meeting_url == RICH.online_meeting_url
    payload["onlineMeetingUrl"] = "https://legacy.example.com"
    assert event_from_graph(payload)[0].online_meeting_url == "https://legacy.example.com"
    payload["onlineMeeting"] = {"joinUrl": "https://teams.microsoft.com/l/meetup-join/1"}
    assert event_from_graph(payload)[0].online_meeting_url == "https://teams.microsoft.com/l/meetup-join/1"


def test_extended_property_id_is_matched_whatever_the_guid_case():
    payload = as_graph_response(event_to_graph(RICH))
    payload["singleValueExtendedProperties"] = [{"id": ODOO_REF_PROPERTY_ID.upper().replace("NAME ODOOEVENTREF", "Name OdooEventRef"), "value": "calendar.event,7"}]
    assert event_from_graph(payload)[0].odoo_ref == "calendar.event,7"


def test_text_body_is_escaped_into_html():
    payload = as_graph_response(event_to_graph(RICH))
    payload["body"] = {"contentType": "text", "content": "Prix < 5 € & plus\r\nLigne 2 <script>"}
    event, _ = event_from_graph(payload)
    assert event.body_html == "Prix &lt; 5 € &amp; plus<br>Ligne 2 &lt;script&gt;"


def test_graph_meta_and_tombstones():
    payload = as_graph_response(event_to_graph(RICH), lastModifiedDateTime="2024-05-01T10:00:00.1234567Z",
                                transactionId="tx-9", type="seriesMaster")
    meta = graph_meta(payload)
    assert meta.last_modified == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert (meta.transaction_id, meta.type, meta.change_key) == ("tx-9", "seriesMaster", payload["changeKey"])
    tombstone = {"id": "AAMk", "@removed": {"reason": "deleted"}}
    assert is_removed(tombstone) and not is_removed(payload)
    with pytest.raises(MappingError, match="tombstone"):
        event_from_graph(tombstone)


def test_series_exceptions_and_cancellations_are_read():
    payload = as_graph_response(event_to_graph(RICH))
    payload["cancelledOccurrences"] = ["OID.AAMkAGI2.2024-06-10", "OID.AAMkAGI2.2024-06-06", "OID.garbage"]
    payload["exceptionOccurrences"] = [{"originalStart": "2024-06-13T07:30:00Z"}]
    event, warnings = event_from_graph(payload)
    assert event.recurrence.cancelled == (date(2024, 6, 6), date(2024, 6, 10))
    assert event.recurrence.modified == (datetime(2024, 6, 13, 7, 30, tzinfo=UTC),)
    assert len(warnings) == 1 and "OID.garbage" in warnings[0]


def test_snapshot_is_json_and_round_trips():
    for event in (RICH, Event(start=date(2024, 1, 1), end=date(2024, 1, 2), all_day=True, time_zone="Asia/Tokyo")):
        snapshot = json.loads(json.dumps(event.to_snapshot()))
        assert Event.from_snapshot(snapshot) == event


# --------------------------------------------------------------------------- malformed input

START = {"dateTime": "2024-07-01T10:00:00.0000000", "timeZone": "UTC"}
END = {"dateTime": "2024-07-01T11:00:00.0000000", "timeZone": "UTC"}


@pytest.mark.parametrize("payload, message", [
    (None, "JSON object"), ([], "JSON object"), ("event", "JSON object"),
    ({}, "no start"), ({"end": END}, "no start"), ({"start": "2024-07-01"}, "no start"),
    ({"start": {"dateTime": "tomorrow", "timeZone": "UTC"}, "end": END}, "unreadable start"),
    ({"start": {"dateTime": "2024-02-30T10:00:00", "timeZone": "UTC"}}, "unreadable start"),
])
def test_payloads_that_cannot_be_events_raise_mapping_error(payload, message):
    with pytest.raises(MappingError, match=message):
        event_from_graph(payload)


@pytest.mark.parametrize("changes, expected_warning, check", [
    ({"end": None}, "end", lambda e: e.end == e.start),
    ({"end": {"dateTime": "garbage", "timeZone": "UTC"}}, "end", lambda e: e.end == e.start),
    ({"end": {"dateTime": "2024-07-01T09:00:00", "timeZone": "UTC"}}, "before it starts", lambda e: e.end == e.start),
    ({"showAs": "partying"}, "showAs", lambda e: e.show_as is ShowAs.BUSY),
    ({"sensitivity": "SECRET"}, "sensitivity", lambda e: e.sensitivity is Sensitivity.NORMAL),
    ({"reminderMinutesBeforeStart": "soon"}, "reminder", lambda e: e.reminder_minutes == 15),
    ({"attendees": [{"type": "required"}, {"emailAddress": {"address": "A@b.c"}, "type": "vip",
                                           "status": {"response": "maybe"}}]},
     "attendee", lambda e: e.attendees == (Attendee("a@b.c"),)),
    ({"body": {"contentType": "markdown", "content": "<b>x</b>"}}, "contentType", lambda e: e.body_html == "<b>x</b>"),
    ({"recurrence": {"pattern": {"type": "lunar", "interval": 1}}}, "lunar", lambda e: e.recurrence is None),
    ({"recurrence": "weekly"}, "pattern", lambda e: e.recurrence is None),
])
def test_odd_values_give_the_closest_event_and_a_warning(changes, expected_warning, check):
    payload = {"id": "x", "subject": "Ünïcödé", "start": START, "end": END, **changes}
    event, warnings = event_from_graph(payload)
    assert check(event)
    assert any(expected_warning in warning for warning in warnings), warnings


def test_missing_optional_fields_give_defaults_without_warnings():
    event, warnings = event_from_graph({"start": START, "end": END, "subject": None, "categories": None,
                                        "location": None, "organizer": None, "attendees": None, "body": None})
    assert warnings == []
    assert event == Event(start=datetime(2024, 7, 1, 10, tzinfo=UTC), end=datetime(2024, 7, 1, 11, tzinfo=UTC))


def test_case_variants_of_enumerations_are_understood():
    event, warnings = event_from_graph({"start": START, "end": END, "showAs": "Busy", "sensitivity": "Private"})
    assert warnings == [] and event.sensitivity is Sensitivity.PRIVATE


# --------------------------------------------------------------------------- fuzzing

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.text(max_size=12)
    | st.sampled_from(["2024-07-01T10:00:00.0000000", "0001-01-01", "UTC", "Romance Standard Time", "weekly", "last"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["dateTime", "timeZone", "type", "interval", "daysOfWeek", "index", "month", "dayOfMonth",
                         "numberOfOccurrences", "endDate", "startDate", "pattern", "range", "address", "emailAddress",
                         "status", "response", "content", "contentType", "id", "value", "displayName"]),
        children, max_size=4),
    max_leaves=12,
)
VALID = as_graph_response(event_to_graph(RICH))


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(sorted(VALID)), json_values, max_size=5))
# found by this test: a time at the edge of Python's dates overflowed once converted to UTC
@example(changes={"end": {"dateTime": "0001-01-01", "timeZone": "Europe/Paris"}})
@example(changes={"start": {"dateTime": "9999-12-31T23:00:00", "timeZone": "America/New_York"}})
def test_any_damage_to_a_payload_gives_an_event_or_a_mapping_error(changes):
    try:
        event, warnings = event_from_graph({**VALID, **changes})
    except MappingError:
        return
    assert isinstance(event, Event) and all(isinstance(warning, str) for warning in warnings)
    event_to_graph(event)  # whatever was read can be written back
