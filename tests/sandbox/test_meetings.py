"""Meetings across sandbox mailboxes: invitations, organizer updates,
attendee responses, cancellation, and the exact sent-mail log."""
from __future__ import annotations

from urllib.parse import quote

import pytest

EXTERNAL = "dana@fabrikam.com"  # an attendee outside the sandbox: mail only


def ev(event_id: str) -> str:
    return "/me/events/" + quote(event_id, safe="")


def meeting_payload(*attendees: str, subject: str = "Design review", **extra) -> dict:
    return {"subject": subject,
            "start": {"dateTime": "2026-12-03T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-03T15:00:00", "timeZone": "UTC"},
            "attendees": [{"type": "required", "emailAddress": {"address": a, "name": a.split("@")[0]}}
                          for a in attendees], **extra}


def create_meeting(session, *attendees: str, **extra) -> dict:
    response = session.post("/me/events", json=meeting_payload(*attendees, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def only_event(session) -> dict:
    events = session.get("/me/events").json()["value"]
    assert len(events) == 1, events
    return events[0]


def mail(control, mailbox: str | None = None) -> list[dict]:
    response = control.get("/mail", params={"mailbox": mailbox} if mailbox else None)
    assert response.status_code == 200
    return response.json()["value"]


def kinds_and_recipients(control) -> list[tuple[str, list[str]]]:
    return [(m["kind"], sorted(m["to"])) for m in mail(control)]


def attendee_status(session, event_id: str, address: str) -> dict:
    attendees = session.get(ev(event_id)).json()["attendees"]
    return next(a["status"] for a in attendees if a["emailAddress"]["address"] == address)


def test_invitation_lands_in_attendee_calendar_with_same_ical_uid(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com", EXTERNAL)
    copy = only_event(bob)
    assert copy["iCalUId"] == meeting["iCalUId"]
    assert copy["id"] != meeting["id"]
    assert copy["isOrganizer"] is False
    assert copy["organizer"]["emailAddress"]["address"] == "alice@contoso.com"
    assert copy["responseStatus"] == {"response": "notResponded", "time": "0001-01-01T00:00:00Z"}
    assert copy["subject"] == "Design review"
    assert copy["start"] == meeting["start"] and copy["end"] == meeting["end"]
    assert [a["emailAddress"]["address"] for a in copy["attendees"]] == ["bob@contoso.com", EXTERNAL]
    assert copy["showAs"] == "tentative"  # a pending request shows as tentative
    assert meeting["isOrganizer"] is True
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com", EXTERNAL])]
    assert mail(control)[0]["iCalUId"] == meeting["iCalUId"]


def test_plain_event_and_personal_changes_send_nothing(alice, bob, control):
    plain = alice.post("/me/events", json={"subject": "Focus", **{k: v for k, v in meeting_payload().items()
                                                                   if k in ("start", "end")}}).json()
    alice.patch(ev(plain["id"]), json={"subject": "Deep focus"})
    alice.delete(ev(plain["id"]))
    assert mail(control) == []
    meeting = create_meeting(alice, "bob@contoso.com")
    before = only_event(bob)
    for change in ({"reminderMinutesBeforeStart": 30}, {"showAs": "oof"}, {"categories": ["Red category"]},
                   {"isReminderOn": False}):
        assert alice.patch(ev(meeting["id"]), json=change).status_code == 200
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com"])]
    assert only_event(bob)["changeKey"] == before["changeKey"]


def test_attendee_edits_of_own_copy_send_nothing(alice, bob, control):
    create_meeting(alice, "bob@contoso.com")
    copy = only_event(bob)
    assert bob.patch(ev(copy["id"]), json={"reminderMinutesBeforeStart": 5}).status_code == 200
    assert bob.delete(ev(copy["id"])).status_code == 204
    assert [m["kind"] for m in mail(control)] == ["invitation"]
    assert alice.get("/me/events").json()["value"][0]["attendees"][0]["status"]["response"] == "none"


@pytest.mark.parametrize("action, response, show_as", [("accept", "accepted", "busy"),
                                                       ("tentativelyAccept", "tentativelyAccepted", "tentative")])
def test_response_flows_back_to_organizer(alice, bob, control, action, response, show_as):
    meeting = create_meeting(alice, "bob@contoso.com", EXTERNAL)
    copy = only_event(bob)
    answer = bob.post(ev(copy["id"]) + "/" + action, json={"comment": "See you", "sendResponse": True})
    assert answer.status_code == 202
    assert answer.content == b""
    mine = bob.get(ev(copy["id"])).json()
    assert mine["responseStatus"]["response"] == response
    assert mine["responseStatus"]["time"].startswith("20")
    assert mine["showAs"] == show_as
    status = attendee_status(alice, meeting["id"], "bob@contoso.com")
    assert status["response"] == response and status["time"] == mine["responseStatus"]["time"]
    assert attendee_status(alice, meeting["id"], EXTERNAL)["response"] == "none"
    sent = mail(control)
    assert [(m["kind"], m["from"], m["to"]) for m in sent[1:]] == [("response", "bob@contoso.com",
                                                                    ["alice@contoso.com"])]
    assert sent[1]["response"] == response and sent[1]["comment"] == "See you"


def test_decline_removes_the_copy_and_tells_the_organizer(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com")
    copy = only_event(bob)
    assert bob.post(ev(copy["id"]) + "/decline", json={}).status_code == 202  # sendResponse defaults to true
    assert bob.get(ev(copy["id"])).status_code == 404
    assert attendee_status(alice, meeting["id"], "bob@contoso.com")["response"] == "declined"
    assert [(m["kind"], m.get("response")) for m in mail(control)] == [("invitation", None),
                                                                       ("response", "declined")]


def test_response_without_send_response_stays_private(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com")
    copy = only_event(bob)
    assert bob.post(ev(copy["id"]) + "/accept", json={"sendResponse": False}).status_code == 202
    assert bob.get(ev(copy["id"])).json()["responseStatus"]["response"] == "accepted"
    assert attendee_status(alice, meeting["id"], "bob@contoso.com")["response"] == "none"
    assert [m["kind"] for m in mail(control)] == ["invitation"]


def test_invalid_responses(alice, bob):
    meeting = create_meeting(alice, "bob@contoso.com")
    own = alice.post(ev(meeting["id"]) + "/accept", json={})
    assert own.status_code == 400
    assert own.json()["error"]["code"] == "ErrorCalendarIsOrganizerForAccept"
    copy = only_event(bob)
    unknown = bob.post(ev(copy["id"]) + "/accept", json={"sendRespons": True})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "BadRequest"
    wrong_type = bob.post(ev(copy["id"]) + "/accept", json={"sendResponse": "yes"})
    assert wrong_type.status_code == 400
    missing = bob.post(ev(copy["id"][:-4] + "AAA=") + "/accept", json={})
    assert missing.status_code == 404


def test_organizer_update_propagates_and_keeps_responses(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com", EXTERNAL)
    copy = only_event(bob)
    bob.post(ev(copy["id"]) + "/accept", json={"sendResponse": True})
    bob.patch(ev(copy["id"]), json={"reminderMinutesBeforeStart": 45})
    changed = alice.patch(ev(meeting["id"]), json={
        "subject": "Design review (moved)", "location": {"displayName": "Room 4"},
        "start": {"dateTime": "2026-12-04T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-04T11:00:00", "timeZone": "UTC"}})
    assert changed.status_code == 200
    assert attendee_status(alice, meeting["id"], "bob@contoso.com")["response"] == "accepted"
    updated = bob.get(ev(copy["id"])).json()
    assert updated["subject"] == "Design review (moved)"
    assert updated["location"]["displayName"] == "Room 4"
    assert updated["start"]["dateTime"].startswith("2026-12-04T10:00:00")
    assert updated["responseStatus"]["response"] == "accepted"
    assert updated["reminderMinutesBeforeStart"] == 45  # the attendee's own setting stays
    assert updated["changeKey"] != copy["changeKey"]
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com", EXTERNAL]),
                                             ("response", ["alice@contoso.com"]),
                                             ("update", ["bob@contoso.com", EXTERNAL])]


def test_attendee_changes_mail_only_changed_attendees(alice, bob, graph_as, control):
    carol = graph_as("carol@outlook.com")
    meeting = create_meeting(alice, "bob@contoso.com", EXTERNAL)
    bob_copy = only_event(bob)
    attendees = alice.get(ev(meeting["id"])).json()["attendees"]
    added = attendees + [{"type": "optional", "emailAddress": {"address": "carol@outlook.com"}}]
    assert alice.patch(ev(meeting["id"]), json={"attendees": added}).status_code == 200
    assert only_event(carol)["iCalUId"] == meeting["iCalUId"]
    assert only_event(bob)["changeKey"] == bob_copy["changeKey"]  # no message reached Bob
    without_bob = [a for a in added if a["emailAddress"]["address"] != "bob@contoso.com"]
    assert alice.patch(ev(meeting["id"]), json={"attendees": without_bob}).status_code == 200
    cancelled = only_event(bob)
    assert cancelled["isCancelled"] is True
    assert cancelled["subject"] == "Canceled: Design review"
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com", EXTERNAL]),
                                             ("invitation", ["carol@outlook.com"]),
                                             ("cancellation", ["bob@contoso.com"])]
    assert [m["kind"] for m in mail(control, "carol@outlook.com")] == ["invitation"]
    accepted = bob.post(ev(cancelled["id"]) + "/accept", json={})
    assert accepted.status_code == 400
    assert accepted.json()["error"]["code"] == "ErrorCalendarIsCancelledForAccept"


def test_cancel_by_organizer(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com", EXTERNAL)
    copy = only_event(bob)
    refused = bob.post(ev(copy["id"]) + "/cancel", json={"comment": "no"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == ("Your request can't be completed. "
                                                  "You need to be an organizer to cancel a meeting.")
    answer = alice.post(ev(meeting["id"]) + "/cancel", json={"comment": "Sorry, postponed"})
    assert answer.status_code == 202 and answer.content == b""
    assert alice.get(ev(meeting["id"])).status_code == 404
    gone = bob.get(ev(copy["id"])).json()
    assert gone["isCancelled"] is True and gone["subject"] == "Canceled: Design review"
    sent = mail(control)
    assert [(m["kind"], sorted(m["to"])) for m in sent] == [("invitation", ["bob@contoso.com", EXTERNAL]),
                                                            ("cancellation", ["bob@contoso.com", EXTERNAL])]
    assert sent[1]["comment"] == "Sorry, postponed"
    # The attendee clears the cancelled meeting away: no further mail.
    assert bob.delete(ev(copy["id"])).status_code == 204
    assert len(mail(control)) == 2


def test_organizer_delete_is_a_cancellation(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com")
    assert alice.delete(ev(meeting["id"])).status_code == 204
    assert only_event(bob)["isCancelled"] is True
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com"]),
                                             ("cancellation", ["bob@contoso.com"])]


def test_cancel_plain_event_deletes_without_mail(alice, control):
    plain = alice.post("/me/events", json=meeting_payload()).json()
    assert alice.post(ev(plain["id"]) + "/cancel").status_code == 202
    assert alice.get(ev(plain["id"])).status_code == 404
    assert mail(control) == []


def test_recurring_meeting_and_cancelled_occurrence(alice, bob, control):
    series = create_meeting(alice, "bob@contoso.com", recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-03", "numberOfOccurrences": 3}})
    copy = only_event(bob)
    assert copy["type"] == "seriesMaster"
    assert copy["recurrence"]["range"]["numberOfOccurrences"] == 3
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-10T00:00:00Z"}
    instances = alice.get(ev(series["id"]) + "/instances", params=window).json()["value"]
    assert len(instances) == 3
    answer = alice.post(ev(instances[1]["id"]) + "/cancel", json={"comment": "Holiday"})
    assert answer.status_code == 202
    assert len(alice.get(ev(series["id"]) + "/instances", params=window).json()["value"]) == 2
    assert len(bob.get(ev(copy["id"]) + "/instances", params=window).json()["value"]) == 2
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com"]),
                                             ("cancellation", ["bob@contoso.com"])]


def test_mail_log_filter_and_clear(alice, control):
    create_meeting(alice, "bob@contoso.com")
    create_meeting(alice, EXTERNAL)
    assert len(mail(control, "BOB@contoso.com")) == 1
    assert len(mail(control, "alice@contoso.com")) == 2
    assert control.delete("/mail").status_code == 204
    assert mail(control) == []


def test_modified_occurrence_reaches_attendee(alice, bob, control):
    series = create_meeting(alice, "bob@contoso.com", recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-03", "numberOfOccurrences": 3}})
    copy = only_event(bob)
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-10T00:00:00Z"}
    second = alice.get(ev(series["id"]) + "/instances", params=window).json()["value"][1]
    moved = alice.patch(ev(second["id"]), json={"subject": "Review (short)"})
    assert moved.status_code == 200, moved.text
    instances = bob.get(ev(copy["id"]) + "/instances", params=window).json()["value"]
    assert [i["type"] for i in instances] == ["occurrence", "exception", "occurrence"]
    assert instances[1]["subject"] == "Review (short)"
    assert instances[1]["isOrganizer"] is False
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com"]),
                                             ("update", ["bob@contoso.com"])]


def test_rewriting_attendees_keeps_tallied_responses(alice, bob, control):
    meeting = create_meeting(alice, "bob@contoso.com")
    bob.post(ev(only_event(bob)["id"]) + "/accept", json={})
    # A client that sends the attendee list back without statuses.
    bare = meeting_payload("bob@contoso.com", EXTERNAL)["attendees"]
    assert alice.patch(ev(meeting["id"]), json={"attendees": bare}).status_code == 200
    assert attendee_status(alice, meeting["id"], "bob@contoso.com")["response"] == "accepted"
    assert kinds_and_recipients(control)[-1] == ("invitation", [EXTERNAL])


def test_organizer_deleting_one_occurrence_cancels_it_for_attendees(alice, bob, control):
    series = create_meeting(alice, "bob@contoso.com", recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-03", "numberOfOccurrences": 3}})
    copy = only_event(bob)
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-10T00:00:00Z"}
    second = alice.get(ev(series["id"]) + "/instances", params=window).json()["value"][1]
    assert alice.delete(ev(second["id"])).status_code == 204
    assert len(bob.get(ev(copy["id"]) + "/instances", params=window).json()["value"]) == 2
    assert kinds_and_recipients(control) == [("invitation", ["bob@contoso.com"]),
                                             ("cancellation", ["bob@contoso.com"])]


def test_proxy_addresses_are_returned_on_select_and_an_alias_receives_the_invitation(sandbox, alice, bob, control):
    # Graph's user resource: proxyAddresses is "returned only on $select"; "SMTP:" marks the primary address
    sandbox.world.mailbox_by_address("bob@contoso.com").aliases.append("b.stone@contoso.com")
    assert "proxyAddresses" not in bob.get("/me").json()
    me = bob.get("/me", params={"$select": "id,mail,proxyAddresses"}).json()
    assert me["proxyAddresses"] == ["SMTP:bob@contoso.com", "smtp:b.stone@contoso.com"]
    assert set(me) - {"@odata.context"} == {"id", "mail", "proxyAddresses"}
    created = create_meeting(alice, "b.stone@contoso.com")
    copy = only_event(bob)
    assert copy["iCalUId"] == created["iCalUId"] and copy["isOrganizer"] is False
    assert kinds_and_recipients(control) == [("invitation", ["b.stone@contoso.com"])]
