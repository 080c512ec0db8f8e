"""Throughput and memory of the pure sync core (mapping and reconcile).

Run from the repository root::

    python3 benchmarks/bench_core.py [--events 10000] [--seed 1]

It builds N varied events (timed, all-day, recurring, with attendees and
non-ASCII text), turns them into Graph responses (UTC times, zero-filled
recurrence, as Graph answers with ``Prefer: outlook.timezone="UTC"``), and
measures Graph JSON -> Event, Event -> Graph JSON, and one reconcile pass over
N bindings where about 10% of the events changed on each side. Peak memory is
measured in a separate traced run, so tracemalloc does not distort the timings.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tzlocal.windows_tz import win_tz  # noqa: E402

from outlook_sync.mapping import event_from_graph, event_to_graph  # noqa: E402
from outlook_sync.model import (  # noqa: E402
    EVENT_FIELDS, Attendee, Event, Person, Recurrence, Sensitivity, ShowAs, field_equal,
)
from outlook_sync.reconcile import Binding, InMemoryBindingStore, OdooItem, OutlookItem, Reconciler  # noqa: E402

ZONES = ["Europe/Brussels", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]
RULES = [None, None, None, "FREQ=DAILY;INTERVAL=1;COUNT=10", "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE,FR;WKST=SU",
         "FREQ=MONTHLY;INTERVAL=1;BYDAY=TU;BYSETPOS=2", "FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYMONTHDAY=15;UNTIL=20301231T235959"]
SUBJECTS = ["Réunion d'équipe", "Standup 東京", "Kundentermin Zürich", "Planning — Q3", "Ünïcödé ✓"]
BODIES = ["", "<p>Agenda</p>", "<p>Ordre du jour&nbsp;: <b>budget</b> &amp; <i>équipe</i></p><ul><li>Zürich</li></ul>"]
T0 = datetime(2025, 1, 6, 8, tzinfo=timezone.utc)


def build_events(count: int, rng: random.Random) -> list[Event]:
    events = []
    for number in range(count):
        time_zone = rng.choice(ZONES)
        rule = rng.choice(RULES)
        if rng.random() < 0.2:
            first = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
            when = dict(all_day=True, start=first, end=first + timedelta(days=rng.randrange(3)))
        else:
            start = T0 + timedelta(hours=rng.randrange(24 * 365))
            when = dict(start=start, end=start + timedelta(minutes=rng.choice([15, 30, 60, 90])))
        events.append(Event(
            **when,
            subject=f"{rng.choice(SUBJECTS)} #{number}",
            body_html=rng.choice(BODIES),
            time_zone=time_zone,
            location=rng.choice(["", "Salle Öresund", "Room 4.12"]),
            attendees=tuple(Attendee(f"person{rng.randrange(500)}@example.com", f"Pérson {i}")
                            for i in range(rng.randrange(6))),
            organizer=Person("organizer@example.com", "Organizer"),
            show_as=rng.choice(list(ShowAs)),
            sensitivity=rng.choice(list(Sensitivity)),
            reminder_minutes=rng.choice([None, 15, 30]),
            categories=tuple(rng.sample(["Red", "Blue", "日本"], rng.randrange(3))),
            recurrence=Recurrence(rule, time_zone) if rule else None,
            odoo_url=f"https://odoo.example.com/odoo/calendar/{number}",
            odoo_ref=f"calendar.event,{number}",
        ))
    return events


def as_utc_response(request: dict, graph_id: str) -> dict:
    """What Graph returns for a created event when asked for UTC."""
    response = dict(request, id=graph_id, changeKey=f"ck-{graph_id}", iCalUId=f"uid-{graph_id}",
                    originalStartTimeZone=request["start"]["timeZone"], originalEndTimeZone=request["end"]["timeZone"])
    for key in ("start", "end"):
        zone = ZoneInfo(win_tz.get(request[key]["timeZone"], request[key]["timeZone"]))
        moment = datetime.fromisoformat(request[key]["dateTime"][:26]).replace(tzinfo=zone).astimezone(timezone.utc)
        response[key] = {"dateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": "UTC"}
    if request.get("recurrence"):
        recurrence = request["recurrence"]
        response["recurrence"] = {
            "pattern": {"month": 0, "dayOfMonth": 0, "daysOfWeek": [], "firstDayOfWeek": "sunday", "index": "first",
                        **recurrence["pattern"]},
            "range": {"endDate": "0001-01-01", "numberOfOccurrences": 0, **recurrence["range"]},
        }
    return response


def edited(event: Event, rng: random.Random, side: str) -> Event:
    change = rng.choice(["subject", "location", "start", "categories"])
    if change == "subject":
        return event.replace(subject=f"{event.subject} ({side})")
    if change == "location":
        return event.replace(location=f"Moved by {side}")
    if change == "categories":
        return event.replace(categories=(side,))
    shift = timedelta(days=1) if event.all_day else timedelta(hours=1)
    return event.replace(start=event.start + shift, end=event.end + shift)


def run(count: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    results: dict[str, float] = {}

    started = time.perf_counter()
    events = build_events(count, rng)
    payloads = [as_utc_response(event_to_graph(event), f"G{n}") for n, event in enumerate(events)]
    results["build_s"] = time.perf_counter() - started
    results["all_day_share"] = sum(event.all_day for event in events) / count
    results["recurring_share"] = sum(event.recurrence is not None for event in events) / count

    started = time.perf_counter()
    read = [event_from_graph(payload)[0] for payload in payloads]
    results["from_graph_per_s"] = count / (time.perf_counter() - started)
    assert all(field_equal(name, getattr(a, name), getattr(b, name))
               for a, b in zip(read, events) for name in EVENT_FIELDS), "mapping round-trip lost information"

    started = time.perf_counter()
    for event in read:
        event_to_graph(event)
    results["to_graph_per_s"] = count / (time.perf_counter() - started)

    store = InMemoryBindingStore()
    for n, event in enumerate(events):
        store.save(Binding(key=f"b{n}", odoo_ref=event.odoo_ref, graph_id=f"G{n}", ical_uid=f"uid-G{n}",
                           change_key=f"ck-G{n}", base=event))
    odoo_items, outlook_items = [], []
    for n, event in enumerate(events):
        odoo_event = edited(event, rng, "odoo") if rng.random() < 0.10 else event
        outlook_event = edited(event, rng, "outlook") if rng.random() < 0.10 else event
        odoo_items.append(OdooItem(event.odoo_ref, odoo_event, T0 + timedelta(seconds=rng.randrange(1000))))
        outlook_items.append(OutlookItem(f"G{n}", outlook_event, T0 + timedelta(seconds=rng.randrange(1000)),
                                         f"ck-G{n}-2", f"uid-G{n}"))
    started = time.perf_counter()
    decisions = Reconciler(store).plan(odoo_items, outlook_items, complete=True)
    results["reconcile_per_s"] = count / (time.perf_counter() - started)
    kinds = Counter(decision.summary.replace(f" conflicts:{len(decision.conflicts)}", " +conflict")
                    for decision in decisions)
    results["decisions"] = len(decisions)
    results["kinds"] = dict(sorted(kinds.items()))  # type: ignore[assignment]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    results = run(options.events, options.seed)
    tracemalloc.start()
    run(options.events, options.seed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"events: {options.events} ({results['all_day_share']:.0%} all-day, "
          f"{results['recurring_share']:.0%} recurring, {len(ZONES)} time zones)")
    print(f"build (events + Graph responses): {results['build_s']:.2f} s")
    print(f"Graph JSON -> Event: {results['from_graph_per_s']:,.0f} events/s")
    print(f"Event -> Graph JSON: {results['to_graph_per_s']:,.0f} events/s")
    print(f"reconcile, {options.events} bindings, ~10% changed per side: {results['reconcile_per_s']:,.0f} bindings/s")
    print(f"decisions: {results['decisions']}")
    for kind, number in results["kinds"].items():  # type: ignore[union-attr]
        print(f"  {kind}: {number}")
    print(f"peak memory (tracemalloc, whole run): {peak / 1_048_576:.1f} MB")


if __name__ == "__main__":
    main()
