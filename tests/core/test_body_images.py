"""Images in inbound bodies: none by default, absolute http(s) ones on request (issue 9, item 7)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from outlook_sync.body import body_fingerprint, sanitize_html
from outlook_sync.mapping import event_from_graph, event_to_graph
from outlook_sync.model import Event

from .graph_fakes import as_graph_response

PIXEL = '<img src="https://track.example/open?u=alice" width="1" height="1" alt="">'

# Each loads (or could load) something when the body is shown, unless sanitised.
HOSTILE = [
    PIXEL,
    '<IMG SRC="HTTPS://TRACK.EXAMPLE/UP.GIF">',
    '<img src=" https://track.example/leading-space.gif">',
    '<img src="http://track.example/plain-http.gif">',
    '<img src="//track.example/protocol-relative.gif">',
    '<img src="/web/session/logout">',  # relative: the reader's browser would GET Odoo itself
    '<img srcset="https://track.example/a.gif 1x, https://track.example/b.gif 2x">',
    '<img src=x onerror="fetch(\'https://track.example/js\')">',
    '<picture><source srcset="https://track.example/s.gif"><img src="https://track.example/p.gif"></picture>',
    '<p style="background-image: url(https://track.example/bg.gif)">text</p>',
    '<p style="background-color: url(https://track.example/bgc.gif); color: red">text</p>',
    '<p style="font-family: x, \\75 rl(https://track.example/escaped)">text</p>',
    '<table background="https://track.example/table.gif"><tr><td background="https://track.example/td.gif">x</td></tr></table>',
    '<body background="https://track.example/body.gif"><p>text</p></body>',
    '<style>@import url(https://track.example/s.css); p{background:url(https://track.example/r.gif)}</style><p>t</p>',
    '<link rel="stylesheet" href="https://track.example/l.css"><p>t</p>',
    '<svg><image href="https://track.example/svg.gif"/></svg>',
    '<video poster="https://track.example/poster.gif" src="https://track.example/v.mp4"></video>',
    '<audio src="https://track.example/a.mp3"></audio><object data="https://track.example/o"></object>',
    '<iframe src="https://track.example/frame"></iframe><embed src="https://track.example/e">',
    '<input type="image" src="https://track.example/input.gif">',
    '<meta http-equiv="refresh" content="0;url=https://track.example/refresh"><p>t</p>',
]


@pytest.mark.parametrize("body", HOSTILE)
def test_nothing_remote_survives_by_default(body):
    clean = sanitize_html(body)
    assert "track.example" not in clean
    assert "<img" not in clean and "logout" not in clean
    assert sanitize_html(clean) == clean


@pytest.mark.parametrize("body", HOSTILE)
def test_with_remote_images_only_plain_absolute_image_sources_remain(body):
    clean = sanitize_html(body, allow_remote_images=True)
    assert "logout" not in clean and "protocol-relative" not in clean
    for leftover in ("srcset", "background=", "url(", "poster", "@import", "<link", "<iframe", "onerror", "\\"):
        assert leftover not in clean
    assert sanitize_html(clean, allow_remote_images=True) == clean


def test_the_tracking_pixel_goes_and_the_text_stays():
    body = f"<p>Agenda: <b>budget</b></p>{PIXEL}<p>See you</p>"
    assert sanitize_html(body) == "<p>Agenda: <b>budget</b></p><p>See you</p>"
    assert sanitize_html(body, allow_remote_images=True) == (
        '<p>Agenda: <b>budget</b></p><img src="https://track.example/open?u=alice" width="1" height="1" alt="">'
        "<p>See you</p>")
    # no placeholder: both sides still compare as the same text
    assert body_fingerprint(sanitize_html(body)) == body_fingerprint(body)


@pytest.mark.parametrize("src", ["cid:image001.png@01DA1234.56789ABC", "data:image/png;base64,iVBORw0KGgo=",
                                 "data:image/svg+xml,<svg onload=alert(1)>"])
def test_inline_images_are_dropped_in_both_modes(src):
    body = f'<p>Logo</p><img src="{src}" alt="logo">'
    assert sanitize_html(body) == "<p>Logo</p>"
    assert "cid:" not in sanitize_html(body, allow_remote_images=True)
    assert "data:" not in sanitize_html(body, allow_remote_images=True)


def test_harmless_styles_survive():
    assert sanitize_html('<p style="color: red; font-weight: bold">x</p>') == '<p style="color:red;font-weight:bold">x</p>'


def inbound(content, **options):
    payload = as_graph_response(event_to_graph(Event(start=datetime(2024, 1, 1, tzinfo=timezone.utc),
                                                     end=datetime(2024, 1, 1, 1, tzinfo=timezone.utc))))
    payload["body"] = {"contentType": "html", "content": content}
    event, warnings = event_from_graph(payload, **options)
    assert warnings == []
    return event


def test_event_from_graph_blocks_remote_images_unless_asked():
    content = f"<html><body><p>Hi</p>{PIXEL}</body></html>"
    assert inbound(content).body_html == "<p>Hi</p>"
    assert inbound(content, allow_remote_images=False).body_html == "<p>Hi</p>"
    assert "track.example/open" in inbound(content, allow_remote_images=True).body_html


def test_text_bodies_are_unaffected():
    payload = as_graph_response(event_to_graph(Event(start=datetime(2024, 1, 1, tzinfo=timezone.utc),
                                                     end=datetime(2024, 1, 1, 1, tzinfo=timezone.utc))))
    payload["body"] = {"contentType": "text", "content": '<img src="https://track.example/p.gif">'}
    event, _ = event_from_graph(payload)
    assert event.body_html == '&lt;img src="https://track.example/p.gif"&gt;'
