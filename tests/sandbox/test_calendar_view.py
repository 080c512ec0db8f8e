"""calendarView and instances over HTTP: the required window, its limits and
offsets, what a window holds (singles, occurrences, exceptions, no masters),
paging, $select and Prefer time zone, all-day events, and occurrences
addressed by id (GET, PATCH into an exception, DELETE to cancel)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from outlook_sandbox.recurrence import occurrence_id, parse_occurrence_id

BRUSSELS_PREFER = {"Prefer": 'outlook.timezone="Europe/Brussels"'}


def create(session, subject: str, start: str, end: str, zone: str = "Europe/Brussels", **extra) -> dict:
    response = session.post("/me/events", json={"subject": subject, "start": {"dateTime": start, "timeZone": zone},
                                                "end": {"dateTime": end, "timeZone": zone}, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def daily(count: int, start_date: str = "2026-03-02") -> dict:
    return {"pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": start_date, "numberOfOccurrences": count}}


def view(session, start: str, end: str, path: str = "/me/calendarView", headers=None, **params) -> dict:
    query = "&".join(f"{k}={quote(str(v), safe=':$,')}" for k, v in
                     {"startDateTime": start, "endDateTime": end, **params}.items())
    response = session.get(f"{path}?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def enc(item_id: str) -> str:
    return quote(item_id, safe="")


def test_window_is_required(alice):
    for query in ("", "?startDateTime=2026-03-01T00:00:00Z", "?endDateTime=2026-03-01T00:00:00Z"):
        response = alice.get("/me/calendarView" + query)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == ("This request requires a time window specified by the query "
                                                       "string parameters StartDateTime and EndDateTime.")


def test_window_longer_than_1825_days_is_rejected(alice):
    response = alice.get("/me/calendarView?startDateTime=2020-01-01T00:00:00Z&endDateTime=2025-01-01T00:00:00Z")
    assert response.status_code == 400
    assert response.json()["error"] == {**response.json()["error"], "code": "ErrorInvalidRequest",
                                        "message": "Your request can't be completed. The range between the start "
                                                   "and end dates is greater than the allowed range. Maximum "
                                                   "number of days: 1825"}
    assert view(alice, "2020-01-01T00:00:00Z", "2024-12-29T00:00:00Z")["value"] == []


def test_malformed_window_value_is_400(alice):
    response = alice.get("/me/calendarView?startDateTime=tomorrow&endDateTime=2026-03-01T00:00:00Z")
    assert response.status_code == 400 and "StartDateTime" in response.json()["error"]["message"]


def test_window_offsets_are_honoured_and_no_offset_means_utc(alice):
    create(alice, "Nine UTC", "2026-03-02T09:00:00", "2026-03-02T09:30:00", zone="UTC")
    # 10:00+01:00 is 09:00Z: the event starts inside.
    assert len(view(alice, "2026-03-02T09:45:00+01:00", "2026-03-02T12:00:00+01:00")["value"]) == 1
    # The same wall-clock without offset is UTC: 09:45Z is after the event ends.
    assert view(alice, "2026-03-02T09:45:00", "2026-03-02T12:00:00")["value"] == []
    # Prefer does not change how the window is read.
    assert view(alice, "2026-03-02T09:45:00", "2026-03-02T12:00:00", headers=BRUSSELS_PREFER)["value"] == []


def test_view_holds_singles_occurrences_and_exceptions_by_start_but_no_masters(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    create(alice, "Lunch", "2026-03-03T12:00:00", "2026-03-03T13:00:00")
    create(alice, "Outside", "2026-04-03T12:00:00", "2026-04-03T13:00:00")
    body = view(alice, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z", headers=BRUSSELS_PREFER)
    assert [(e["subject"], e["type"], e["start"]["dateTime"]) for e in body["value"]] == [
        ("Standup", "occurrence", "2026-03-02T09:00:00.0000000"),
        ("Standup", "occurrence", "2026-03-03T09:00:00.0000000"),
        ("Lunch", "singleInstance", "2026-03-03T12:00:00.0000000"),
        ("Standup", "occurrence", "2026-03-04T09:00:00.0000000")]
    first = body["value"][0]
    assert first["seriesMasterId"] == master["id"] and first["recurrence"] is None
    assert first["id"] != master["id"] and first["iCalUId"] != master["iCalUId"]
    assert len({e["iCalUId"] for e in body["value"]}) == 4
    assert first["start"]["timeZone"] == "Europe/Brussels"
    # Same ids and iCalUIds when asked again.
    again = view(alice, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z")
    assert [(e["id"], e["iCalUId"]) for e in again["value"]] == [(e["id"], e["iCalUId"]) for e in body["value"]]
    assert again["value"][0]["start"] == {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"}


def test_view_of_a_named_calendar_only_shows_that_calendar(alice):
    other = alice.post("/me/calendars", json={"name": "Projects"}).json()
    alice.post(f"/me/calendars/{enc(other['id'])}/events",
               json={"subject": "Elsewhere", "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
                     "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "UTC"}})
    create(alice, "Home", "2026-03-02T10:00:00", "2026-03-02T11:00:00")
    window = ("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z")
    assert [e["subject"] for e in view(alice, *window)["value"]] == ["Home"]
    assert [e["subject"] for e in view(alice, *window, path="/me/calendar/calendarView")["value"]] == ["Home"]
    assert [e["subject"] for e in view(alice, *window, path=f"/me/calendars/{enc(other['id'])}/calendarView")
            ["value"]] == ["Elsewhere"]


def test_pages_of_ten_with_next_link_then_top(alice):
    create(alice, "Daily", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(12))
    first = view(alice, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert len(first["value"]) == 10
    second = alice.get(first["@odata.nextLink"]).json()
    assert len(second["value"]) == 2 and "@odata.nextLink" not in second
    ids = [e["id"] for e in first["value"] + second["value"]]
    assert len(set(ids)) == 12
    top = view(alice, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", **{"$top": 5})
    assert len(top["value"]) == 5 and "$top=5" in top["@odata.nextLink"]


def test_select_keeps_only_the_named_properties(alice):
    create(alice, "Daily", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(2))
    body = view(alice, "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z", **{"$select": "subject,start"})
    assert set(body["value"][0]) == {"@odata.etag", "id", "subject", "start"}


def test_all_day_event_overlaps_in_its_own_zone(alice):
    # 10 March in Brussels is 9 March 23:00Z to 10 March 23:00Z.
    create(alice, "Holiday", "2026-03-10T00:00:00", "2026-03-11T00:00:00", isAllDay=True)
    assert len(view(alice, "2026-03-09T23:30:00Z", "2026-03-10T00:00:00Z")["value"]) == 1
    assert view(alice, "2026-03-10T23:00:00Z", "2026-03-11T12:00:00Z")["value"] == []
    assert view(alice, "2026-03-09T12:00:00Z", "2026-03-09T23:00:00Z")["value"] == []


def test_weekly_series_keeps_local_time_across_dst(alice):
    create(alice, "Weekly", "2026-10-15T09:00:00", "2026-10-15T10:00:00",
           recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Thursday"]},
                       "range": {"type": "noEnd", "startDate": "2026-10-15"}})
    utc = view(alice, "2026-10-14T00:00:00Z", "2026-11-01T00:00:00Z")["value"]
    assert [e["start"]["dateTime"][:16] for e in utc] == ["2026-10-15T07:00", "2026-10-22T07:00",
                                                         "2026-10-29T08:00"]
    local = view(alice, "2026-10-14T00:00:00Z", "2026-11-01T00:00:00Z", headers=BRUSSELS_PREFER)["value"]
    assert {e["start"]["dateTime"][11:16] for e in local} == {"09:00"}


# -- occurrences by id -----------------------------------------------------------------

def _occurrences(session, start="2026-03-01T00:00:00Z", end="2026-03-10T00:00:00Z") -> list[dict]:
    return view(session, start, end, headers=BRUSSELS_PREFER)["value"]


def test_get_occurrence_by_id(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    second = _occurrences(alice)[1]
    response = alice.get(f"/me/events/{enc(second['id'])}", headers=BRUSSELS_PREFER)
    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["seriesMasterId"], body["recurrence"]) == ("occurrence", master["id"], None)
    assert body["start"]["dateTime"] == "2026-03-03T09:00:00.0000000"
    assert body["originalStart"].startswith("2026-03-03T08:00:00")


def test_patch_occurrence_makes_an_exception_at_its_new_time(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    second = _occurrences(alice)[1]
    response = alice.patch(f"/me/events/{enc(second['id'])}", headers=BRUSSELS_PREFER,
                           json={"subject": "Late standup",
                                 "start": {"dateTime": "2026-03-03T15:00:00", "timeZone": "Europe/Brussels"},
                                 "end": {"dateTime": "2026-03-03T15:15:00", "timeZone": "Europe/Brussels"}})
    assert response.status_code == 200, response.text
    exception = response.json()
    assert (exception["id"], exception["type"], exception["subject"]) == (second["id"], "exception", "Late standup")
    assert exception["seriesMasterId"] == master["id"]
    assert exception["originalStart"].startswith("2026-03-03T08:00:00")
    items = _occurrences(alice)
    assert [(e["type"], e["subject"], e["start"]["dateTime"][:16]) for e in items] == [
        ("occurrence", "Standup", "2026-03-02T09:00"), ("exception", "Late standup", "2026-03-03T15:00"),
        ("occurrence", "Standup", "2026-03-04T09:00")]
    # Patching the exception again updates it in place.
    again = alice.patch(f"/me/events/{enc(second['id'])}", json={"subject": "Later standup"})
    assert again.status_code == 200 and again.json()["type"] == "exception"
    assert [e["subject"] for e in _occurrences(alice)][1] == "Later standup"


def test_moving_an_occurrence_onto_its_neighbour_is_rejected(alice):
    create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    second = _occurrences(alice)[1]
    for day in ("2026-03-04", "2026-03-02"):
        response = alice.patch(f"/me/events/{enc(second['id'])}",
                               json={"start": {"dateTime": f"{day}T11:00:00", "timeZone": "Europe/Brussels"},
                                     "end": {"dateTime": f"{day}T11:15:00", "timeZone": "Europe/Brussels"}})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "ErrorOccurrenceCrossingBoundary"
        assert response.json()["error"]["message"] == \
            "Modified occurrence is crossing or overlapping adjacent occurrence."
    assert [e["type"] for e in _occurrences(alice)] == ["occurrence"] * 3


def test_moving_an_existing_exception_onto_its_neighbour_is_rejected(alice):
    create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    second = _occurrences(alice)[1]
    assert alice.patch(f"/me/events/{enc(second['id'])}", json={"subject": "Moved"}).status_code == 200
    response = alice.patch(f"/me/events/{enc(second['id'])}",
                           json={"start": {"dateTime": "2026-03-04T11:00:00", "timeZone": "Europe/Brussels"},
                                 "end": {"dateTime": "2026-03-04T11:15:00", "timeZone": "Europe/Brussels"}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorOccurrenceCrossingBoundary"


def test_an_occurrence_may_move_within_the_days_between_its_neighbours(alice):
    create(alice, "Weekly", "2026-03-02T09:00:00", "2026-03-02T10:00:00",
           recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                       "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3}})
    first, second, _ = _occurrences(alice, end="2026-03-31T00:00:00Z")

    def move(item, day):
        return alice.patch(f"/me/events/{enc(item['id'])}",
                           json={"start": {"dateTime": f"{day}T09:00:00", "timeZone": "Europe/Brussels"},
                                 "end": {"dateTime": f"{day}T10:00:00", "timeZone": "Europe/Brussels"}})
    assert move(second, "2026-03-15").status_code == 200  # the Sunday before the third Monday
    assert move(first, "2026-03-15").status_code == 400  # past the (moved) second one
    # Once the second is cancelled, the first may move up to the day before the third.
    assert alice.delete(f"/me/events/{enc(second['id'])}").status_code == 204
    assert move(first, "2026-03-16").status_code == 400
    assert move(first, "2026-03-15").status_code == 200


def test_delete_occurrence_and_exception_cancel_them(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    first, second, third = _occurrences(alice)
    assert alice.delete(f"/me/events/{enc(first['id'])}").status_code == 204
    alice.patch(f"/me/events/{enc(third['id'])}", json={"subject": "Changed"})
    assert alice.delete(f"/me/events/{enc(third['id'])}").status_code == 204
    assert [e["id"] for e in _occurrences(alice)] == [second["id"]]
    assert alice.get(f"/me/events/{enc(first['id'])}").status_code == 404
    assert alice.get(f"/me/events/{enc(third['id'])}").status_code == 404
    # The master itself lives on.
    assert alice.get(f"/me/events/{enc(master['id'])}").json()["type"] == "seriesMaster"


def test_occurrence_ids_off_the_pattern_are_not_found(alice):
    create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    master_id, original = parse_occurrence_id(_occurrences(alice)[0]["id"])
    off = occurrence_id(master_id, original + timedelta(hours=1))
    assert alice.get(f"/me/events/{enc(off)}").json()["error"]["code"] == "ErrorItemNotFound"
    assert alice.delete(f"/me/events/{enc(off)}").status_code == 404


# -- instances ---------------------------------------------------------------------------

def test_instances_of_a_series(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(5))
    second = _occurrences(alice)[1]
    alice.patch(f"/me/events/{enc(second['id'])}", json={"subject": "Moved"})
    body = view(alice, "2026-03-03T00:00:00Z", "2026-03-05T00:00:00Z",
                path=f"/me/events/{enc(master['id'])}/instances")
    assert [(e["type"], e["subject"]) for e in body["value"]] == [("exception", "Moved"), ("occurrence", "Standup")]
    assert all(e["seriesMasterId"] == master["id"] and e["recurrence"] is None for e in body["value"])
    calendar_path = f"/me/calendar/events/{enc(master['id'])}/instances"
    assert len(view(alice, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z", path=calendar_path)["value"]) == 5


def test_instances_needs_a_window_and_an_existing_event(alice):
    single = create(alice, "Lunch", "2026-03-03T12:00:00", "2026-03-03T13:00:00")
    path = f"/me/events/{enc(single['id'])}/instances"
    assert alice.get(path).status_code == 400
    assert view(alice, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z", path=path)["value"] == []
    missing = alice.get("/me/events/AAMkAGAAAA%3D%3D/instances?startDateTime=2026-03-01&endDateTime=2026-03-02")
    assert missing.status_code == 404


def test_master_lists_cancelled_and_exception_occurrences_on_request(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    first, second, _ = _occurrences(alice)
    alice.delete(f"/me/events/{enc(first['id'])}")
    alice.patch(f"/me/events/{enc(second['id'])}", json={"subject": "Special"})
    plain = alice.get(f"/me/events/{enc(master['id'])}").json()
    assert "cancelledOccurrences" not in plain and "exceptionOccurrences" not in plain
    selected = alice.get(f"/me/events/{enc(master['id'])}?$select=subject,cancelledOccurrences"
                         "&$expand=exceptionOccurrences").json()
    assert selected["cancelledOccurrences"] == [f"OID.{master['id']}.2026-03-02"]
    assert [(e["id"], e["type"], e["subject"]) for e in selected["exceptionOccurrences"]] == \
        [(second["id"], "exception", "Special")]


def test_occurrences_expand_their_masters_extended_properties(alice):
    prop_id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name OdooId"
    create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(2),
           singleValueExtendedProperties=[{"id": prop_id, "value": "42"}])
    expand = f"singleValueExtendedProperties($filter=id eq '{prop_id}')"
    items = view(alice, "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z", **{"$expand": expand})["value"]
    assert [item["singleValueExtendedProperties"] for item in items] == [[{"id": prop_id, "value": "42"}]] * 2
    one = alice.get(f"/me/events/{enc(items[0]['id'])}?$expand={quote(expand)}").json()
    assert one["singleValueExtendedProperties"] == [{"id": prop_id, "value": "42"}]
    assert "singleValueExtendedProperties" not in alice.get(f"/me/events/{enc(items[0]['id'])}").json()


def test_changing_the_series_time_drops_its_exceptions_and_cancellations(alice):
    master = create(alice, "Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00", recurrence=daily(3))
    first, second, _ = _occurrences(alice)
    alice.delete(f"/me/events/{enc(first['id'])}")
    alice.patch(f"/me/events/{enc(second['id'])}", json={"subject": "Special"})
    alice.patch(f"/me/events/{enc(master['id'])}", json={"subject": "Renamed"})
    assert [e["subject"] for e in _occurrences(alice)] == ["Special", "Renamed"]  # kept on other edits
    moved = alice.patch(f"/me/events/{enc(master['id'])}",
                        json={"start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Brussels"},
                              "end": {"dateTime": "2026-03-02T10:15:00", "timeZone": "Europe/Brussels"}})
    assert moved.status_code == 200
    assert [(e["type"], e["subject"], e["start"]["dateTime"][:16]) for e in _occurrences(alice)] == [
        ("occurrence", "Renamed", "2026-03-02T10:00"), ("occurrence", "Renamed", "2026-03-03T10:00"),
        ("occurrence", "Renamed", "2026-03-04T10:00")]
    assert alice.get(f"/me/events/{enc(second['id'])}").status_code == 404
