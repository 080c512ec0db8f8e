"""Events through the client: idempotent creates, updates, deletes, paging."""
from __future__ import annotations

import pytest

from outlook_sync.errors import NotFound

EVENT = {"subject": "Design review",
         "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Romance Standard Time"},
         "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Romance Standard Time"}}


def test_create_update_delete_an_event(make_client):
    client = make_client()

    created = client.create_event(EVENT, transaction_id="odoo-42-1")
    assert created["start"] == {"dateTime": "2026-12-01T08:00:00.0000000", "timeZone": "UTC"}  # Prefer UTC
    updated = client.update_event(created["id"], {"subject": "Design review (moved)"})
    assert updated["subject"] == "Design review (moved)"
    assert updated["changeKey"] != created["changeKey"]
    client.delete_event(created["id"])
    with pytest.raises(NotFound):
        client.get_event(created["id"])

    assert client.stats == {"POST events": 1, "PATCH events": 1, "DELETE events": 1, "GET events": 1}


def test_a_create_with_transaction_id_is_replayed_after_a_timeout_without_duplicate(make_client, add_fault,
                                                                                     control):
    # The first POST is processed but answered too late for the client.
    add_fault(method="POST", path="/me/events", status=None, delay=1.0, times=1)
    client = make_client(timeout=(2.0, 0.4))

    created = client.create_event(EVENT, transaction_id="odoo-42-2")

    assert client.stats == {"POST events": 1, "retry": 1}
    stored = control.get("/mailboxes/alice@contoso.com/events").json()["value"]
    assert [e["id"] for e in stored] == [created["id"]]


def test_paging_follows_next_links(make_client, graph_as):
    alice = graph_as("alice@contoso.com")
    for n in range(23):
        alice.post("/me/events", json={**EVENT, "subject": f"Event {n}"}).raise_for_status()
    client = make_client()

    pages = list(client.iter_pages("/me/events", {"$select": "subject", "$top": "10"}))

    assert [len(page) for page in pages] == [10, 10, 3]
    assert sorted(e["subject"] for page in pages for e in page) == sorted(f"Event {n}" for n in range(23))
    assert client.stats == {"GET events": 3}


def test_event_ids_are_url_encoded_in_paths(make_client):
    client = make_client()
    created = client.create_event(EVENT)
    # Exchange-style ids carry '/', '+' or '='; the sandbox's do too.
    assert client.get_event(created["id"])["id"] == created["id"]
