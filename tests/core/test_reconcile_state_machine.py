"""Random edits on both sides, syncs with injected faults, then both sides must agree.

The "Odoo" side is a dict of events. The "Outlook" side stores Graph request
bodies and is read back through a Graph-like response (UTC times, zero-filled
recurrence) and :func:`event_from_graph`, so the mapping takes part in every
sync. Every event carries a hidden *token* (kept by the test, not in the
event) to tell whether a logical event was lost or duplicated.

Set ``CORE_STATE_MACHINE_EXAMPLES`` (default 100) for a longer search.
"""

from __future__ import annotations

import itertools
import os
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from outlook_sync.body import sanitize_html
from outlook_sync.mapping import event_from_graph, event_to_graph
from outlook_sync.model import (
    EVENT_FIELDS,
    Attendee,
    AttendeeType,
    Event,
    Person,
    Recurrence,
    Response,
    Sensitivity,
    ShowAs,
    field_equal,
)
from outlook_sync.reconcile import (
    FIELD_GROUPS,
    ODOO_OWNED_FIELDS,
    OUTLOOK_OWNED_FIELDS,
    ConflictPolicy,
    Decision,
    InMemoryBindingStore,
    OdooItem,
    Op,
    OutlookItem,
    Reconciler,
)

from .graph_fakes import as_graph_response

UTC = timezone.utc
T0 = datetime(2024, 1, 1, tzinfo=UTC)
OUTLOOK_EDITABLE_GROUPS = [group for group in FIELD_GROUPS if not ODOO_OWNED_FIELDS.intersection(group)]
ODOO_EDITABLE_GROUPS = [group for group in OUTLOOK_EDITABLE_GROUPS if not OUTLOOK_OWNED_FIELDS.intersection(group)]
ZONES = ["Europe/Brussels", "Europe/Paris", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+11", "Asia/Tokyo", "UTC"]
RULES = ["FREQ=DAILY;INTERVAL=1;COUNT=5", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=SU",
         "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;INTERVAL=1;BYMONTH=6;BYMONTHDAY=3;UNTIL=20300101T235959"]
PEOPLE = [("ann@example.com", "Ann"), ("bjørn@example.no", "Bjørn Ødegård"), ("room.東京@example.jp", "東京")]


def _timed_when(day: int, hour: int, minutes: int) -> dict:
    # Noon-ish UTC hours keep clear of the ambiguous fall-back hour in every zone used.
    start = T0 + timedelta(days=day, hours=hour)
    return {"all_day": False, "start": start, "end": start + timedelta(minutes=minutes)}


def _all_day_when(day: int, length: int) -> dict:
    start = date(2024, 3, 28) + timedelta(days=day)
    return {"all_day": True, "start": start, "end": start + timedelta(days=length)}


whens = st.one_of(
    st.builds(_timed_when, st.sampled_from([0, 89, 300]), st.integers(10, 14), st.sampled_from([30, 60, 90])),
    st.builds(_all_day_when, st.integers(0, 3), st.integers(0, 2)),
)
attendees = st.lists(
    st.builds(lambda person, kind, answer: Attendee(person[0], person[1], kind, answer),
              st.sampled_from(PEOPLE), st.sampled_from(list(AttendeeType)), st.sampled_from(list(Response))),
    max_size=3, unique_by=lambda attendee: attendee.email,
).map(tuple)
events = st.builds(
    lambda when, time_zone, rule, **fields: Event(
        **when, time_zone=time_zone, recurrence=Recurrence(rule, time_zone) if rule else None, **fields),
    when=whens,
    time_zone=st.sampled_from(ZONES),
    rule=st.sampled_from([None, *RULES]),
    subject=st.sampled_from(["Réunion", "Standup 東京", "Ünïcödé ✓", ""]),
    body_html=st.sampled_from([sanitize_html(b) for b in
                               ["", "<p>Agenda</p>", "<p>Ordre du jour : <b>budget</b></p>", "<ul><li>Zürich</li></ul>"]]),
    location=st.sampled_from(["", "Room 1", "Salle Öresund"]),
    online_meeting_url=st.sampled_from(["", "https://meet.example/1"]),
    attendees=attendees,
    organizer=st.sampled_from([None, Person("ann@example.com", "Ann"), Person("zoë@example.fr", "Zoë")]),
    show_as=st.sampled_from(list(ShowAs)),
    sensitivity=st.sampled_from(list(Sensitivity)),
    reminder_minutes=st.sampled_from([None, 0, 15, 60]),
    categories=st.lists(st.sampled_from(["Red", "Blue", "日本"]), unique=True, max_size=3).map(tuple),
)
FAULTS = [None, None, None, "before", "half", "lost_response"]


class InjectedFault(Exception):
    pass


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.ticks = itertools.count(1)
        self.odoo: dict[str, tuple[Event, datetime]] = {}
        self.outlook: dict[str, dict] = {}  # graph id -> {"request", "modified", "change_key", "ical_uid"}
        self.outlook_by_transaction: dict[str, str] = {}
        self.store = InMemoryBindingStore()
        self.reconciler = Reconciler(self.store)
        self.token_of_odoo: dict[str, int] = {}
        self.token_of_outlook: dict[str, int] = {}
        self.never_deleted: set[int] = set()
        self.edits: dict[int, dict[str, dict[tuple[str, ...], tuple]]] = {}
        self.converged = True

    # ------------------------------------------------------------------ the two sides

    def now(self) -> datetime:
        return T0 + timedelta(seconds=next(self.ticks))

    def read_outlook(self, graph_id: str) -> Event:
        record = self.outlook[graph_id]
        if record.get("read") is None:  # every write resets it
            event, warnings = event_from_graph(as_graph_response(record["request"], id=graph_id))
            assert warnings == [], warnings
            record["read"] = event
        return record["read"]

    def odoo_put(self, ref: str, event: Event) -> None:
        self.odoo[ref] = (event.replace(odoo_ref=ref, odoo_url=f"https://odoo.test/odoo/calendar/{ref}"), self.now())

    def outlook_write(self, graph_id: str, body: dict) -> None:
        record = self.outlook.setdefault(graph_id, {"request": {}, "ical_uid": f"UID-{graph_id}"})
        request = record["request"]
        properties = {p["id"]: p for p in request.get("singleValueExtendedProperties", [])}
        properties.update({p["id"]: p for p in body.get("singleValueExtendedProperties", [])})
        request.update(body)
        request["singleValueExtendedProperties"] = list(properties.values())
        record.update(modified=self.now(), change_key=f"ck{next(self.ids)}", read=None)

    def new_token(self) -> int:
        token = next(self.ids)
        self.never_deleted.add(token)
        return token

    def record_edit(self, token: int, side: str, group: tuple[str, ...], event: Event) -> None:
        self.edits.setdefault(token, {}).setdefault(side, {})[group] = tuple(getattr(event, name) for name in group)
        self.converged = False

    # ------------------------------------------------------------------ user actions

    @initialize(policy=st.sampled_from(list(ConflictPolicy)))
    def choose_policy(self, policy: ConflictPolicy) -> None:
        self.reconciler = Reconciler(self.store, policy)

    @rule(event=events)
    def create_in_odoo(self, event: Event) -> None:
        ref = f"calendar.event,{next(self.ids)}"
        self.odoo_put(ref, event)
        self.token_of_odoo[ref] = self.new_token()
        self.converged = False

    @rule(event=events)
    def create_in_outlook(self, event: Event) -> None:
        graph_id = f"AAMk{next(self.ids)}="
        self.outlook_write(graph_id, event_to_graph(event))
        self.token_of_outlook[graph_id] = self.new_token()
        self.converged = False

    @precondition(lambda self: self.odoo)
    @rule(data=st.data(), group=st.sampled_from(ODOO_EDITABLE_GROUPS), new=events)
    def edit_in_odoo(self, data, group, new: Event) -> None:
        ref = data.draw(st.sampled_from(sorted(self.odoo)))
        event = self.odoo[ref][0].replace(**{name: getattr(new, name) for name in group})
        self.odoo_put(ref, event)
        self.record_edit(self.token_of_odoo[ref], "odoo", group, event)

    @precondition(lambda self: self.outlook)
    @rule(data=st.data(), group=st.sampled_from(OUTLOOK_EDITABLE_GROUPS), new=events)
    def edit_in_outlook(self, data, group, new: Event) -> None:
        assume(new.organizer is not None or group != ("organizer",))  # Graph cannot clear an organizer
        graph_id = data.draw(st.sampled_from(sorted(self.outlook)))
        event = self.read_outlook(graph_id).replace(**{name: getattr(new, name) for name in group})
        self.outlook_write(graph_id, event_to_graph(event, group))
        self.record_edit(self.token_of_outlook[graph_id], "outlook", group, event)

    @precondition(lambda self: self.outlook)
    @rule(data=st.data())
    def open_in_outlook(self, data) -> None:
        """Outlook bumps changeKey and lastModifiedDateTime without any content change."""
        graph_id = data.draw(st.sampled_from(sorted(self.outlook)))
        self.outlook_write(graph_id, {})

    @precondition(lambda self: self.odoo)
    @rule(data=st.data())
    def delete_in_odoo(self, data) -> None:
        ref = data.draw(st.sampled_from(sorted(self.odoo)))
        del self.odoo[ref]
        self.never_deleted.discard(self.token_of_odoo[ref])
        self.edits.get(self.token_of_odoo[ref], {}).pop("odoo", None)  # edits of a deleted copy are gone with it
        self.converged = False

    @precondition(lambda self: self.outlook)
    @rule(data=st.data())
    def delete_in_outlook(self, data) -> None:
        graph_id = data.draw(st.sampled_from(sorted(self.outlook)))
        del self.outlook[graph_id]
        self.never_deleted.discard(self.token_of_outlook[graph_id])
        self.edits.get(self.token_of_outlook[graph_id], {}).pop("outlook", None)
        self.converged = False

    # ------------------------------------------------------------------ syncing

    def plan(self) -> list[Decision]:
        odoo_items = [OdooItem(ref, event, modified) for ref, (event, modified) in self.odoo.items()]
        outlook_items = [OutlookItem(graph_id, self.read_outlook(graph_id), record["modified"],
                                     record["change_key"], record["ical_uid"])
                         for graph_id, record in self.outlook.items()]
        return self.reconciler.plan(odoo_items, outlook_items, complete=True)

    def apply(self, decision: Decision, fault: str | None) -> None:
        """Outlook first, then Odoo and the binding together (one database transaction)."""
        if fault == "before":
            raise InjectedFault
        graph_id = decision.graph_id
        change_key = None
        if decision.outlook_op is Op.CREATE:
            graph_id = self.outlook_by_transaction.get(decision.transaction_id)
            if graph_id not in self.outlook:  # Graph's transactionId makes a retried POST return the first event
                graph_id = f"AAMk{next(self.ids)}="
                self.outlook_write(graph_id, event_to_graph(decision.merged, transaction_id=decision.transaction_id))
                self.outlook_by_transaction[decision.transaction_id] = graph_id
                self.token_of_outlook[graph_id] = self.token_of_odoo[decision.odoo_ref]
            if fault == "lost_response":
                raise InjectedFault
            change_key = self.outlook[graph_id]["change_key"]
        elif decision.outlook_op is Op.UPDATE:
            self.outlook_write(graph_id, event_to_graph(decision.merged, decision.outlook_fields))
            change_key = self.outlook[graph_id]["change_key"]
        elif decision.outlook_op is Op.DELETE:
            del self.outlook[graph_id]
        if fault is not None:
            raise InjectedFault

        odoo_ref = decision.odoo_ref
        if decision.odoo_op is Op.CREATE:
            odoo_ref = f"calendar.event,{next(self.ids)}"
            self.odoo_put(odoo_ref, decision.merged)
            self.token_of_odoo[odoo_ref] = self.token_of_outlook[decision.graph_id]
        elif decision.odoo_op is Op.UPDATE:
            current = self.odoo[odoo_ref][0]
            self.odoo_put(odoo_ref, current.replace(**{name: getattr(decision.merged, name) for name in decision.odoo_fields}))
        elif decision.odoo_op is Op.DELETE:
            del self.odoo[odoo_ref]
        self.reconciler.commit(decision, odoo_ref=odoo_ref, graph_id=graph_id, change_key=change_key)

    @rule(faults=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=8))
    def sync_with_faults(self, faults: list[str | None]) -> None:
        for decision, fault in zip(self.plan(), itertools.cycle(faults)):
            try:
                self.apply(decision, fault)
            except InjectedFault:
                self.reconciler.fail(decision, f"injected {fault}")
        self.converged = False

    @rule()
    def sync(self) -> None:
        for sync_pass in range(1, 4):
            decisions = self.plan()
            if not any(decision.has_side_effects for decision in decisions):
                break
            assert sync_pass < 3, f"still writing on pass {sync_pass}: {[d.summary for d in decisions]}"
            for decision in decisions:
                self.apply(decision, None)
        for decision in decisions:  # changeKey-only updates and relinks
            self.apply(decision, None)
        self.check_converged()
        self.edits.clear()
        self.converged = True

    # ------------------------------------------------------------------ invariants

    def check_converged(self) -> None:
        bindings = list(self.store.all())
        assert len(bindings) == len(self.odoo) == len(self.outlook), (len(bindings), len(self.odoo), len(self.outlook))
        assert {b.odoo_ref for b in bindings} == set(self.odoo)
        assert {b.graph_id for b in bindings} == set(self.outlook)
        for binding in bindings:
            odoo_event = self.odoo[binding.odoo_ref][0]
            outlook_event = self.read_outlook(binding.graph_id)
            for name in EVENT_FIELDS:
                assert field_equal(name, getattr(odoo_event, name), getattr(outlook_event, name)), name
            assert field_equal("body_html", binding.base.body_html, odoo_event.body_html)
            # one logical event per binding, and no logical event twice on a side
            assert self.token_of_odoo[binding.odoo_ref] == self.token_of_outlook[binding.graph_id]
        odoo_tokens = [self.token_of_odoo[ref] for ref in self.odoo]
        outlook_tokens = [self.token_of_outlook[graph_id] for graph_id in self.outlook]
        assert len(set(odoo_tokens)) == len(odoo_tokens), "duplicated in Odoo"
        assert len(set(outlook_tokens)) == len(outlook_tokens), "duplicated in Outlook"
        assert self.never_deleted <= set(odoo_tokens), "lost in Odoo"
        assert self.never_deleted <= set(outlook_tokens), "lost in Outlook"
        # An edit made on one side only survives, even if the other side edited other fields.
        events_by_token = {self.token_of_odoo[ref]: event for ref, (event, _) in self.odoo.items()}
        for token, sides in self.edits.items():
            if token not in events_by_token:
                continue
            odoo_groups, outlook_groups = sides.get("odoo", {}), sides.get("outlook", {})
            for group, values in (*odoo_groups.items(), *outlook_groups.items()):
                if group in odoo_groups and group in outlook_groups:
                    continue  # a real conflict: the policy decides
                event = events_by_token[token]
                assert all(field_equal(name, getattr(event, name), value) for name, value in zip(group, values)), group

    @invariant()
    def bindings_are_one_to_one(self) -> None:
        bindings = list(self.store.all())
        odoo_refs = [b.odoo_ref for b in bindings if b.odoo_ref]
        graph_ids = [b.graph_id for b in bindings if b.graph_id]
        assert len(odoo_refs) == len(set(odoo_refs)) and len(graph_ids) == len(set(graph_ids))


SyncMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("CORE_STATE_MACHINE_EXAMPLES", 100)), stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
TestSyncMachine = SyncMachine.TestCase
