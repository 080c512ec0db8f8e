"""Ids in Graph's REST form: URL-safe, usable in a path raw or percent-encoded;
an EWS-form id in a path is answered as Graph answers it; translateExchangeIds."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

REST_ID = re.compile(r"^[A-Za-z0-9_\-]+=*$")


def _series(alice) -> dict:
    response = alice.post("/me/events", json={
        "subject": "Standup",
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T09:15:00", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 40}}})
    assert response.status_code == 201, response.text
    return response.json()


def _issued_ids(alice) -> list[str]:
    calendar = alice.post("/me/calendars", json={"name": "Projects"}).json()["id"]
    master = _series(alice)
    occurrences = alice.get(f"/me/events/{master['id']}/instances?startDateTime=2026-12-01"
                            "&endDateTime=2027-01-10&$top=40").json()["value"]
    return [calendar, master["id"], *(o["id"] for o in occurrences)]


def test_every_issued_id_is_url_safe(alice):
    issued = _issued_ids(alice)
    assert len(issued) == 42
    assert all(REST_ID.match(i) for i in issued), [i for i in issued if not REST_ID.match(i)]


@pytest.mark.parametrize("encode", [lambda i: i, lambda i: quote(i, safe="")], ids=["raw", "percent-encoded"])
def test_ids_round_trip_raw_and_percent_encoded(alice, encode):
    calendar, master, *occurrences = _issued_ids(alice)
    assert alice.get(f"/me/calendars/{encode(calendar)}").json()["id"] == calendar
    assert alice.get(f"/me/events/{encode(master)}").json()["id"] == master
    for occurrence in occurrences[:3] + occurrences[-2:]:
        got = alice.get(f"/me/events/{encode(occurrence)}")
        assert got.status_code == 200, got.text
        assert got.json()["id"] == occurrence
    patched = alice.patch(f"/me/events/{encode(occurrences[0])}", json={"subject": "Moved"})
    assert patched.status_code == 200
    assert alice.delete(f"/me/events/{encode(occurrences[1])}").status_code == 204


def test_ews_id_with_slash_in_path_is_request_broker_parse_uri(alice):
    master = _series(alice)["id"]
    ews = master.replace("_", "+").replace("-", "/")
    if "/" not in ews:
        ews = ews[:10] + "/" + ews[10:]
    response = alice.get(f"/me/events/{ews}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "RequestBroker--ParseUri"
    assert error["message"] == f"Resource not found for the segment '{ews.split('/')[1]}'."


def test_ews_id_percent_encoded_is_malformed(alice):
    master = _series(alice)["id"]
    ews = master.replace("_", "+").replace("-", "/")
    if ews == master:
        ews = master[:-2] + "+" + master[-1:]
    response = alice.get(f"/me/events/{quote(ews, safe='')}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidIdMalformed"


def test_translate_exchange_ids_between_ews_and_rest(alice):
    master = _series(alice)["id"]
    ews = alice.post("/me/translateExchangeIds", json={
        "inputIds": [master], "sourceIdType": "restId", "targetIdType": "ewsId"})
    assert ews.status_code == 200, ews.text
    [pair] = ews.json()["value"]
    assert pair["sourceId"] == master
    assert "-" not in pair["targetId"] and "_" not in pair["targetId"]
    back = alice.post("/me/translateExchangeIds", json={
        "inputIds": [pair["targetId"]], "sourceIdType": "ewsId", "targetIdType": "restId"})
    assert back.json()["value"] == [{"sourceId": pair["targetId"], "targetId": master}]
    refused = alice.post("/me/translateExchangeIds", json={
        "inputIds": [master], "sourceIdType": "restId", "targetIdType": "entryId"})
    assert refused.status_code == 400
