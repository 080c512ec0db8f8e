"""Seed data: tenants, app registrations, mailboxes (with calendars and
events) and settings, from a dict or a JSON file (``outlook-sandbox --seed``).

Format::

    {"tenants":   [{"domain": "contoso.com", "id": "<guid, optional>", "display_name": "Contoso"}],
     "apps":      [{"client_id": "...", "client_secret": "...", "redirect_uris": ["https://.../microsoft_account/authentication"],
                    "display_name": "Odoo", "secret_expires": "2030-01-01T00:00:00Z"}],
     "mailboxes": [{"address": "alice@contoso.com", "display_name": "Alice", "personal": false,
                    "aliases": ["a.martin@contoso.com"],
                    "time_zone": "Europe/Brussels", "calendars": [{"name": "Projects"}],
                    "events": [{"calendar": "Projects", ...Graph event create payload...}]}],
     "settings":  {"auto_consent": false, "throttling": true}}
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise GraphError(400, "BadRequest", f"Invalid seed data: {message}")


def _list_of_objects(seed: dict, key: str) -> list[dict]:
    value = seed.get(key, [])
    _require(isinstance(value, list) and all(isinstance(v, dict) for v in value),
             f"'{key}' must be a list of objects.")
    return value


def validate_seed(seed: dict) -> None:
    """Check the shape of seed data before any of it is applied (events are
    validated by the events module as they are created)."""
    _require(isinstance(seed, dict), "seed data must be a JSON object.")
    for spec in _list_of_objects(seed, "tenants"):
        _require(isinstance(spec.get("domain"), str) and spec["domain"], "every tenant needs a 'domain'.")
    for spec in _list_of_objects(seed, "apps"):
        _require(all(isinstance(spec.get(k), str) and spec[k] for k in ("client_id", "client_secret")),
                 "every app needs a 'client_id' and a 'client_secret'.")
        uris = spec.get("redirect_uris", [])
        _require(isinstance(uris, list) and all(isinstance(u, str) for u in uris),
                 "'redirect_uris' must be a list of URLs.")
        try:
            _parse_when(spec.get("secret_expires"))
        except (AttributeError, ValueError):
            _require(False, f"'secret_expires' of app {spec['client_id']} is not an ISO 8601 date-time.")
    for spec in _list_of_objects(seed, "mailboxes"):
        address = spec.get("address")
        _require(isinstance(address, str) and address.count("@") == 1, "every mailbox needs an e-mail 'address'.")
        try:
            ZoneInfo(spec.get("time_zone", "UTC"))
        except (TypeError, ValueError, KeyError, OSError):
            _require(False, f"time zone of {address} must be an IANA name.")
        aliases = spec.get("aliases", [])
        _require(isinstance(aliases, list) and all(isinstance(a, str) and a.count("@") == 1 for a in aliases),
                 f"aliases of {address} must be a list of e-mail addresses.")
        _require(all(isinstance(c.get("name"), str) for c in _list_of_objects(spec, "calendars")),
                 f"calendars of {address} need a 'name'.")
        _list_of_objects(spec, "events")
    settings = seed.get("settings", {})
    _require(isinstance(settings, dict) and all(isinstance(v, bool) for v in settings.values()),
             "'settings' must map names to true/false.")


def load_seed_data(world: World, seed: dict) -> None:
    """Add everything in ``seed`` to the world (it is not reset first).

    Additive: a tenant, mailbox or calendar that already exists (same domain,
    address or name) is reused, so a seed can add events to a running world;
    an app with a known client id is replaced.
    """
    validate_seed(seed)
    with world.lock:
        for spec in seed.get("tenants", []):
            domain = spec["domain"].lower()
            if not any(t.domain == domain or t.id == spec.get("id") for t in world.tenants.values()):
                world.add_tenant(domain, spec.get("id"), spec.get("display_name", ""))
        for spec in seed.get("apps", []):
            world.add_app(spec["client_id"], spec["client_secret"], spec.get("redirect_uris", []),
                          display_name=spec.get("display_name", "Odoo"), tenant_id=spec.get("tenant_id"),
                          secret_expires_at=_parse_when(spec.get("secret_expires")),
                          sign_in_audience=spec.get("sign_in_audience", "AzureADandPersonalMicrosoftAccount"))
        pending_events = []
        for spec in seed.get("mailboxes", []):
            mailbox = world.mailbox_by_address(spec["address"]) or world.add_mailbox(
                spec["address"], spec.get("display_name", ""), personal=spec.get("personal", False),
                time_zone=spec.get("time_zone", "UTC"), mailbox_id=spec.get("id"))
            mailbox.aliases.extend(a for a in spec.get("aliases", []) if a not in mailbox.aliases)
            for cal in spec.get("calendars", []):
                if any(c.name.lower() == cal["name"].lower() for c in mailbox.calendars.values()):
                    continue
                calendar = Calendar(id=new_graph_id(b"\x00\x00\x00\x01"), name=cal["name"],
                                    color=cal.get("color", "auto"))
                mailbox.calendars[calendar.id] = calendar
            pending_events.extend((mailbox, ev) for ev in spec.get("events", []))
        settings = seed.get("settings", {})
        if "auto_consent" in settings:
            world.auto_consent = settings["auto_consent"]
        if "throttling" in settings:
            world.throttling_enabled = settings["throttling"]
        # Events last, so meetings can reach every seeded attendee mailbox.
        if pending_events:
            from .handlers.events import create_seed_event
            for mailbox, event in pending_events:
                create_seed_event(world, mailbox, event)
