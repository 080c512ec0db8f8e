"""Seed data: tenants, app registrations, mailboxes (with calendars and
events) and settings, from a dict or a JSON file (``outlook-sandbox --seed``).

Format::

    {"tenants":   [{"domain": "contoso.com", "id": "<guid, optional>", "display_name": "Contoso"}],
     "apps":      [{"client_id": "...", "client_secret": "...", "redirect_uris": ["https://.../microsoft_account/authentication"],
                    "display_name": "Odoo", "secret_expires": "2030-01-01T00:00:00Z"}],
     "mailboxes": [{"address": "alice@contoso.com", "display_name": "Alice", "personal": false,
                    "time_zone": "Europe/Brussels", "calendars": [{"name": "Projects"}],
                    "events": [{"calendar": "Projects", ...Graph event create payload...}]}],
     "settings":  {"auto_consent": false, "throttling": true}}
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .errors import GraphError
from .store import Calendar, World, new_graph_id

SEEDS_DIR = Path(__file__).parent / "seeds"


def load_seed_file(path_or_name: str | Path) -> dict:
    """A seed from a JSON file path, or by name from the packaged ``seeds/``."""
    path = Path(path_or_name)
    if not path.exists():
        path = SEEDS_DIR / f"{path_or_name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"No seed file {path_or_name!r} (looked in {SEEDS_DIR} too)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"Seed file {path} is not valid JSON: {exc}") from None


def _parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load_seed_data(world: World, seed: dict) -> None:
    """Add everything in ``seed`` to the world (it is not reset first)."""
    if not isinstance(seed, dict):
        raise GraphError(400, "BadRequest", "Seed data must be a JSON object.")
    with world.lock:
        for spec in seed.get("tenants", []):
            world.add_tenant(spec["domain"], spec.get("id"), spec.get("display_name", ""))
        for spec in seed.get("apps", []):
            world.add_app(spec["client_id"], spec["client_secret"], spec.get("redirect_uris", []),
                          display_name=spec.get("display_name", "Odoo"), tenant_id=spec.get("tenant_id"),
                          secret_expires_at=_parse_when(spec.get("secret_expires")),
                          sign_in_audience=spec.get("sign_in_audience", "AzureADandPersonalMicrosoftAccount"))
        pending_events = []
        for spec in seed.get("mailboxes", []):
            mailbox = world.add_mailbox(spec["address"], spec.get("display_name", ""),
                                        personal=spec.get("personal", False),
                                        time_zone=spec.get("time_zone", "UTC"), mailbox_id=spec.get("id"))
            for cal in spec.get("calendars", []):
                calendar = Calendar(id=new_graph_id(b"\x00\x00\x00\x01"), name=cal["name"],
                                    color=cal.get("color", "auto"))
                mailbox.calendars[calendar.id] = calendar
            pending_events.extend((mailbox, ev) for ev in spec.get("events", []))
        settings = seed.get("settings", {})
        if "auto_consent" in settings:
            world.auto_consent = bool(settings["auto_consent"])
        if "throttling" in settings:
            world.throttling_enabled = bool(settings["throttling"])
        # Events last, so meetings can reach every seeded attendee mailbox.
        if pending_events:
            from .handlers.events import create_seed_event
            for mailbox, event in pending_events:
                create_seed_event(world, mailbox, event)
