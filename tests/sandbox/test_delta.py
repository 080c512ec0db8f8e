"""calendarView delta over HTTP: the initial round (masters, occurrence stubs,
full exceptions), paging by odata.maxpagesize without loss or duplicates,
incremental rounds after create/update/delete/move-out/cancel, @removed,
replays of an old deltaLink, 410 after eviction and 400 for bad tokens."""
from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import quote

import pytest

from outlook_sandbox import delta

WINDOW = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z"
STUB_KEYS = {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}
REMOVED_KEYS = {"@odata.type", "id", "@removed"}


def enc(item_id: str) -> str:
    return quote(item_id, safe="")


def create(session, subject: str, start: str, minutes: int = 30, path: str = "/me/events", **extra) -> dict:
    hour_end = f"{start[:11]}{int(start[11:13]) + minutes // 60:02d}:{minutes % 60:02d}:00"
    response = session.post(path, json={"subject": subject, "start": {"dateTime": start, "timeZone": "UTC"},
                                        "end": {"dateTime": hour_end, "timeZone": "UTC"}, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def daily(count: int, start_date: str = "2026-03-02") -> dict:
    return {"pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": start_date, "numberOfOccurrences": count}}


def run_round(session, url: str, page_size: int | None = None) -> tuple[list[dict], str, list]:
    """Follow nextLinks to the deltaLink; returns (items, deltaLink, responses)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
    items, responses = [], []
    while True:
        response = session.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        responses.append(response)
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], responses
        url = body["@odata.nextLink"]


def initial(session, path: str = "/me/calendarView/delta", page_size: int | None = None):
    return run_round(session, f"{path}?{WINDOW}", page_size)


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def test_initial_round_has_masters_stubs_and_singles(alice):
    master = create(alice, "Standup", "2026-03-02T08:00:00", recurrence=daily(3))
    single = create(alice, "Lunch", "2026-03-03T12:00:00")
    create(alice, "Outside", "2026-05-03T12:00:00")
    items, delta_link, responses = initial(alice)
    assert "$deltatoken=" in delta_link and delta_link.startswith(alice.base_url + "/me/calendarView/delta?")
    assert "odata.track-changes" in responses[0].headers["Preference-Applied"]
    assert responses[0].json()["@odata.context"].endswith("/$metadata#Collection(event)")
    assert all(item["@odata.type"] == "#microsoft.graph.event" and item["@odata.etag"].startswith('W/"')
               for item in items)
    types = [item["type"] for item in items]
    assert sorted(types) == ["occurrence", "occurrence", "occurrence", "seriesMaster", "singleInstance"]
    found = by_id(items)
    assert found[master["id"]]["subject"] == "Standup" and found[master["id"]]["recurrence"]["pattern"]["type"] == \
        "daily"
    assert found[master["id"]]["start"] == {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"}
    assert found[single["id"]]["subject"] == "Lunch"
    stubs = [item for item in items if item["type"] == "occurrence"]
    assert all(set(stub) == STUB_KEYS and stub["seriesMasterId"] == master["id"] for stub in stubs)
    assert [stub["start"]["dateTime"][:10] for stub in stubs] == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_master_carries_its_first_occurrence_times(alice):
    # Starts on a Tuesday but meets on Mondays: the first occurrence is the 9th.
    create(alice, "Mondays", "2026-03-03T08:00:00",
           recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                       "range": {"type": "numbered", "startDate": "2026-03-03", "numberOfOccurrences": 2}})
    items, _, _ = initial(alice)
    master = next(item for item in items if item["type"] == "seriesMaster")
    assert master["start"]["dateTime"] == "2026-03-09T08:00:00.0000000"
    assert master["end"]["dateTime"] == "2026-03-09T08:30:00.0000000"


def test_maxpagesize_pages_lose_and_repeat_nothing(alice):
    created = {create(alice, f"Event {n}", f"2026-03-{n + 1:02d}T09:00:00")["id"] for n in range(13)}
    created.add(create(alice, "Series", "2026-03-20T07:00:00", recurrence=daily(4, "2026-03-20"))["id"])
    items, _, responses = initial(alice, page_size=4)
    assert [len(r.json()["value"]) for r in responses] == [4, 4, 4, 4, 2]  # 13 + master + 4 stubs
    assert all("$skiptoken=" in r.json()["@odata.nextLink"] for r in responses[:-1])
    assert all("odata.maxpagesize=4" in r.headers["Preference-Applied"] for r in responses)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 18
    assert created <= set(ids)


def test_changes_during_a_round_wait_for_the_next_round(alice):
    for n in range(5):
        create(alice, f"Event {n}", f"2026-03-{n + 1:02d}T09:00:00")
    first_page = alice.get(f"/me/calendarView/delta?{WINDOW}", headers={"Prefer": "odata.maxpagesize=2"}).json()
    late = create(alice, "Late", "2026-03-20T09:00:00")
    rest, delta_link, _ = run_round(alice, first_page["@odata.nextLink"], page_size=2)
    assert late["id"] not in {item["id"] for item in first_page["value"] + rest}
    assert len(first_page["value"] + rest) == 5
    following, _, _ = run_round(alice, delta_link)
    assert [item["id"] for item in following] == [late["id"]]


def test_incremental_rounds_report_each_kind_of_change(alice):
    keep = create(alice, "Keep", "2026-03-05T09:00:00")
    change = create(alice, "Change", "2026-03-06T09:00:00")
    remove = create(alice, "Remove", "2026-03-07T09:00:00")
    leave = create(alice, "Leave", "2026-03-08T09:00:00")
    _, link, _ = initial(alice)

    nothing, link, _ = run_round(alice, link)
    assert nothing == []

    added = create(alice, "Added", "2026-03-09T09:00:00")
    assert alice.patch(f"/me/events/{enc(change['id'])}", json={"subject": "Changed"}).status_code == 200
    assert alice.delete(f"/me/events/{enc(remove['id'])}").status_code == 204
    moved = alice.patch(f"/me/events/{enc(leave['id'])}",
                        json={"start": {"dateTime": "2026-06-08T09:00:00", "timeZone": "UTC"},
                              "end": {"dateTime": "2026-06-08T09:30:00", "timeZone": "UTC"}})
    assert moved.status_code == 200
    items, link, _ = run_round(alice, link)
    found = by_id(items)
    assert set(found) == {added["id"], change["id"], remove["id"], leave["id"]}
    assert keep["id"] not in found
    assert found[added["id"]]["subject"] == "Added"
    assert found[change["id"]]["subject"] == "Changed" and "bodyPreview" in found[change["id"]]
    for gone in (remove["id"], leave["id"]):
        assert found[gone] == {"@odata.type": "#microsoft.graph.event", "id": gone, "@removed": {"reason": "deleted"}}

    quiet, _, _ = run_round(alice, link)
    assert quiet == []


def test_series_changes_cancelled_occurrences_and_exceptions(alice):
    master = create(alice, "Standup", "2026-03-02T08:00:00", recurrence=daily(4))
    items, link, _ = initial(alice)
    first, second, third, fourth = [item for item in items if item["type"] == "occurrence"]

    assert alice.delete(f"/me/events/{enc(second['id'])}").status_code == 204
    patched = alice.patch(f"/me/events/{enc(third['id'])}", json={"subject": "Special"})
    assert patched.status_code == 200
    items, link, _ = run_round(alice, link)
    found = by_id(items)
    assert found[second["id"]]["@removed"] == {"reason": "deleted"} and set(found[second["id"]]) == REMOVED_KEYS
    assert found[third["id"]]["type"] == "exception" and found[third["id"]]["subject"] == "Special"
    assert found[third["id"]]["seriesMasterId"] == master["id"]
    # Cancelling re-stamped the master: it and its remaining occurrences come again.
    assert found[master["id"]]["type"] == "seriesMaster"
    assert {first["id"], fourth["id"]} <= set(found)
    assert set(found[fourth["id"]]) == STUB_KEYS

    # Deleting the exception cancels it; deleting the master removes what is left.
    assert alice.delete(f"/me/events/{enc(third['id'])}").status_code == 204
    items, link, _ = run_round(alice, link)
    assert by_id(items)[third["id"]]["@removed"] == {"reason": "deleted"}
    assert alice.delete(f"/me/events/{enc(master['id'])}").status_code == 204
    items, _, _ = run_round(alice, link)
    assert {item["id"] for item in items if "@removed" in item} == {master["id"], first["id"], fourth["id"]}
    assert all("@removed" in item for item in items)


def test_change_outside_the_window_is_reported_as_removed(alice):
    _, link, _ = initial(alice)
    outside = create(alice, "Far away", "2026-09-01T09:00:00")
    items, _, _ = run_round(alice, link)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": outside["id"], "@removed": {"reason": "deleted"}}]


def test_old_delta_link_can_be_replayed(alice):
    _, link, _ = initial(alice)
    first = create(alice, "First", "2026-03-02T09:00:00")
    items, newer_link, _ = run_round(alice, link)
    assert [item["id"] for item in items] == [first["id"]]
    second = create(alice, "Second", "2026-03-03T09:00:00")
    replay, _, _ = run_round(alice, link)
    assert {item["id"] for item in replay} == {first["id"], second["id"]}
    newer, _, _ = run_round(alice, newer_link)
    assert [item["id"] for item in newer] == [second["id"]]


def test_evicted_tokens_answer_410(alice, bob, control, sandbox):
    _, link, _ = initial(alice)
    _, bob_link, _ = initial(bob)
    pending = alice.get(f"/me/calendarView/delta?{WINDOW}", headers={"Prefer": "odata.maxpagesize=1"})
    create(alice, "One", "2026-03-02T09:00:00")
    create(alice, "Two", "2026-03-03T09:00:00")
    next_link = alice.get(link, headers={"Prefer": "odata.maxpagesize=1"}).json()["@odata.nextLink"]
    assert pending.status_code == 200

    response = control.post("/delta/evict", json={"mailbox": "alice@contoso.com"})
    assert response.status_code == 200 and response.json()["evicted"] >= 3
    for url in (link, next_link):
        gone = alice.get(url)
        assert gone.status_code == 410
        error = gone.json()["error"]
        assert error["code"] == "SyncStateNotFound"
        assert error["message"].startswith("The sync state generation is not found; generation=")
    # Bob's tokens are untouched until everything is evicted.
    assert bob.get(bob_link).status_code == 200
    assert delta.evict_tokens(sandbox.world) >= 1
    assert bob.get(bob_link).status_code == 410
    # A fresh initial round works again.
    assert len(initial(alice)[0]) == 2


def test_invalid_and_foreign_tokens_are_400(alice, bob):
    response = alice.get("/me/calendarView/delta?$deltatoken=not-a-token")
    assert response.status_code == 400
    assert response.json()["error"] == {**response.json()["error"], "code": "InvalidDeltaToken",
                                        "message": "The value 'not-a-token' of parameter '$deltaToken' is invalid."}
    _, link, _ = initial(alice)
    token = link.split("$deltatoken=")[1]
    # Another mailbox's token names no sync state of this mailbox.
    assert bob.get(f"/me/calendarView/delta?$deltatoken={token}").json()["error"]["code"] == "InvalidDeltaToken"
    # A delta token is not a skip token.
    assert alice.get(f"/me/calendarView/delta?$skiptoken={token}").status_code == 400
    # Nor is it good for another calendar.
    other = alice.post("/me/calendars", json={"name": "Projects"}).json()
    wrong_calendar = alice.get(f"/me/calendars/{enc(other['id'])}/calendarView/delta?$deltatoken={token}")
    assert wrong_calendar.status_code == 400


def test_initial_round_needs_a_window_and_takes_no_odata_options(alice):
    missing = alice.get("/me/calendarView/delta")
    assert missing.status_code == 400 and "StartDateTime" in missing.json()["error"]["message"]
    for option in ("$select=subject", "$filter=subject eq 'x'", "$orderby=subject", "$expand=attachments"):
        response = alice.get(f"/me/calendarView/delta?{WINDOW}&{option}")
        assert response.status_code == 400, option
        assert option.split("=")[0] in response.json()["error"]["message"]


@pytest.mark.parametrize("suffix", ["delta", "delta()"])
def test_per_calendar_delta_sees_only_its_calendar(alice, suffix):
    other = alice.post("/me/calendars", json={"name": "Projects"}).json()
    mine = create(alice, "Project", "2026-03-02T09:00:00", path=f"/me/calendars/{enc(other['id'])}/events")
    create(alice, "Default", "2026-03-02T10:00:00")
    items, link, _ = initial(alice, path=f"/me/calendars/{enc(other['id'])}/calendarView/{suffix}")
    assert [item["id"] for item in items] == [mine["id"]]
    assert f"/calendarView/{suffix}?$deltatoken=" in link
    default_items, _, _ = initial(alice, path=f"/me/calendar/calendarView/{suffix}")
    assert [item["subject"] for item in default_items] == ["Default"]


def test_prefer_time_zone_applies_to_items_and_stubs(alice):
    create(alice, "Standup", "2026-03-02T08:00:00", recurrence=daily(1))
    response = alice.get(f"/me/calendarView/delta?{WINDOW}",
                         headers={"Prefer": 'outlook.timezone="Europe/Brussels", odata.maxpagesize=5'})
    applied = response.headers["Preference-Applied"]
    assert 'outlook.timezone="Europe/Brussels"' in applied and "odata.maxpagesize=5" in applied
    assert {item["start"]["dateTime"][11:16] for item in response.json()["value"]} == {"09:00"}
    assert {item["start"]["timeZone"] for item in response.json()["value"]} == {"Europe/Brussels"}


def test_graph_sdk_reads_recurrence_and_delta_rounds(sandbox):
    """Microsoft's msgraph-sdk creates a series, pages a delta round by
    maxpagesize and follows the deltaLink, deserializing every item."""
    pytest.importorskip("msgraph", reason="msgraph-sdk is in requirements-test.txt")
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.day_of_week import DayOfWeek
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.event_type import EventType
    from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
    from msgraph.generated.models.recurrence_pattern import RecurrencePattern
    from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
    from msgraph.generated.models.recurrence_range import RecurrenceRange
    from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
    from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder

    from tests.sandbox.test_msgraph_sdk import sdk_client

    def when(value: str) -> DateTimeTimeZone:
        return DateTimeTimeZone(date_time=value, time_zone="Romance Standard Time")

    async def scenario():
        client, http = sdk_client(sandbox, "alice@contoso.com")
        async with http:
            series = await client.me.events.post(Event(
                subject="Weekly", start=when("2026-03-02T09:00:00"), end=when("2026-03-02T10:00:00"),
                recurrence=PatternedRecurrence(
                    pattern=RecurrencePattern(type=RecurrencePatternType.Weekly, interval=1,
                                              days_of_week=[DayOfWeek.Monday]),
                    range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=date(2026, 3, 2),
                                          number_of_occurrences=3))))
            single = await client.me.events.post(Event(subject="Once", start=when("2026-03-04T09:00:00"),
                                                       end=when("2026-03-04T10:00:00")))
            config = DeltaRequestBuilder.DeltaRequestBuilderGetRequestConfiguration(
                query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                    start_date_time="2026-03-01T00:00:00Z", end_date_time="2026-04-01T00:00:00Z"))
            config.headers.add("Prefer", "odata.maxpagesize=2")
            page = await client.me.calendar_view.delta.get(request_configuration=config)
            items, pages = list(page.value), 1
            while page.odata_next_link:
                page = await client.me.calendar_view.delta.with_url(page.odata_next_link).get()
                items += page.value
                pages += 1
            await client.me.events.by_event_id(single.id).delete()
            following = await client.me.calendar_view.delta.with_url(page.odata_delta_link).get()
        return series, single, items, pages, following

    series, single, items, pages, following = asyncio.run(scenario())
    assert series.recurrence.range.end_date == date(1, 1, 1)
    assert series.recurrence.range.recurrence_time_zone == "Romance Standard Time"
    assert pages == 3  # 2 + 2 + 1: the round keeps its page size on nextLinks sent without Prefer
    assert sorted(item.type.value for item in items) == ["occurrence"] * 3 + ["seriesMaster", "singleInstance"]
    master = next(item for item in items if item.type == EventType.SeriesMaster)
    assert master.recurrence.pattern.days_of_week == [DayOfWeek.Monday]
    assert {item.series_master_id for item in items if item.type == EventType.Occurrence} == {series.id}
    assert [(item.id, item.additional_data.get("@removed")) for item in following.value] == \
        [(single.id, {"reason": "deleted"})]
