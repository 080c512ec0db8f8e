"""The canonical event: value semantics, normalisation, snapshots, purity of the package."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outlook_sync.model import EVENT_FIELDS, Attendee, Event, Person, Recurrence, Response, field_equal

UTC = timezone.utc
START = datetime(2024, 5, 1, 10, tzinfo=ZoneInfo("Europe/Brussels"))


def test_times_are_normalised_to_utc_and_events_compare_by_value():
    event = Event(start=START, end=START + timedelta(hours=1), time_zone="Europe/Brussels")
    assert event.start == datetime(2024, 5, 1, 8, tzinfo=UTC) and event.start.tzinfo is UTC
    same = Event(start=datetime(2024, 5, 1, 8, tzinfo=UTC), end=datetime(2024, 5, 1, 9, tzinfo=UTC), time_zone="Europe/Brussels")
    assert event == same and hash(event) == hash(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.subject = "changed"  # type: ignore[misc]


def test_attendees_and_categories_are_canonical():
    event = Event(
        start=START, end=START,
        attendees=(Attendee("Zoë@Example.COM", "Zoë"), Attendee("ann@example.com"), Attendee("ZOË@example.com", "dup")),
        categories=("blue", "Red", "blue", "Ärger"),
        organizer=Person(" Boss@Example.com "),
    )
    assert [a.email for a in event.attendees] == ["ann@example.com", "zoë@example.com"]
    assert event.categories == ("blue", "Red", "Ärger")  # case-insensitive code-point order
    assert event.organizer.email == "boss@example.com"
    assert Attendee("a@b.c", response="tentativelyAccepted").response is Response.TENTATIVE


@pytest.mark.parametrize("fields", [
    dict(start=START, end=START - timedelta(minutes=1)),
    dict(start=datetime(2024, 5, 1, 10), end=datetime(2024, 5, 1, 11)),  # naive
    dict(all_day=True, start=START, end=START),
    dict(all_day=True, start=date(2024, 5, 2), end=date(2024, 5, 1)),
])
def test_impossible_events_are_refused(fields):
    with pytest.raises(ValueError):
        Event(**fields)


def test_field_values_lists_every_field_in_order():
    event = Event(start=START, end=START, subject="x")
    assert tuple(event.field_values()) == EVENT_FIELDS and event.field_values()["subject"] == "x"


def test_field_equal_treats_what_outlook_cannot_tell_apart_as_equal():
    assert field_equal("time_zone", "Europe/Brussels", "Europe/Paris")
    assert not field_equal("time_zone", "Europe/Brussels", "Europe/London")
    assert field_equal("body_html", "<p>Hi  there</p>", "<div>Hi there</div>")
    assert not field_equal("body_html", "<p>Hi</p>", "<p>Ho</p>")
    assert field_equal("recurrence", Recurrence("FREQ=DAILY;INTERVAL=1", "Europe/Brussels"),
                       Recurrence("FREQ=DAILY;INTERVAL=1", "Europe/Paris"))
    assert not field_equal("recurrence", Recurrence("FREQ=DAILY;INTERVAL=1", "UTC"), None)
    assert not field_equal("subject", "a", "A")


def test_unknown_snapshot_version_is_refused():
    snapshot = Event(start=START, end=START).to_snapshot()
    with pytest.raises(ValueError, match="version"):
        Event.from_snapshot({**snapshot, "version": 99})


def test_the_core_imports_neither_odoo_nor_the_sandbox():
    code = (
        "import sys\n"
        "import outlook_sync.model, outlook_sync.timezones, outlook_sync.recurrence, outlook_sync.body\n"
        "import outlook_sync.mapping, outlook_sync.reconcile\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('odoo', 'outlook_sandbox'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
