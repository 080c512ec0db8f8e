"""Delta rounds through the client: pages, resuming from a stored link, the
next round's changes, and a clean restart when the sync state is lost (410)."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from outlook_sync.client import DeltaWindow
from outlook_sync.errors import SyncStateLost

WINDOW = DeltaWindow(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2027, 2, 1, tzinfo=timezone.utc))


def _event(subject: str, day: int) -> dict:
    return {"subject": subject,
            "start": {"dateTime": f"2026-12-{day:02d}T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-12-{day:02d}T10:00:00", "timeZone": "UTC"}}


@pytest.fixture
def five_events(graph_as) -> list[dict]:
    alice = graph_as("alice@contoso.com")
    created = []
    for day in range(1, 6):
        response = alice.post("/me/events", json=_event(f"Day {day}", day))
        response.raise_for_status()
        created.append(response.json())
    return created


def _ids(pages) -> list[str]:
    return [item["id"] for page in pages for item in page.items]


def test_a_fresh_round_pages_until_the_delta_link(make_client, five_events):
    client = make_client()

    pages = list(client.delta_round(WINDOW, page_size=2))

    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert all(p.next_link and not p.delta_link for p in pages[:-1])
    assert pages[-1].delta_link and not pages[-1].next_link
    assert all(p.fresh_round for p in pages)
    assert sorted(_ids(pages)) == sorted(e["id"] for e in five_events)
    assert client.stats == {"delta": 3}


def test_a_round_resumes_from_the_stored_link(make_client, five_events):
    first_run = make_client()
    first_page = next(first_run.delta_round(WINDOW, page_size=2))
    stored = first_page.resume_link  # what the caller saves after applying the page

    second_run = make_client()
    rest = list(second_run.delta_round(stored, page_size=2))

    assert not any(p.fresh_round for p in rest)
    assert sorted([*_ids([first_page]), *_ids(rest)]) == sorted(e["id"] for e in five_events)
    assert rest[-1].delta_link


def test_the_next_round_brings_only_the_changes(make_client, five_events, graph_as):
    client = make_client()
    delta_link = list(client.delta_round(WINDOW))[-1].delta_link
    alice = graph_as("alice@contoso.com")
    alice.patch(f"/me/events/{_quoted(five_events[0]['id'])}", json={"subject": "Day 1 (moved)"}).raise_for_status()
    alice.delete(f"/me/events/{_quoted(five_events[1]['id'])}").raise_for_status()

    pages = list(client.delta_round(delta_link))

    items = {item["id"]: item for page in pages for item in page.items}
    assert set(items) == {five_events[0]["id"], five_events[1]["id"]}
    assert items[five_events[0]["id"]]["subject"] == "Day 1 (moved)"
    assert items[five_events[1]["id"]]["@removed"] == {"reason": "deleted"}


def test_a_lost_sync_state_raises_then_sync_delta_restarts_cleanly(make_client, five_events, add_fault):
    client = make_client()
    delta_link = list(client.delta_round(WINDOW))[-1].delta_link
    add_fault(method="GET", path="/me/calendarView/delta", status=410, times=1)

    with pytest.raises(SyncStateLost) as caught:
        list(client.delta_round(delta_link))
    assert caught.value.code == "SyncStateNotFound" and caught.value.request_id

    add_fault(method="GET", path="/me/calendarView/delta", status=410, times=1)
    pages = list(client.sync_delta(delta_link, WINDOW, page_size=3))

    assert all(p.fresh_round for p in pages)
    assert sorted(_ids(pages)) == sorted(e["id"] for e in five_events)
    assert pages[-1].delta_link


def test_an_evicted_delta_token_restarts_a_fresh_round(make_client, five_events, control):
    client = make_client()
    pages = client.delta_round(WINDOW, page_size=2)
    stored = next(pages).resume_link  # a skip token, mid-round
    evicted = control.post("/delta/evict", json={"mailbox": "alice@contoso.com"})
    if evicted.status_code == 404:
        pytest.skip("sandbox lacks POST /_sandbox/delta/evict")
    assert evicted.status_code == 200, evicted.text

    with pytest.raises(SyncStateLost):
        list(client.delta_round(stored))
    restarted = list(client.sync_delta(stored, WINDOW, page_size=2))

    assert all(p.fresh_round for p in restarted)
    assert sorted(_ids(restarted)) == sorted(e["id"] for e in five_events)


def test_a_stored_link_to_another_host_starts_a_fresh_round(make_client, five_events):
    client = make_client()
    foreign = "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=abc"

    with pytest.raises(ValueError):
        list(client.delta_round(foreign))
    pages = list(client.sync_delta(foreign, WINDOW))

    assert pages[0].fresh_round and len(_ids(pages)) == 5
    assert client.stats == {"delta": 1}


def test_sync_delta_without_a_link_starts_from_the_window(make_client, five_events):
    client = make_client()
    pages = list(client.sync_delta(None, WINDOW))
    assert pages[0].fresh_round and len(_ids(pages)) == 5


def test_a_calendar_window_targets_that_calendar(make_client, graph_as):
    alice = graph_as("alice@contoso.com")
    calendar = alice.post("/me/calendars", json={"name": "Projects"}).json()
    alice.post(f"/me/calendars/{_quoted(calendar['id'])}/events", json=_event("In Projects", 3)).raise_for_status()
    alice.post("/me/events", json=_event("In the default calendar", 4)).raise_for_status()
    client = make_client()

    pages = list(client.delta_round(DeltaWindow(WINDOW.start, WINDOW.end, calendar_id=calendar["id"])))

    assert [item["subject"] for page in pages for item in page.items] == ["In Projects"]


def _quoted(event_id: str) -> str:
    return quote(event_id, safe="")
