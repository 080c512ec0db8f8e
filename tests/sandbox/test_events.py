"""Events over HTTP: CRUD on the three path families, Graph's defaults,
changeKey/ETag, transactionId, extended properties, Prefer headers,
validation and If-Match."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

ODOO_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name odoo_id"


def payload(subject="Lunch", day=1, hour=12, zone="UTC", **extra) -> dict:
    return {"subject": subject,
            "start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00", "timeZone": zone},
            "end": {"dateTime": f"2026-12-{day:02d}T{hour + 1:02d}:00:00", "timeZone": zone},
            **extra}


def enc(event_id: str) -> str:
    return quote(event_id, safe="")


def create(session, path="/me/events", **kwargs) -> dict:
    response = session.post(path, json=payload(**kwargs))
    assert response.status_code == 201, response.text
    return response.json()


def error_code(response) -> str:
    return response.json()["error"]["code"]


# -- CRUD ------------------------------------------------------------------------------

@pytest.fixture
def projects_calendar(alice) -> str:
    response = alice.post("/me/calendars", json={"name": "Projects"})
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.parametrize("family", ["/me/events", "/me/calendar/events", "calendars"])
def test_crud_on_each_path_family(alice, projects_calendar, family):
    base = f"/me/calendars/{enc(projects_calendar)}/events" if family == "calendars" else family
    created = create(alice, base, subject="Planning")
    item = f"{base}/{enc(created['id'])}"

    got = alice.get(item)
    assert got.status_code == 200
    assert got.json()["subject"] == "Planning"
    assert got.json()["@odata.context"].endswith("/events/$entity")

    patched = alice.patch(item, json={"subject": "Planning v2", "showAs": "tentative"})
    assert patched.status_code == 200
    assert (patched.json()["subject"], patched.json()["showAs"]) == ("Planning v2", "tentative")
    assert [e["id"] for e in alice.get(base).json()["value"]] == [created["id"]]

    deleted = alice.delete(item)
    assert deleted.status_code == 204 and deleted.content == b""
    assert alice.get(item).status_code == 404
    assert alice.get(base).json()["value"] == []


def test_event_under_another_calendar_is_not_found(alice, projects_calendar):
    event = create(alice, f"/me/calendars/{enc(projects_calendar)}/events")
    assert alice.get(f"/me/events/{enc(event['id'])}").status_code == 200  # any calendar by id
    response = alice.get(f"/me/calendar/events/{enc(event['id'])}")
    assert response.status_code == 404 and error_code(response) == "ErrorItemNotFound"
    default_event = create(alice)
    assert alice.patch(f"/me/calendars/{enc(projects_calendar)}/events/{enc(default_event['id'])}",
                       json={"subject": "x"}).status_code == 404
    # /me/events lists the default calendar only.
    assert [e["id"] for e in alice.get("/me/events").json()["value"]] == [default_event["id"]]


def test_ids_with_reserved_characters_work_percent_encoded(alice):
    seen = set()
    for _ in range(12):  # random base64 ids: some hold '/', '+' or '='
        event = create(alice)
        seen |= set(event["id"]) & set("/+=")
        response = alice.get(f"/me/events/{enc(event['id'])}")
        assert response.status_code == 200 and response.json()["id"] == event["id"]
    assert "=" in seen


def test_malformed_and_unknown_ids(alice):
    malformed = alice.get("/me/events/not-an-id")
    assert malformed.status_code == 400 and error_code(malformed) == "ErrorInvalidIdMalformed"
    assert malformed.json()["error"]["message"] == "Id is malformed."
    unknown = alice.delete("/me/events/" + enc("AAMkAG" + "A" * 48 + "=="))
    assert unknown.status_code == 404 and error_code(unknown) == "ErrorItemNotFound"


def test_users_upn_path_reaches_own_mailbox(alice):
    event = create(alice, "/users/alice@contoso.com/events")
    response = alice.get(f"/users/alice@contoso.com/events/{enc(event['id'])}")
    assert response.status_code == 200
    assert response.json()["organizer"]["emailAddress"]["address"] == "alice@contoso.com"


# -- defaults and shape --------------------------------------------------------------

def test_created_event_has_graphs_defaults(alice, sandbox):
    event = create(alice, location={"displayName": "Harry's Bar"},
                   body={"contentType": "HTML", "content": "Does <b>mid month</b> work for you?"},
                   attendees=[{"emailAddress": {"address": "samanthab@contoso.com", "name": "Samantha Booth"},
                               "type": "required"}])
    expected = {"categories": [], "hasAttachments": False, "importance": "normal", "sensitivity": "normal",
                "isAllDay": False, "isCancelled": False, "isOrganizer": True, "isDraft": False,
                "responseRequested": True, "seriesMasterId": None, "showAs": "busy", "type": "singleInstance",
                "onlineMeetingUrl": None, "recurrence": None, "reminderMinutesBeforeStart": 15,
                "isReminderOn": True, "allowNewTimeProposals": True, "hideAttendees": False,
                "isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "onlineMeeting": None,
                "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
                "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC",
                "bodyPreview": "Does mid month work for you?",
                "location": {"displayName": "Harry's Bar", "locationType": "default",
                             "uniqueId": "Harry's Bar", "uniqueIdType": "private"},
                "attendees": [{"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                               "emailAddress": {"name": "Samantha Booth", "address": "samanthab@contoso.com"}}],
                "organizer": {"emailAddress": {"name": "Alice Martin", "address": "alice@contoso.com"}}}
    assert {k: event[k] for k in expected} == expected
    assert event["locations"] == [expected["location"]]
    assert event["body"]["contentType"] == "html" and "<b>mid month</b>" in event["body"]["content"]
    assert event["start"] == {"dateTime": "2026-12-01T12:00:00.0000000", "timeZone": "UTC"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", event["createdDateTime"])
    assert event["createdDateTime"] == event["lastModifiedDateTime"]
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["iCalUId"].startswith("040000008200E00074C5B7101A82E008")
    assert event["webLink"].startswith("https://outlook.office365.com/owa/?itemid=")
    assert "transactionId" not in event  # only returned when set


def test_online_meeting_gets_a_teams_join_url(alice):
    event = create(alice, isOnlineMeeting=True)
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
    # Once on, it stays on (event.md).
    patched = alice.patch(f"/me/events/{enc(event['id'])}", json={"isOnlineMeeting": False}).json()
    assert patched["isOnlineMeeting"] is True
    assert patched["onlineMeeting"]["joinUrl"] == event["onlineMeeting"]["joinUrl"]


def test_personal_account_gets_a_skype_meeting(graph_as):
    carol = graph_as("carol@outlook.com")
    event = create(carol, isOnlineMeeting=True)
    assert event["onlineMeetingProvider"] == "skypeForConsumer"
    assert event["onlineMeeting"]["joinUrl"].startswith("https://join.skype.com/")
    assert event["webLink"].startswith("https://outlook.live.com/owa/")


def test_body_preview_is_plain_text_cut_at_255(alice):
    words = " ".join(f"word{i}" for i in range(100))
    event = create(alice, body={"contentType": "html", "content": f"<div><p>{words}</p></div>"},
                   categories=["Red category", "Odoo"])
    assert len(event["bodyPreview"]) == 255 and words.startswith(event["bodyPreview"])
    assert event["categories"] == ["Red category", "Odoo"]


def test_change_key_and_etag_rotate_on_every_change(alice, sandbox):
    event = create(alice)
    sandbox.world.clock.advance(5)
    first = alice.patch(f"/me/events/{enc(event['id'])}", json={"subject": "A"}).json()
    second = alice.patch(f"/me/events/{enc(event['id'])}", json={"subject": "B"}).json()
    keys = [event["changeKey"], first["changeKey"], second["changeKey"]]
    assert len(set(keys)) == 3
    assert second["@odata.etag"] == f'W/"{second["changeKey"]}"'
    assert first["lastModifiedDateTime"] > event["lastModifiedDateTime"]
    assert second["createdDateTime"] == event["createdDateTime"]


def test_locations_follow_location(alice):
    event = create(alice, location={"displayName": "Room 1"})
    patched = alice.patch(f"/me/events/{enc(event['id'])}",
                          json={"locations": [{"displayName": "Room 2"}, {"displayName": "Room 3"}]}).json()
    assert patched["location"]["displayName"] == "Room 2; Room 3"
    assert [loc["displayName"] for loc in patched["locations"]] == ["Room 2", "Room 3"]
    cleared = alice.patch(f"/me/events/{enc(event['id'])}", json={"location": {"displayName": ""}}).json()
    assert cleared["locations"] == [] and cleared["location"]["displayName"] == ""


# -- transactionId ----------------------------------------------------------------------

def test_transaction_id_makes_create_idempotent(alice):
    first = create(alice, transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7")
    retry = create(alice, subject="Lunch (retry)", transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7")
    assert retry["id"] == first["id"] and retry["subject"] == "Lunch"
    assert first["transactionId"] == "7E163156-7762-4BEB-A1C6-729EA81755A7"
    assert len(alice.get("/me/events").json()["value"]) == 1
    other = create(alice, transactionId="another")
    assert other["id"] != first["id"]
    changed = alice.patch(f"/me/events/{enc(first['id'])}", json={"transactionId": "new"})
    assert changed.status_code == 400 and error_code(changed) == "ErrorInvalidRequest"
    same = alice.patch(f"/me/events/{enc(first['id'])}", json={"transactionId": first["transactionId"]})
    assert same.status_code == 200


# -- extended properties ---------------------------------------------------------------

def test_extended_properties_set_replace_expand_and_filter(alice):
    tagged = create(alice, singleValueExtendedProperties=[{"id": ODOO_ID, "value": "Odoo-42"}])
    create(alice, subject="untagged")
    assert "singleValueExtendedProperties" not in tagged  # not returned without $expand

    expand = f"$expand=singleValueExtendedProperties($filter=id eq '{ODOO_ID}')"
    got = alice.get(f"/me/events/{enc(tagged['id'])}?{expand}").json()
    assert got["singleValueExtendedProperties"] == [{"id": ODOO_ID, "value": "Odoo-42"}]

    alice.patch(f"/me/events/{enc(tagged['id'])}",
                json={"singleValueExtendedProperties": [{"id": ODOO_ID, "value": "Odoo-43"}]})
    got = alice.get(f"/me/events/{enc(tagged['id'])}?{expand}").json()
    assert got["singleValueExtendedProperties"] == [{"id": ODOO_ID, "value": "Odoo-43"}]

    def ids(value: str, prop_id: str = ODOO_ID) -> list[str]:
        query = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '{value}')"
        response = alice.get("/me/events", params={"$filter": query})
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["value"]]
    assert ids("odoo-43") == [tagged["id"]]  # value is case-insensitive
    assert ids("Odoo-42") == []
    assert ids("Odoo-43", ODOO_ID.replace("odoo_id", "ODOO_ID")) == []  # id is case-sensitive


@pytest.mark.parametrize("prop", [{"id": "Strin {66f5a359-4659-4830-9070-00047ec6ac6e} Name x", "value": "1"},
                                  {"id": "String Name x", "value": "1"},
                                  {"id": "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Id 0x8012", "value": "x"}])
def test_invalid_extended_property_is_400(alice, prop):
    response = alice.post("/me/events", json=payload(singleValueExtendedProperties=[prop]))
    assert response.status_code == 400
    assert error_code(response) == ("ErrorInvalidExtendedPropertyValue" if prop["value"] == "x"
                                    else "ErrorInvalidProperty")


def test_extended_property_id_formats_are_accepted(alice):
    props = [{"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Id 0x8012", "value": "a"},
             {"id": "String 0x4001001E", "value": "b"},
             {"id": "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name count", "value": "7"}]
    event = create(alice, singleValueExtendedProperties=props)
    got = alice.get(f"/me/events/{enc(event['id'])}?$expand=singleValueExtendedProperties").json()
    assert sorted(p["id"] for p in got["singleValueExtendedProperties"]) == sorted(p["id"] for p in props)


# -- Prefer headers ---------------------------------------------------------------------

@pytest.mark.parametrize("zone,expected", [("Pacific Standard Time", "2026-12-01T04:00:00.0000000"),
                                           ("Asia/Kolkata", "2026-12-01T17:30:00.0000000")])
def test_prefer_timezone_windows_and_iana(alice, zone, expected):
    event = create(alice)
    response = alice.get(f"/me/events/{enc(event['id'])}", headers={"Prefer": f'outlook.timezone="{zone}"'})
    assert response.json()["start"] == {"dateTime": expected, "timeZone": zone}
    assert response.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'
    listed = alice.get("/me/events", headers={"Prefer": f'outlook.timezone="{zone}"'})
    assert listed.json()["value"][0]["start"]["timeZone"] == zone
    assert "Preference-Applied" in listed.headers


def test_unsupported_prefer_timezone_falls_back_to_utc_without_echo(alice):
    event = create(alice)
    response = alice.get(f"/me/events/{enc(event['id'])}", headers={"Prefer": 'outlook.timezone="Mars/Olympus"'})
    assert response.json()["start"]["timeZone"] == "UTC"
    assert "Preference-Applied" not in response.headers


def test_request_zone_is_kept_as_windows_original_zone(alice):
    event = create(alice, zone="Europe/Brussels", hour=9)
    assert event["originalStartTimeZone"] == "Romance Standard Time"
    assert event["start"] == {"dateTime": "2026-12-01T08:00:00.0000000", "timeZone": "UTC"}


def test_prefer_body_content_type(alice):
    event = create(alice, body={"contentType": "html", "content": "<p>Hello&nbsp;<b>there</b></p><p>2 &lt; 3</p>"})
    as_text = alice.get(f"/me/events/{enc(event['id'])}", headers={"Prefer": 'outlook.body-content-type="text"'})
    assert as_text.json()["body"]["contentType"] == "text"
    assert as_text.json()["body"]["content"].split() == ["Hello", "there", "2", "<", "3"]
    assert as_text.headers["Preference-Applied"] == 'outlook.body-content-type="text"'

    text_event = create(alice, body={"contentType": "text", "content": "a < b\nline 2"})
    as_html = alice.get(f"/me/events/{enc(text_event['id'])}",
                        headers={"Prefer": 'outlook.body-content-type="html"'}).json()["body"]
    assert as_html["contentType"] == "html" and "a &lt; b<br>" in as_html["content"]


def test_immutable_id_preference_is_echoed(alice):
    response = alice.post("/me/events", json=payload(), headers={"Prefer": 'IdType="ImmutableId"'})
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == 'IdType="ImmutableId"'


# -- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("body,code", [
    ({"sensitivity": "secret"}, "RequestBodyRead"),
    ({"showAs": "away"}, "RequestBodyRead"),
    ({"importance": "urgent"}, "RequestBodyRead"),
    ({"body": {"contentType": "markdown", "content": "x"}}, "RequestBodyRead"),
    ({"attendees": [{"emailAddress": {"address": "a@b.c"}, "type": "boss"}]}, "RequestBodyRead"),
    ({"isReminderOn": "yes"}, "RequestBodyRead"),
    ({"reminderMinutesBeforeStart": "15"}, "RequestBodyRead"),
    ({"start": {"dateTime": "2026-12-01T12:00:00", "timeZone": "Mars/Olympus"}}, "TimeZoneNotSupportedException"),
    ({"start": {"dateTime": "2026-12-01T14:00:00", "timeZone": "UTC"}}, "ErrorPropertyValidationFailure"),
    ({"attendees": [{"emailAddress": {"address": f"p{i}@x.com"}} for i in range(501)]}, "ErrorInvalidRequest"),
])
def test_invalid_values_are_400(alice, body, code):
    response = alice.post("/me/events", json={**payload(), **body})
    assert response.status_code == 400, response.text
    assert error_code(response) == code
    assert alice.get("/me/events").json()["value"] == []


def test_enums_are_case_insensitive(alice):
    event = create(alice, showAs="OOF", sensitivity="Private", body={"contentType": "TEXT", "content": "x"})
    assert (event["showAs"], event["sensitivity"]) == ("oof", "private")


def test_unknown_property_is_rejected_like_graph(alice):
    response = alice.post("/me/events", json=payload(colour="red"))
    assert response.status_code == 400 and error_code(response) == "RequestBodyRead"
    assert response.json()["error"]["message"].startswith(
        "The property 'colour' does not exist on type 'microsoft.graph.event'.")


def test_unknown_time_zone_message(alice):
    response = alice.post("/me/events", json=payload(zone="Nowhere Standard Time"))
    assert response.json()["error"]["message"] == ("A valid TimeZone value must be specified. The following "
                                                   "TimeZone value is not supported: 'Nowhere Standard Time'.")


def test_read_only_properties_in_a_body_are_ignored(alice):
    event = create(alice)
    echoed = {**event, "subject": "Echoed back"}  # a whole fetched event, as SDKs send it
    del echoed["@odata.context"], echoed["@odata.etag"]
    echoed.update(iCalUId="040000008200E00074C5B7101A82E00800000000AB", changeKey="x", type="occurrence")
    response = alice.patch(f"/me/events/{enc(event['id'])}", json=echoed)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["subject"] == "Echoed back"
    assert (updated["iCalUId"], updated["type"]) == (event["iCalUId"], "singleInstance")
    assert updated["changeKey"] not in ("x", event["changeKey"])


def test_start_and_end_are_required_on_create(alice):
    response = alice.post("/me/events", json={"subject": "no times"})
    assert response.status_code == 400


def test_patch_is_atomic(alice):
    event = create(alice)
    response = alice.patch(f"/me/events/{enc(event['id'])}", json={"subject": "changed", "showAs": "nope"})
    assert response.status_code == 400
    assert alice.get(f"/me/events/{enc(event['id'])}").json()["subject"] == "Lunch"


def test_malformed_json_is_400_not_500(alice):
    response = alice.post("/me/events", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "error" in response.json()


def test_all_day_rules(alice):
    def all_day(start, end, start_zone="Europe/Brussels", end_zone="Europe/Brussels"):
        return alice.post("/me/events", json={"subject": "Holiday", "isAllDay": True,
                                              "start": {"dateTime": start, "timeZone": start_zone},
                                              "end": {"dateTime": end, "timeZone": end_zone}})
    ok = all_day("2026-12-24T00:00:00", "2026-12-26T00:00:00")
    assert ok.status_code == 201
    shown = alice.get(f"/me/events/{enc(ok.json()['id'])}",
                      headers={"Prefer": 'outlook.timezone="Europe/Brussels"'}).json()
    assert shown["start"]["dateTime"] == "2026-12-24T00:00:00.0000000"
    assert ok.json()["start"]["dateTime"] == "2026-12-23T23:00:00.0000000"  # UTC by default
    for bad in (all_day("2026-12-24T09:00:00", "2026-12-25T00:00:00"),
                all_day("2026-12-24T00:00:00", "2026-12-24T00:00:00"),
                all_day("2026-12-24T00:00:00", "2026-12-25T00:00:00", end_zone="UTC")):
        assert bad.status_code == 400 and error_code(bad) == "ErrorPropertyValidationFailure"
    timed = create(alice)
    turned = alice.patch(f"/me/events/{enc(timed['id'])}", json={"isAllDay": True})
    assert turned.status_code == 400


# -- If-Match -------------------------------------------------------------------------------

def test_if_match_mismatch_is_412(alice):
    event = create(alice)
    path = f"/me/events/{enc(event['id'])}"
    updated = alice.patch(path, json={"subject": "v2"}, headers={"If-Match": event["@odata.etag"]})
    assert updated.status_code == 200
    stale = alice.patch(path, json={"subject": "v3"}, headers={"If-Match": event["@odata.etag"]})
    assert stale.status_code == 412 and error_code(stale) == "ErrorIrresolvableConflict"
    assert alice.delete(path, headers={"If-Match": event["@odata.etag"]}).status_code == 412
    assert alice.delete(path, headers={"If-Match": updated.json()["@odata.etag"]}).status_code == 204


# -- Python interface ---------------------------------------------------------------------

def test_create_seed_event_places_event_in_named_calendar(sandbox):
    from outlook_sandbox.handlers.events import create_seed_event
    from outlook_sandbox.seed import load_seed_data
    load_seed_data(sandbox.world, {"mailboxes": [{"address": "dan@contoso.com", "calendars": [{"name": "Work"}],
                                                  "events": [{**payload("Seeded"), "calendar": "Work"}]}]})
    dan = sandbox.world.mailbox_by_address("dan@contoso.com")
    (event,) = dan.events.values()
    assert dan.calendars[event.calendar_id].name == "Work" and event.data["subject"] == "Seeded"
    from outlook_sandbox.errors import GraphError
    with pytest.raises(GraphError):
        create_seed_event(sandbox.world, dan, {**payload(), "calendar": "Nope"})


def test_update_event_reports_changed_properties(sandbox, alice):
    from outlook_sandbox.handlers.events import find_event, update_event
    event = create(alice)
    mailbox = sandbox.world.mailbox_by_address("alice@contoso.com")
    with sandbox.world.lock:
        stored = find_event(mailbox, event["id"])
        changed = update_event(sandbox.world, mailbox, stored, {"subject": "Lunch", "showAs": "free",
                                                                "start": {"dateTime": "2026-12-01T11:00:00",
                                                                          "timeZone": "UTC"}})
    assert changed == {"showAs", "start"}


def test_series_master_is_listed_without_its_occurrences_and_deleted_with_its_exceptions(alice, sandbox):
    master = create(alice, recurrence={"pattern": {"type": "daily", "interval": 1},
                                       "range": {"type": "numbered", "startDate": "2026-12-01",
                                                 "numberOfOccurrences": 3}})
    assert master["type"] == "seriesMaster" and master["recurrence"]["pattern"]["type"] == "daily"
    instances = alice.get(f"/me/events/{enc(master['id'])}/instances",
                          params={"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-05T00:00:00Z"})
    second = instances.json()["value"][1]["id"]
    moved = alice.patch(f"/me/events/{enc(second)}", json={"subject": "Moved"})
    assert moved.status_code == 200 and moved.json()["type"] == "exception"
    assert alice.get(f"/me/events/{enc(second)}").json()["subject"] == "Moved"
    assert [(e["id"], e["type"]) for e in alice.get("/me/events").json()["value"]] == [(master["id"], "seriesMaster")]

    assert alice.delete(f"/me/events/{enc(master['id'])}").status_code == 204
    assert sandbox.world.mailbox_by_address("alice@contoso.com").events == {}
    assert alice.get(f"/me/events/{enc(second)}").status_code == 404


def test_removing_the_recurrence_makes_a_single_instance(alice):
    master = create(alice, recurrence={"pattern": {"type": "daily", "interval": 1},
                                       "range": {"type": "noEnd", "startDate": "2026-12-01"}})
    single = alice.patch(f"/me/events/{enc(master['id'])}", json={"recurrence": None}).json()
    assert (single["type"], single["recurrence"]) == ("singleInstance", None)


def test_attendee_copy_keeps_the_organizers_meeting_data(sandbox):
    from outlook_sandbox.handlers.events import create_event
    world = sandbox.world
    bob = world.mailbox_by_address("bob@contoso.com")
    meeting = {"joinUrl": "https://teams.microsoft.com/l/meetup-join/abc", "conferenceId": "1"}
    with world.lock:
        copy = create_event(world, bob, bob.default_calendar, {
            **payload(), "iCalUId": "040000008200E00074C5B7101A82E00800000000FF",
            "organizer": {"emailAddress": {"name": "Alice Martin", "address": "alice@contoso.com"}},
            "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness", "onlineMeeting": meeting},
            organizer_copy=False)
    assert (copy.is_organizer, copy.response_status["response"]) == (False, "notResponded")
    assert copy.ical_uid == "040000008200E00074C5B7101A82E00800000000FF"
    assert copy.data["organizer"]["emailAddress"]["address"] == "alice@contoso.com"
    assert (copy.data["onlineMeetingProvider"], copy.data["onlineMeeting"]) == ("teamsForBusiness", meeting)
