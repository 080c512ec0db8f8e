"""Body HTML: sanitizing, text bodies, and the "Open in Odoo" back-link block."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from outlook_sync.body import (
    BACKLINK_LABEL,
    add_backlink,
    backlink_block,
    body_fingerprint,
    sanitize_html,
    split_backlink,
    split_backlinks,
    text_to_html,
)
from outlook_sync.mapping import event_from_graph, event_to_graph
from outlook_sync.model import Event

from .graph_fakes import as_graph_response

URL = "https://odoo.example.com/odoo/calendar/42?db=prod&lang=fr_BE"
BODIES = [
    "",
    "<p>Hello</p>",
    "<p>Ordre du jour&nbsp;: <b>budget</b> &amp; <i>équipe</i> — 東京 ✓</p>",
    '<ul><li>one</li><li><a href="https://example.com/ä?x=1&amp;y=2">link</a></li></ul><table><tr><td>1</td></tr></table>',
    '<p style="color:red">red text</p><div>Open in Odoo (typed by the user)</div>',
]


def outlook_round_trip(event: Event) -> Event:
    result, warnings = event_from_graph(as_graph_response(event_to_graph(event)))
    assert warnings == []
    return result


@pytest.mark.parametrize("body", BODIES)
def test_fifty_round_trips_are_stable(body):
    event = Event(subject="Ünïcödé", body_html=body, odoo_url=URL,
                  start=datetime(2024, 1, 1, 9, tzinfo=timezone.utc), end=datetime(2024, 1, 1, 10, tzinfo=timezone.utc))
    first = outlook_round_trip(event)
    # The sanitizer may normalise markup once (e.g. add <tbody>); the text is untouched.
    assert first == event.replace(body_html=sanitize_html(body))
    assert body_fingerprint(first.body_html) == body_fingerprint(body)
    current = first
    for _ in range(50):
        current = outlook_round_trip(current)
        content = event_to_graph(current)["body"]["content"]
        assert content.count(BACKLINK_LABEL + "</a>") == 1
        assert current == first


def test_user_text_around_the_block_is_kept():
    written = add_backlink("<p>Agenda</p>", URL)
    edited = "<p>Note added above</p>" + written + "<p>Tekst dopisany poniżej — żółć</p>"
    user_html, url = split_backlink(edited)
    assert user_html == "<p>Note added above</p><p>Agenda</p><p>Tekst dopisany poniżej — żółć</p>"
    assert url == URL
    rewritten = add_backlink(user_html, URL)
    assert rewritten.count(BACKLINK_LABEL) == 1 and rewritten.startswith(user_html)


def test_block_is_recognised_when_exchange_dropped_the_comments():
    written = add_backlink("<p>Agenda</p>", URL)
    without_comments = written.replace("<!--odoo-backlink-->", "").replace("<!--/odoo-backlink-->", "")
    wrapped = f'<html><head><meta charset="utf-8"></head><body>{without_comments}</body></html>'
    user_html, url = split_backlink(wrapped)
    assert BACKLINK_LABEL not in user_html and url == URL
    assert sanitize_html(user_html) == "<p>Agenda</p>"


def test_several_blocks_never_stack():
    doubled = "<p>x</p>" + backlink_block("https://a") + backlink_block(URL)
    assert split_backlink(doubled) == ("<p>x</p>", URL)
    assert add_backlink(doubled, URL) == "<p>x</p>" + backlink_block(URL)
    assert add_backlink(doubled, "") == "<p>x</p>"


def test_sanitizer_keeps_formatting_and_drops_active_content():
    dirty = ('<p onclick="steal()" style="color: red; position: fixed">Bonjour <b>ça</b> <i>va</i>'
             '<script>alert(1)</script><a href="javascript:alert(1)">x</a><a href="https://ok.example">ok</a></p>'
             '<style>p{}</style><iframe src="https://evil"></iframe><img src="https://img.example/a.png" onerror="x()">')
    clean = sanitize_html(dirty, allow_remote_images=True)
    assert clean == ('<p style="color:red">Bonjour <b>ça</b> <i>va</i><a>x</a><a href="https://ok.example">ok</a></p>'
                     '<img src="https://img.example/a.png">')
    assert sanitize_html(clean, allow_remote_images=True) == clean
    # by default the (remote) image goes too
    assert sanitize_html(dirty) == clean.replace('<img src="https://img.example/a.png">', "")


def test_inbound_html_is_sanitized():
    payload = as_graph_response(event_to_graph(Event(start=datetime(2024, 1, 1, tzinfo=timezone.utc),
                                                     end=datetime(2024, 1, 1, tzinfo=timezone.utc))))
    payload["body"] = {"contentType": "html", "content": '<p onmouseover="x()">Hi<script>evil()</script></p>'}
    event, _ = event_from_graph(payload)
    assert event.body_html == "<p>Hi</p>"


def test_text_to_html_escapes_and_keeps_lines():
    assert text_to_html("a < b & c\r\nd\n→ é") == "a &lt; b &amp; c<br>d<br>→ é"


def test_fingerprint_ignores_markup_noise_but_not_text_or_links():
    exchange = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>p{margin:0}</style>'
                '</head><body><div class="x_elementToProof"><p>Hello   <b>wörld</b></p></div></body></html>')
    assert body_fingerprint(exchange) == body_fingerprint("<p>Hello wörld</p>")
    assert body_fingerprint("<p>Hello world</p>") != body_fingerprint("<p>Hello word</p>")
    assert body_fingerprint('<a href="https://a">x</a>') != body_fingerprint('<a href="https://b">x</a>')
    assert body_fingerprint(add_backlink("<p>x</p>", URL)) == body_fingerprint("<p>x</p>")


RECORD_URL = "https://odoo.example.com/odoo/crm.lead/7"
RECORD_NAME = "Opportunité « Big deal » & <co> | 東京"


@pytest.mark.parametrize("body", BODIES)
def test_related_record_link_round_trips_without_touching_the_text(body):
    event = Event(subject="x", body_html=body, odoo_url=URL, odoo_record_url=RECORD_URL,
                  odoo_record_name=RECORD_NAME,
                  start=datetime(2024, 1, 1, 9, tzinfo=timezone.utc), end=datetime(2024, 1, 1, 10, tzinfo=timezone.utc))
    first = outlook_round_trip(event)
    assert first == event.replace(body_html=sanitize_html(body))
    current = first
    for _ in range(20):
        current = outlook_round_trip(current)
        content = event_to_graph(current)["body"]["content"]
        assert content.count(BACKLINK_LABEL + "</a>") == 1
        assert content.count(BACKLINK_LABEL + ": ") == 1
        assert current == first


def test_record_link_block_parts_and_single_link_blocks():
    block = backlink_block(URL, RECORD_URL, RECORD_NAME)
    assert split_backlinks("<p>a</p>" + block + "<p>b</p>") == ("<p>a</p><p>b</p>", URL, RECORD_URL, RECORD_NAME)
    assert split_backlinks("<p>a</p>" + backlink_block(URL)) == ("<p>a</p>", URL, "", "")
    assert split_backlink("<p>a</p>" + block) == ("<p>a</p>", URL)
    # A user's own link next to ours is the user's text, not ours.
    assert split_backlinks('<p><a href="https://x">Open in Odoo: mine</a></p>') == (
        '<p><a href="https://x">Open in Odoo: mine</a></p>', "", "", "")
    assert body_fingerprint("<p>a</p>" + block) == "a"


def test_snapshot_without_record_link_keys_still_loads():
    event = Event(odoo_record_url=RECORD_URL, odoo_record_name=RECORD_NAME)
    snapshot = event.to_snapshot()
    assert Event.from_snapshot(snapshot) == event
    del snapshot["odoo_record_url"], snapshot["odoo_record_name"]
    assert Event.from_snapshot(snapshot) == Event()


def test_exchange_html_wrapper_whitespace_is_not_user_text():
    wrapped = {"contentType": "html", "content":
               '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
               "<body>\r\n<p>Agenda</p>\r\n" + backlink_block(URL) + "\r\n</body>\r\n</html>\r\n"}
    event, _warnings = event_from_graph({"start": {"dateTime": "2024-01-01T09:00:00", "timeZone": "UTC"},
                                         "end": {"dateTime": "2024-01-01T10:00:00", "timeZone": "UTC"},
                                         "body": wrapped})
    assert event.body_html == "<p>Agenda</p>" and event.odoo_url == URL
    empty, _warnings = event_from_graph({"start": {"dateTime": "2024-01-01T09:00:00", "timeZone": "UTC"},
                                         "body": {**wrapped, "content": "<html>\n<body>\n\n</body>\n</html>"}})
    assert empty.body_html == ""
