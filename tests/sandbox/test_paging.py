"""Paging as Graph pages Outlook collections, over HTTPS: ten items a page by
default, ``$top`` and ``Prefer: odata.maxpagesize`` honoured on events lists,
calendarView, a series' instances and calendarView delta, within the 1000-item
limit, and ``Preference-Applied: odata.maxpagesize=N`` when the preference
decided the page."""
from __future__ import annotations

import pytest

WINDOW = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z"


def daily_series(session, count: int) -> dict:
    response = session.post("/me/events", json={
        "subject": "Stand-up", "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T09:15:00", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": count}}})
    assert response.status_code == 201, response.text
    return response.json()


def singles(session, count: int) -> None:
    for number in range(count):
        response = session.post("/me/events", json={
            "subject": f"Single {number}", "start": {"dateTime": f"2026-03-{number + 2:02d}T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-03-{number + 2:02d}T15:00:00", "timeZone": "UTC"}})
        assert response.status_code == 201, response.text


def walk(session, url: str, headers: dict | None = None, resend: bool = True):
    """Follow nextLinks; returns (page sizes, item ids, responses)."""
    sizes, ids, responses = [], [], []
    while url:
        response = session.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        responses.append(response)
        sizes.append(len(body["value"]))
        ids.extend(item["id"] for item in body["value"])
        url = body.get("@odata.nextLink")
        headers = headers if resend else None
    return sizes, ids, responses


@pytest.fixture
def series(alice):
    return daily_series(alice, 25)


def instances_url(series_id: str) -> str:
    from urllib.parse import quote
    return f"/me/events/{quote(series_id, safe='')}/instances?{WINDOW}"


COLLECTIONS = {
    "events": lambda s: "/me/events",
    "calendar events": lambda s: "/me/calendar/events",
    "calendarView": lambda s: f"/me/calendarView?{WINDOW}",
    "instances": lambda s: instances_url(s["id"]),
}


@pytest.fixture
def populated(alice, series):
    singles(alice, 24)  # 25 events in the lists (24 singles + the master), 49 in the view
    return series


@pytest.mark.parametrize("name", sorted(COLLECTIONS))
def test_default_page_is_ten_and_the_pages_cover_everything_once(alice, populated, name):
    sizes, ids, responses = walk(alice, COLLECTIONS[name](populated))
    assert sizes[:-1] == [10] * (len(sizes) - 1) and 0 < sizes[-1] <= 10
    assert len(ids) == len(set(ids)) == sum(sizes) >= 25
    assert all("odata.maxpagesize" not in r.headers.get("Preference-Applied", "") for r in responses)


@pytest.mark.parametrize("name", sorted(COLLECTIONS))
def test_maxpagesize_sets_the_page_and_is_echoed(alice, populated, name):
    url = COLLECTIONS[name](populated)
    _, everything, _ = walk(alice, url, {"Prefer": "odata.maxpagesize=1000"})
    sizes, ids, responses = walk(alice, url, {"Prefer": "odata.maxpagesize=7"})
    assert sizes[:-1] == [7] * (len(sizes) - 1) and sizes[-1] <= 7
    assert ids == everything
    assert all(r.headers["Preference-Applied"] == "odata.maxpagesize=7" for r in responses)


@pytest.mark.parametrize("name", sorted(COLLECTIONS))
def test_top_sets_the_page_and_maxpagesize_can_only_shrink_it(alice, populated, name):
    url = COLLECTIONS[name](populated)
    joiner = "&" if "?" in url else "?"
    sizes, ids, responses = walk(alice, f"{url}{joiner}$top=12")
    assert sizes[0] == 12 and len(ids) == len(set(ids))
    assert all("$top=12" in r.json().get("@odata.nextLink", "$top=12") for r in responses)
    assert "Preference-Applied" not in responses[0].headers
    both = alice.get(f"{url}{joiner}$top=12", headers={"Prefer": "odata.maxpagesize=5"})
    assert len(both.json()["value"]) == 5 and both.headers["Preference-Applied"] == "odata.maxpagesize=5"
    larger = alice.get(f"{url}{joiner}$top=3", headers={"Prefer": "odata.maxpagesize=20"})
    assert len(larger.json()["value"]) == 3


def test_instances_honour_the_page_size_the_client_asks_for(alice, series):
    """The bug issue 11 found: /instances answered ten whatever was asked."""
    url = instances_url(series["id"])
    assert len(alice.get(url + "&$top=25").json()["value"]) == 25
    assert len(alice.get(url, headers={"Prefer": "odata.maxpagesize=25"}).json()["value"]) == 25


def test_maxpagesize_beyond_graphs_limit_is_capped_and_unusable_values_ignored(alice, populated):
    capped = alice.get(f"/me/calendarView?{WINDOW}", headers={"Prefer": "odata.maxpagesize=5000"})
    assert len(capped.json()["value"]) == 49 and capped.headers["Preference-Applied"] == "odata.maxpagesize=1000"
    for value in ("0", "-3", "lots"):
        ignored = alice.get(f"/me/calendarView?{WINDOW}", headers={"Prefer": f"odata.maxpagesize={value}"})
        assert len(ignored.json()["value"]) == 10 and "Preference-Applied" not in ignored.headers
    assert alice.get("/me/events?$top=1001").status_code == 400


def test_preference_applied_lists_every_honoured_preference(alice, populated):
    response = alice.get(f"/me/calendarView?{WINDOW}",
                         headers={"Prefer": 'outlook.timezone="Europe/Brussels", odata.maxpagesize=4'})
    applied = [p.strip() for p in response.headers["Preference-Applied"].split(",")]
    assert applied == ['outlook.timezone="Europe/Brussels"', "odata.maxpagesize=4"]


def test_a_client_that_does_not_resend_the_header_gets_default_pages_without_gaps(alice, populated):
    url = f"/me/calendarView?{WINDOW}"
    _, everything, _ = walk(alice, url, {"Prefer": "odata.maxpagesize=1000"})
    sizes, ids, _ = walk(alice, url, {"Prefer": "odata.maxpagesize=3"}, resend=False)
    assert sizes[:2] == [3, 10] and ids == everything


# -- delta ---------------------------------------------------------------------------------


def test_delta_default_page_is_ten(alice, populated):
    sizes, ids, responses = walk(alice, f"/me/calendarView/delta?{WINDOW}")
    assert sizes[:-1] == [10] * (len(sizes) - 1) and len(ids) == len(set(ids)) == 50  # + the master
    assert all(r.headers["Preference-Applied"] == "odata.track-changes" for r in responses)


def test_delta_top_is_kept_in_the_tokens(alice, populated):
    sizes, ids, responses = walk(alice, f"/me/calendarView/delta?{WINDOW}&$top=15")
    assert sizes == [15, 15, 15, 5] and len(set(ids)) == 50
    assert all("$top" not in r.json().get("@odata.nextLink", "") for r in responses)
    # The next round keeps $top too (the deltaLink encodes it).
    delta_link = responses[-1].json()["@odata.deltaLink"]
    singles(alice, 20)
    sizes, _, _ = walk(alice, delta_link)
    assert sizes == [15, 5]


def test_delta_maxpagesize_with_top_takes_the_smaller_and_is_capped(alice, populated):
    response = alice.get(f"/me/calendarView/delta?{WINDOW}&$top=15", headers={"Prefer": "odata.maxpagesize=4"})
    assert len(response.json()["value"]) == 4
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=4, odata.track-changes"
    capped = alice.get(f"/me/calendarView/delta?{WINDOW}", headers={"Prefer": "odata.maxpagesize=99999"})
    assert len(capped.json()["value"]) == 50 and "@odata.deltaLink" in capped.json()
    assert capped.headers["Preference-Applied"] == "odata.maxpagesize=1000, odata.track-changes"
    assert alice.get(f"/me/calendarView/delta?{WINDOW}&$top=1001").status_code == 400
