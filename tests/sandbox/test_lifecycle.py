"""Lifecycle notifications that happen on their own, over HTTP to a real
receiver and driven by the sandbox clock: reauthorizationRequired ahead of the
token's or the subscription's expiry (and the pause after it),
subscriptionRemoved when access is revoked or the mailbox goes away, missed
when notifications are dropped; subscription creation throttled and faulted
like any request; personal accounts' notifications name the consumer tenant."""
from __future__ import annotations

import pytest

from conftest import GraphSession, mint_token
from outlook_sandbox import notifications
from tests.sandbox.test_identity import MSA_TENANT_ID
from tests.sandbox.test_subscriptions import Receiver, _create_event, _in, _subscribe


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def subscribe(session, sandbox, receiver, **overrides) -> dict:
    response = _subscribe(session, sandbox, receiver, lifecycleNotificationUrl=receiver.url + "/lifecycle",
                          **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def lifecycle_events(sandbox, receiver) -> list[tuple[str, str]]:
    assert notifications.wait_idle(sandbox.world, 10)
    return [(item["subscriptionId"], item["lifecycleEvent"]) for post in receiver.posts
            if post["path"] == "/lifecycle" for item in post["body"]["value"]]


def changes(sandbox, receiver) -> list[str]:
    assert notifications.wait_idle(sandbox.world, 10)
    return [item["changeType"] for post in receiver.posts if post["path"] != "/lifecycle"
            for item in post["body"]["value"]]


def advance(control, minutes: float) -> None:
    assert control.post("/clock", json={"advance_seconds": minutes * 60}).status_code == 200


def test_reauthorization_required_ahead_of_the_tokens_expiry_then_a_pause_until_reauthorized(
        sandbox, alice, graph_as, receiver, control):
    sub = subscribe(alice, sandbox, receiver)  # the subscription lives 10 hours, the token 1 hour
    advance(control, 44)
    assert lifecycle_events(sandbox, receiver) == []
    advance(control, 2)  # 15 minutes before the token expires
    assert lifecycle_events(sandbox, receiver) == [(sub["id"], "reauthorizationRequired")]
    advance(control, 10)
    assert len(lifecycle_events(sandbox, receiver)) == 1  # one challenge per token
    fresh = graph_as("alice@contoso.com")
    advance(control, 5)  # the token the subscription had is now expired: delivery pauses
    _create_event(fresh, "Lost")
    assert changes(sandbox, receiver) == []
    assert fresh.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    _create_event(fresh, "Seen")
    assert changes(sandbox, receiver) == ["created"]
    assert fresh.get(f"/subscriptions/{sub['id']}").json()["expirationDateTime"] == sub["expirationDateTime"]


def test_reauthorization_required_ahead_of_the_subscriptions_expiry_and_renewal_resets_it(
        sandbox, graph_as, receiver, control):
    alice = graph_as("alice@contoso.com", lifetime=10 * 24 * 3600)
    sub = subscribe(alice, sandbox, receiver, expirationDateTime=_in(60, sandbox.world))
    advance(control, 46)
    assert lifecycle_events(sandbox, receiver) == [(sub["id"], "reauthorizationRequired")]
    renewed = alice.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": _in(120, sandbox.world)})
    assert renewed.status_code == 200
    advance(control, 60)
    assert len(lifecycle_events(sandbox, receiver)) == 1
    advance(control, 46)
    assert lifecycle_events(sandbox, receiver)[1:] == [(sub["id"], "reauthorizationRequired")]


def test_a_clock_jump_past_expiry_still_sends_the_challenge_before_the_subscription_goes(
        sandbox, graph_as, receiver, control):
    alice = graph_as("alice@contoso.com", lifetime=10 * 24 * 3600)
    sub = subscribe(alice, sandbox, receiver, expirationDateTime=_in(60, sandbox.world))
    sandbox.world.clock.advance(61 * 60)  # no control call: the next look at subscriptions sends it
    assert alice.get(f"/subscriptions/{sub['id']}").status_code == 404
    assert lifecycle_events(sandbox, receiver) == [(sub["id"], "reauthorizationRequired")]


def test_subscription_removed_when_access_is_revoked(sandbox, alice, bob, receiver, control):
    mine = subscribe(alice, sandbox, receiver)
    bobs = subscribe(bob, sandbox, receiver)
    assert control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "revoke": True}).json()["changed"]
    assert lifecycle_events(sandbox, receiver) == [(mine["id"], "subscriptionRemoved")]
    assert [s["id"] for s in control.get("/subscriptions").json()["value"]] == [bobs["id"]]
    # Merely expired tokens remove nothing (that is reauthorizationRequired's business).
    control.post("/tokens/expire", json={"mailbox": "bob@contoso.com"})
    assert len(lifecycle_events(sandbox, receiver)) == 1


def test_subscription_removed_when_the_mailbox_goes_away(sandbox, alice, receiver, control):
    sub = subscribe(alice, sandbox, receiver)
    assert control.delete("/mailboxes/alice@contoso.com").status_code == 204
    [(sub_id, event)] = lifecycle_events(sandbox, receiver)
    assert (sub_id, event) == (sub["id"], "subscriptionRemoved")
    assert alice.get("/me").status_code == 401
    assert control.get("/subscriptions").json()["value"] == []
    assert control.delete("/mailboxes/alice@contoso.com").status_code == 404


def test_missed_when_a_fault_rule_drops_notifications(sandbox, alice, receiver, control):
    sub = subscribe(alice, sandbox, receiver)
    # "*" never reaches notifications: only NOTIFY rules do.
    control.post("/faults", json={"method": "*", "path": "/me/events/*", "status": 503, "times": None})
    control.post("/faults", json={"method": "NOTIFY", "path": "/me/events/*", "times": 1})
    _create_event(alice, "Dropped")
    _create_event(alice, "Delivered")
    assert changes(sandbox, receiver) == ["created"]
    assert lifecycle_events(sandbox, receiver) == [(sub["id"], "missed")]
    assert [n["clientState"] for post in receiver.posts for n in post["body"]["value"]] == ["s3cret"] * 2


def test_missed_when_delivery_is_given_up(sandbox, alice, receiver, control):
    sub = subscribe(alice, sandbox, receiver)
    control.post("/notifications/settings", json={"retry_window_seconds": 0})
    receiver.statuses = [500]  # the change notification fails; nothing is retried
    _create_event(alice)
    assert lifecycle_events(sandbox, receiver) == [(sub["id"], "missed")]


def test_subscription_creation_is_throttled_and_faulted_like_other_requests(sandbox, alice, receiver, control):
    control.post("/throttling", json={"requests_per_window": 2})
    assert _subscribe(alice, sandbox, receiver).status_code == 201
    assert alice.get("/me").status_code == 200
    throttled = _subscribe(alice, sandbox, receiver)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert len(receiver.validations) == 1  # refused before any handshake
    control.post("/throttling", json={"enabled": False})
    control.post("/faults", json={"method": "POST", "path": "/subscriptions", "status": 503, "retry_after": 7})
    faulted = _subscribe(alice, sandbox, receiver)
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "7"


def test_personal_accounts_notifications_name_the_consumer_tenant(sandbox, graph_as, receiver):
    carol = graph_as("carol@outlook.com")
    subscribe(carol, sandbox, receiver)
    _create_event(carol)
    assert notifications.wait_idle(sandbox.world, 10)
    [item] = [n for post in receiver.posts for n in post["body"]["value"]]
    assert item["tenantId"] == MSA_TENANT_ID


def test_reauthorize_answers_204_without_a_body_and_404_for_what_the_caller_cannot_see(
        sandbox, graph_as, bob, receiver, control):
    # Graph's subscription: reauthorize action (api-reference/v1.0/api/subscription-reauthorize.md):
    # POST /subscriptions/{id}/reauthorize, no request body, 204 No Content.
    alice = graph_as("alice@contoso.com", lifetime=10 * 24 * 3600)
    sub = subscribe(alice, sandbox, receiver, expirationDateTime=_in(60, sandbox.world))
    answer = alice.post(f"/subscriptions/{sub['id']}/reauthorize")
    assert (answer.status_code, answer.content) == (204, b"")
    assert alice.get(f"/subscriptions/{sub['id']}").json()["expirationDateTime"] == sub["expirationDateTime"]
    unknown = alice.post("/subscriptions/00000000-0000-0000-0000-000000000000/reauthorize")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ResourceNotFound")
    assert bob.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 404
    other_app = GraphSession(sandbox, mint_token(sandbox, "alice@contoso.com", client_id="another-app"))
    assert other_app.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 404
    advance(control, 61)  # expired: Graph deleted it
    assert alice.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 404
