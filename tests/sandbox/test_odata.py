"""OData query options: the $filter parser on its own, then $filter,
$orderby, $select, $top, $skip, $count and nextLink paging over HTTP."""
from __future__ import annotations

import pytest

from outlook_sandbox import odata
from outlook_sandbox.errors import GraphError

ODOO_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name odoo_id"

RECORD = {"subject": "Team Sync", "type": "seriesMaster", "iCalUId": "040000AB",
          "start": {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"},
          "lastModifiedDateTime": "2026-11-20T10:00:00.1234560Z",
          "singleValueExtendedProperties": [{"id": ODOO_ID, "value": "Odoo-1"}]}


@pytest.mark.parametrize("expression,expected", [
    ("subject eq 'team sync'", True),
    ("subject eq 'Team'", False),
    ("subject ne 'Team'", True),
    ("start/dateTime ge '2026-12-01T09:00:00'", True),
    ("start/dateTime gt '2026-12-01T09:00'", False),
    ("start/dateTime lt '2026-12-02'", True),
    ("lastModifiedDateTime ge 2026-11-20T10:00:00Z", True),
    ("lastModifiedDateTime le 2026-11-20T09:00:00Z", False),
    ("type eq 'seriesMaster' and (subject eq 'x' or iCalUId eq '040000ab')", True),
    ("type eq 'seriesMaster' and subject eq 'x' or iCalUId eq '040000ab'", True),  # and binds tighter
    ("type eq 'seriesMaster' and (subject eq 'x' or iCalUId eq 'nope')", False),
    ("not (subject eq 'x')", True),
    ("contains(subject, 'SYNC') and startswith(subject, 'team')", True),
    (f"singleValueExtendedProperties/Any(ep: ep/id eq '{ODOO_ID}' and ep/value eq 'ODOO-1')", True),
    (f"singleValueExtendedProperties/any(ep: ep/id eq '{ODOO_ID.upper()}')", False),
    ("subject eq 'it''s'", False),
])
def test_filter_evaluation(expression, expected):
    assert odata.matches(odata.parse_filter(expression), RECORD) is expected


@pytest.mark.parametrize("expression", [
    "subject eq", "subject eq 'x", "(subject eq 'x'", "subject eq 'x')", "subject like 'x'",
    "subject eq 'x' and", "singleValueExtendedProperties/Any(ep ep/id eq 'x')", "subject eq 'x' ; drop",
    "", "   ", "__import__('os')",
])
def test_malformed_filters_are_invalid_filter_clause(expression):
    with pytest.raises(GraphError) as caught:
        odata.parse_filter(expression, {"subject", "singleValueExtendedProperties"})
    assert caught.value.status == 400 and caught.value.code == "BadRequest"


def test_unknown_property_in_filter_is_named():
    with pytest.raises(GraphError) as caught:
        odata.parse_filter("colour eq 'red'", {"subject"})
    assert "colour" in caught.value.message


def test_parse_expand_with_nested_filter():
    assert odata.parse_expand(f"singleValueExtendedProperties($filter=id eq '{ODOO_ID}'),attachments") == {
        "singleValueExtendedProperties": f"id eq '{ODOO_ID}'", "attachments": None}
    with pytest.raises(GraphError):
        odata.parse_expand("singleValueExtendedProperties($filter=id eq 'x'")


# -- over HTTP -------------------------------------------------------------------------------

def make_events(sandbox, count: int, **extra) -> list[str]:
    """Create ``count`` events in Alice's default calendar directly (fast), in day order."""
    from outlook_sandbox.handlers.events import create_seed_event
    mailbox = sandbox.world.mailbox_by_address("alice@contoso.com")
    ids = []
    for i in range(count):
        day = 1 + i % 28
        event = create_seed_event(sandbox.world, mailbox, {
            "subject": f"Event {i:03d}",
            "start": {"dateTime": f"2026-12-{day:02d}T{8 + i // 28:02d}:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-12-{day:02d}T{9 + i // 28:02d}:00:00", "timeZone": "UTC"}, **extra})
        ids.append(event.id)
    return ids


def follow(session, first: str) -> list[dict]:
    """All items of a collection, following @odata.nextLink to the end."""
    items, url, pages = [], first, 0
    while url:
        response = session.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        url = body.get("@odata.nextLink")
        pages += 1
        assert pages < 100
    return items


def test_default_page_is_ten_and_next_links_cover_everything_once(sandbox, alice):
    ids = make_events(sandbox, 25)
    first = alice.get("/me/events").json()
    assert len(first["value"]) == 10
    assert "$skip=10" in first["@odata.nextLink"]
    items = follow(alice, "/me/events")
    assert sorted(e["id"] for e in items) == sorted(ids)


def test_next_link_keeps_the_original_query(sandbox, alice):
    make_events(sandbox, 30)
    query = "/me/events?$select=subject&$filter=start/dateTime ge '2026-12-05'&$orderby=subject desc&$top=4"
    first = alice.get(query).json()
    assert len(first["value"]) == 4
    assert set(first["value"][0]) == {"@odata.etag", "id", "subject"}
    link = first["@odata.nextLink"]
    assert "$top=4" in link and "$select=subject" in link and "$orderby=subject%20desc" in link
    assert " " not in link and "+" not in link
    items = follow(alice, query)
    subjects = [e["subject"] for e in items]
    assert subjects == sorted(subjects, reverse=True)
    # Events 0-3 and 28-29 fall on 1-4 December and are filtered out.
    assert subjects == [f"Event {i:03d}" for i in range(27, 3, -1)]


def test_top_limit_and_bad_values(sandbox, alice):
    make_events(sandbox, 3)
    assert len(alice.get("/me/events?$top=1000").json()["value"]) == 3
    for bad in ("$top=1001", "$top=-1", "$top=abc", "$skip=x", "$orderby=subject sideways",
                "$select=subject,nope", "$count=maybe"):
        response = alice.get(f"/me/events?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "BadRequest"


def test_malformed_filter_over_http_is_400(alice):
    response = alice.get("/me/events", params={"$filter": "subject eq 'x' and"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and error["message"].startswith("Invalid filter clause")


def test_filter_and_orderby_over_http(sandbox, alice):
    make_events(sandbox, 6)
    mailbox = sandbox.world.mailbox_by_address("alice@contoso.com")
    sandbox.world.clock.advance(60)
    marked = next(e for e in mailbox.events.values() if e.data["subject"] == "Event 002")
    response = alice.patch(f"/me/events/{marked.id.replace('/', '%2F').replace('+', '%2B').replace('=', '%3D')}",
                           json={"subject": "Moved"})
    assert response.status_code == 200
    changed_since = response.json()["lastModifiedDateTime"]

    def subjects(**params):
        response = alice.get("/me/events", params=params)
        assert response.status_code == 200, response.text
        return [e["subject"] for e in response.json()["value"]]
    assert subjects(**{"$filter": f"lastModifiedDateTime ge {changed_since}"}) == ["Moved"]
    assert subjects(**{"$filter": "subject eq 'event 004'"}) == ["Event 004"]
    assert subjects(**{"$filter": "start/dateTime ge '2026-12-05T00:00:00' or end/dateTime le '2026-12-01T09:00'",
                       "$orderby": "start/dateTime desc"}) == ["Event 005", "Event 004", "Event 000"]
    assert subjects(**{"$filter": "type eq 'seriesMaster'"}) == []
    assert subjects(**{"$orderby": "subject"})[:2] == ["Event 000", "Event 001"]
    assert subjects(**{"$orderby": "lastModifiedDateTime desc"})[0] == "Moved"
    ical = alice.get("/me/events?$top=1").json()["value"][0]
    assert [e["iCalUId"] for e in alice.get("/me/events", params={
        "$filter": f"iCalUId eq '{ical['iCalUId']}'"}).json()["value"]] == [ical["iCalUId"]]


def test_count(sandbox, alice):
    make_events(sandbox, 12)
    body = alice.get("/me/events?$count=true&$top=5").json()
    assert body["@odata.count"] == 12 and len(body["value"]) == 5
